//! The sentence vectors kept with the index (`vectors.bin` beside tantivy's files): per
//! article, the vector of every body sentence with its place and a hash of its text, so that an
//! unchanged sentence is never embedded twice; and the nearest-sentence search over them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Hit, Probe, Ranking};
use crate::embed::{self, DIM};
use crate::error::{Error, Result};

/// Name of the file in the index folder.
pub const FILE: &str = "vectors.bin";
/// v3: a paragraph of several sentences has a vector of its own; an older file is made again.
const MAGIC: &[u8; 4] = b"SQV3";

/// The `sentence` of an [`Embedded`] that is a whole paragraph's vector.
pub const PARAGRAPH: usize = u32::MAX as usize;

/// One embedded sentence (or paragraph).
#[derive(Debug, Clone)]
pub struct Embedded {
    /// Index into the article's blocks.
    pub block: usize,
    /// Index into the block's sentences; [`PARAGRAPH`] for the whole paragraph.
    pub sentence: usize,
    /// Hash of the sentence's text.
    pub hash: u64,
    /// Its unit vector.
    pub vector: Box<[f32]>,
}

/// The vectors of one article, valid for the article text with this digest.
#[derive(Debug, Clone, Default)]
pub struct ArticleVectors {
    /// The catalog's digest of the article they were made from.
    pub digest: String,
    /// Its sentences.
    pub sentences: Vec<Embedded>,
}

/// Every article's sentence vectors, made by one model.
#[derive(Debug, Clone, Default)]
pub struct VectorStore {
    /// Checksum of the model that made them (see [`embed::Embedder::checksum`]).
    pub model: String,
    /// By article key.
    pub articles: HashMap<u64, ArticleVectors>,
}

/// A sentence's text hash, as stored.
pub fn text_hash(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

impl VectorStore {
    /// The store in index folder `dir`; empty when there is none, or when it was made by
    /// another model than `model` (its vectors cannot be compared with this one's).
    pub fn read(dir: &Path, model: &str) -> Result<VectorStore> {
        let path = dir.join(FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::empty(model)),
            Err(cause) => {
                return Err(Error::Io {
                    action: "read",
                    path,
                    cause,
                    fix: crate::error::FIX_INDEX_DIR,
                })
            }
        };
        match Self::from_bytes(&bytes) {
            Some(store) if store.model == model => Ok(store),
            Some(_) => Ok(Self::empty(model)),
            // Written by another version of this file's format: made again, quietly.
            None if bytes.starts_with(b"SQV") => Ok(Self::empty(model)),
            None => {
                tracing::warn!(file = %path.display(), "sentence vectors unreadable; they are made again");
                Ok(Self::empty(model))
            }
        }
    }

    /// An empty store for `model`.
    pub fn empty(model: &str) -> VectorStore {
        VectorStore {
            model: model.to_string(),
            articles: HashMap::new(),
        }
    }

    /// Writes the store into index folder `dir` at once (a reader sees the old or the new
    /// file, never half of one).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(FILE);
        let temporary = dir.join(format!("{FILE}.tmp"));
        let failed = |cause| Error::Io {
            action: "write",
            path: PathBuf::from(&path),
            cause,
            fix: crate::error::FIX_INDEX_DIR,
        };
        std::fs::write(&temporary, self.to_bytes()).map_err(failed)?;
        std::fs::rename(&temporary, &path).map_err(failed)
    }

    /// Vectors already made, by text hash (to reuse for sentences that did not change).
    pub fn by_hash(&self) -> HashMap<u64, &[f32]> {
        self.articles
            .values()
            .flat_map(|a| &a.sentences)
            .map(|s| (s.hash, &*s.vector))
            .collect()
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        put_str(&mut out, &self.model);
        out.extend_from_slice(&(self.articles.len() as u32).to_le_bytes());
        let mut keys: Vec<&u64> = self.articles.keys().collect();
        keys.sort();
        for key in keys {
            let article = &self.articles[key];
            out.extend_from_slice(&key.to_le_bytes());
            put_str(&mut out, &article.digest);
            out.extend_from_slice(&(article.sentences.len() as u32).to_le_bytes());
            for s in &article.sentences {
                out.extend_from_slice(&(s.block as u32).to_le_bytes());
                out.extend_from_slice(&(s.sentence as u32).to_le_bytes());
                out.extend_from_slice(&s.hash.to_le_bytes());
                for v in s.vector.iter() {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<VectorStore> {
        let mut r = Cursor { bytes, at: 0 };
        if r.take(4)? != MAGIC {
            return None;
        }
        let model = r.string()?;
        let count = r.u32()?;
        let mut articles = HashMap::new();
        for _ in 0..count {
            let key = r.u64()?;
            let digest = r.string()?;
            let n = r.u32()?;
            let mut sentences = Vec::with_capacity(n.min(1 << 16) as usize);
            for _ in 0..n {
                let block = r.u32()? as usize;
                let sentence = r.u32()? as usize;
                let hash = r.u64()?;
                let vector = r
                    .take(DIM * 4)?
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                sentences.push(Embedded {
                    block,
                    sentence,
                    hash,
                    vector,
                });
            }
            articles.insert(key, ArticleVectors { digest, sentences });
        }
        (r.at == bytes.len()).then_some(VectorStore { model, articles })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

/// The vectors of the indexed articles in one matrix, searched exhaustively (a few thousand
/// sentences take microseconds).
#[derive(Default)]
pub struct Dense {
    /// Article key, block and sentence of each row.
    places: Vec<(u64, usize, usize)>,
    matrix: Vec<f32>,
    /// Article key and block of each paragraph row.
    paragraphs: Vec<(u64, usize)>,
    /// A paragraph's vector: its own, or else the normalised mean of its sentences' vectors.
    paragraph_matrix: Vec<f32>,
}

impl Dense {
    /// The vectors of these articles (key, digest) that were made from their text as indexed.
    pub fn new<'a>(store: &VectorStore, articles: impl Iterator<Item = (u64, &'a str)>) -> Dense {
        let mut dense = Dense::default();
        for (key, digest) in articles {
            let Some(vectors) = store.articles.get(&key).filter(|a| a.digest == digest) else {
                continue;
            };
            for s in vectors.sentences.iter().filter(|s| s.sentence != PARAGRAPH) {
                dense.places.push((key, s.block, s.sentence));
                dense.matrix.extend_from_slice(&s.vector);
                if dense.paragraphs.last() != Some(&(key, s.block)) {
                    dense.paragraphs.push((key, s.block));
                    dense.paragraph_matrix.extend_from_slice(&[0.0; DIM]);
                }
                let start = dense.paragraph_matrix.len() - DIM;
                for (sum, x) in dense.paragraph_matrix[start..]
                    .iter_mut()
                    .zip(s.vector.iter())
                {
                    *sum += x;
                }
            }
        }
        for row in dense.paragraph_matrix.chunks_exact_mut(DIM) {
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
            row.iter_mut().for_each(|x| *x /= norm);
        }
        // A paragraph embedded whole keeps its own vector instead of its sentences' mean.
        let rows: HashMap<(u64, usize), usize> = dense
            .paragraphs
            .iter()
            .enumerate()
            .map(|(i, &p)| (p, i))
            .collect();
        for (key, vectors) in &store.articles {
            for s in vectors.sentences.iter().filter(|s| s.sentence == PARAGRAPH) {
                if let Some(&row) = rows.get(&(*key, s.block)) {
                    dense.paragraph_matrix[row * DIM..(row + 1) * DIM].copy_from_slice(&s.vector);
                }
            }
        }
        dense
    }

    /// Every paragraph (article key, block) with its cosine to `query`, closest first.
    pub fn paragraphs(&self, query: &[f32]) -> Vec<((u64, usize), f32)> {
        let mut found: Vec<((u64, usize), f32)> = self
            .paragraph_matrix
            .chunks_exact(DIM)
            .zip(&self.paragraphs)
            .map(|(v, &place)| (place, embed::dot(v, query)))
            .collect();
        found.sort_by(|a, b| b.1.total_cmp(&a.1));
        found
    }

    /// How many sentences it holds.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }
}

impl Ranking for Dense {
    /// The sentences closest in meaning to the question's vector, scored by their cosine
    /// (none without a vector).
    fn rank(&self, probe: &Probe, limit: usize) -> Result<Vec<Hit>> {
        let Some(query) = probe.vector else {
            return Ok(Vec::new());
        };
        let mut found: Vec<Hit> = self
            .matrix
            .chunks_exact(DIM)
            .zip(&self.places)
            .map(|(v, &(article, block, sentence))| Hit {
                article,
                block,
                sentence,
                score: embed::dot(v, query),
            })
            .collect();
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        found.truncate(limit);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(i: usize) -> Box<[f32]> {
        let mut v = vec![0.0; DIM];
        v[i] = 1.0;
        v.into()
    }

    fn store() -> VectorStore {
        let mut store = VectorStore::empty("m1");
        store.articles.insert(
            7,
            ArticleVectors {
                digest: "d7".into(),
                sentences: vec![
                    Embedded {
                        block: 1,
                        sentence: 0,
                        hash: 11,
                        vector: unit(0),
                    },
                    Embedded {
                        block: 2,
                        sentence: 3,
                        hash: 12,
                        vector: unit(1),
                    },
                ],
            },
        );
        store
    }

    #[test]
    fn round_trips_through_its_file_and_ignores_another_models() {
        let dir = tempfile::tempdir().unwrap();
        store().write(dir.path()).unwrap();
        let back = VectorStore::read(dir.path(), "m1").unwrap();
        assert_eq!(back.articles[&7].sentences[1].hash, 12);
        assert_eq!(back.articles[&7].sentences[1].vector[1], 1.0);
        assert!(VectorStore::read(dir.path(), "m2")
            .unwrap()
            .articles
            .is_empty());
        std::fs::write(dir.path().join(FILE), b"not a vector file").unwrap();
        assert!(VectorStore::read(dir.path(), "m1")
            .unwrap()
            .articles
            .is_empty());
    }

    #[test]
    fn ranks_by_cosine_and_skips_articles_that_changed() {
        let dense = Dense::new(&store(), [(7, "d7")].into_iter());
        let mut q = vec![0.0; DIM];
        q[1] = 0.8;
        q[0] = 0.6;
        let probe = Probe {
            terms: &[],
            vector: Some(&q),
        };
        let ranked = dense.rank(&probe, 10).unwrap();
        assert_eq!(
            (ranked[0].article, ranked[0].block, ranked[0].sentence),
            (7, 2, 3)
        );
        assert!((ranked[0].score - 0.8).abs() < 1e-6);
        assert_eq!(dense.rank(&probe, 1).unwrap().len(), 1);
        let words_only = Probe {
            terms: &[],
            vector: None,
        };
        assert!(dense.rank(&words_only, 10).unwrap().is_empty());
        assert!(Dense::new(&store(), [(7, "changed")].into_iter()).is_empty());
    }
}
