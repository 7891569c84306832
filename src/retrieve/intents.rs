//! Intents by example: conversation and general knowledge recognised by the nearest labeled
//! exemplar in the embedding model's space (`models/exemplars/`), beside the phrase rules of
//! [`crate::text::small_talk`].

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::embed::DIM;
use crate::error::{Error, Result};
use crate::text::Talk;

/// The exemplar files in the exemplar folder.
pub const SMALL_TALK_FILE: &str = "small_talk.tsv";
/// General-knowledge questions, one a line.
pub const GENERAL_FILE: &str = "general.txt";
/// The intent name of a general-knowledge exemplar.
const GENERAL: &str = "general";

/// One labeled example with its vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exemplar {
    /// `general`, or a kind of conversation (`greeting`, `thanks`, … see [`Talk::name`]).
    pub intent: String,
    /// The example as written.
    pub text: String,
    /// Its unit vector as little-endian f16, base64.
    pub vector: String,
}

/// How close a message is to the nearest exemplar of each intent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Nearest {
    /// Cosine to the nearest general-knowledge exemplar.
    pub general: f32,
    /// Cosine to the nearest conversation exemplar.
    pub talk: f32,
    /// The kind of that conversation exemplar.
    pub talk_kind: Option<Talk>,
}

/// The exemplars, decoded for comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Intents {
    /// Intent of each row (`None`: general knowledge).
    kinds: Vec<Option<Talk>>,
    matrix: Vec<f32>,
}

impl Intents {
    /// Decodes stored exemplars; `None` for a vector that is not one of the model's.
    pub fn decode(exemplars: &[Exemplar]) -> Option<Intents> {
        let mut intents = Intents::default();
        for e in exemplars {
            let kind = match e.intent.as_str() {
                GENERAL => None,
                name => Some(Talk::named(name)?),
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&e.vector)
                .ok()?;
            if bytes.len() != DIM * 2 {
                return None;
            }
            intents.kinds.push(kind);
            intents.matrix.extend(
                bytes
                    .chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()),
            );
        }
        Some(intents)
    }

    /// The nearest exemplar of each intent to the unit vector `v` (zeros without exemplars).
    pub fn nearest(&self, v: &[f32]) -> Nearest {
        let mut nearest = Nearest::default();
        for (row, kind) in self.matrix.chunks_exact(DIM).zip(&self.kinds) {
            let cosine = crate::embed::dot(row, v);
            match kind {
                None => nearest.general = nearest.general.max(cosine),
                Some(talk) if cosine > nearest.talk => {
                    nearest.talk = cosine;
                    nearest.talk_kind = Some(*talk);
                }
                Some(_) => {}
            }
        }
        nearest
    }
}

/// Reads the exemplar files in `dir` and embeds each example with `embed` (as a question).
pub fn read(dir: &Path, embed: &dyn Fn(&str) -> Result<Arc<[f32]>>) -> Result<Vec<Exemplar>> {
    let mut labeled: Vec<(String, String)> = Vec::new();
    let small_talk = dir.join(SMALL_TALK_FILE);
    for (n, line) in lines(&small_talk)?.into_iter().enumerate() {
        let Some((kind, text)) = line.split_once('\t') else {
            return Err(Error::Metadata {
                path: small_talk,
                message: format!("line {} is not KIND<TAB>MESSAGE", n + 1),
            });
        };
        if Talk::named(kind.trim()).is_none() {
            return Err(Error::Metadata {
                path: small_talk,
                message: format!(
                    "line {}: {kind:?} is not a kind of conversation (greeting, about, goodbye, thanks, praise, complaint, ack)",
                    n + 1
                ),
            });
        }
        labeled.push((kind.trim().to_string(), text.trim().to_string()));
    }
    for line in lines(&dir.join(GENERAL_FILE))? {
        labeled.push((GENERAL.to_string(), line));
    }
    labeled
        .into_iter()
        .map(|(intent, text)| {
            let vector = embed(&text)?;
            let bytes: Vec<u8> = vector
                .iter()
                .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                .collect();
            Ok(Exemplar {
                intent,
                text,
                vector: base64::engine::general_purpose::STANDARD.encode(bytes),
            })
        })
        .collect()
}

/// The non-empty lines of `path` that are not comments.
fn lines(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|cause| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        cause,
        fix: "restore models/exemplars/ from the repository",
    })?;
    Ok(text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(i: usize) -> Arc<[f32]> {
        let mut v = vec![0.0; DIM];
        v[i] = 1.0;
        v.into()
    }

    #[test]
    fn the_nearest_exemplar_of_each_intent_is_found_after_a_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(SMALL_TALK_FILE),
            "# comment\nthanks\t谢谢\nack\t好的\n",
        )
        .unwrap();
        std::fs::write(dir.path().join(GENERAL_FILE), "法国首都在哪\n").unwrap();
        let embed = |text: &str| -> Result<Arc<[f32]>> {
            Ok(match text {
                "谢谢" => unit(0),
                "好的" => unit(1),
                _ => unit(2),
            })
        };
        let exemplars = read(dir.path(), &embed).unwrap();
        assert_eq!(exemplars.len(), 3);
        let intents = Intents::decode(&exemplars).unwrap();
        let near = intents.nearest(&unit(1));
        assert_eq!(near.talk_kind, Some(Talk::Ack));
        assert!((near.talk - 1.0).abs() < 1e-3 && near.general.abs() < 1e-3);
        assert!(intents.nearest(&unit(2)).general > 0.99);
    }

    #[test]
    fn a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SMALL_TALK_FILE), "chitchat\thi\n").unwrap();
        std::fs::write(dir.path().join(GENERAL_FILE), "").unwrap();
        let embed = |_: &str| -> Result<Arc<[f32]>> { Ok(unit(0)) };
        let error = read(dir.path(), &embed).unwrap_err().to_string();
        assert!(
            error.contains("small_talk.tsv") && error.contains("chitchat"),
            "{error}"
        );
    }
}
