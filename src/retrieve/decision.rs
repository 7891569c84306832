//! The answer decision: two small logistic models over the [`features`](super::features) —
//! P(the best passages answer the question) and P(the articles speak of what is asked) — and
//! the thresholds that turn them into a claim, the closest passages, or a refusal. Fitted and
//! cross-validated by `summit-qa calibrate`, kept in a small JSON file under `models/`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::features::{Features, NAMES};
use super::fusion::Fusion;
use super::intents::{Exemplar, Intents, Nearest};
use crate::error::{Error, Result};
use crate::text::Talk;

/// What the evidence allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The best passages answer the question: claim it.
    Answer,
    /// Something is close but not plainly the answer: show the closest passages as such.
    Closest,
    /// Nothing is close: refuse.
    Refuse,
}

/// A logistic regression over standardised features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    /// Mean of each feature over the fitted questions.
    pub mean: Vec<f32>,
    /// Standard deviation of each feature (1 where it was constant).
    pub scale: Vec<f32>,
    /// Weight of each standardised feature.
    pub weights: Vec<f32>,
    /// The intercept.
    pub bias: f32,
}

/// Strength of the L2 penalty on the weights (per question).
const L2: f64 = 0.01;
/// Gradient steps of a fit (full batch, standardised features: converges well before).
const STEPS: usize = 3000;
/// Step size.
const RATE: f64 = 0.5;

impl Logistic {
    /// The probability the model gives for `x`.
    pub fn probability(&self, x: &[f32]) -> f32 {
        let z: f32 = x
            .iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .zip(&self.weights)
            .map(|(((x, m), s), w)| w * (x - m) / s)
            .sum::<f32>()
            + self.bias;
        1.0 / (1.0 + (-z).exp())
    }

    /// Fits the model to feature rows `xs` with labels `ys` (penalised maximum likelihood);
    /// `None` without both labels among the rows.
    pub fn fit(xs: &[Vec<f32>], ys: &[bool]) -> Option<Logistic> {
        let positives = ys.iter().filter(|&&y| y).count();
        if xs.is_empty() || positives == 0 || positives == ys.len() {
            return None;
        }
        let n = xs.len() as f64;
        let width = xs[0].len();
        let mean: Vec<f64> = (0..width)
            .map(|j| xs.iter().map(|x| x[j] as f64).sum::<f64>() / n)
            .collect();
        let scale: Vec<f64> = (0..width)
            .map(|j| {
                let var = xs
                    .iter()
                    .map(|x| (x[j] as f64 - mean[j]).powi(2))
                    .sum::<f64>()
                    / n;
                if var > 1e-12 {
                    var.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        let rows: Vec<Vec<f64>> = xs
            .iter()
            .map(|x| {
                (0..width)
                    .map(|j| (x[j] as f64 - mean[j]) / scale[j])
                    .collect()
            })
            .collect();
        let mut w = vec![0f64; width];
        let prior = positives as f64 / n;
        let mut b = (prior / (1.0 - prior)).ln();
        for _ in 0..STEPS {
            let mut gw = vec![0f64; width];
            let mut gb = 0f64;
            for (row, &y) in rows.iter().zip(ys) {
                let z = b + row.iter().zip(&w).map(|(x, w)| x * w).sum::<f64>();
                let err = 1.0 / (1.0 + (-z).exp()) - if y { 1.0 } else { 0.0 };
                gb += err;
                for (g, x) in gw.iter_mut().zip(row) {
                    *g += err * x;
                }
            }
            for (wj, g) in w.iter_mut().zip(&gw) {
                *wj -= RATE * (g / n + L2 * *wj);
            }
            b -= RATE * gb / n;
        }
        Some(Logistic {
            mean: mean.iter().map(|&m| m as f32).collect(),
            scale: scale.iter().map(|&s| s as f32).collect(),
            weights: w.iter().map(|&w| w as f32).collect(),
            bias: b as f32,
        })
    }
}

/// One labeled set a decision was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedSet {
    /// The file's name.
    pub file: String,
    /// Its questions.
    pub questions: usize,
    /// xxh3-64 of its bytes, hex.
    pub checksum: String,
}

/// The fitted decision: what `models/decision.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Names of the features, in order (must be today's [`NAMES`]).
    pub features: Vec<String>,
    /// P(the claim's first three citations hold the answer).
    pub claim: Logistic,
    /// P(the articles speak of what is asked, answered or not).
    pub topic: Logistic,
    /// A claim at or above this `claim` probability.
    pub answer_at: f32,
    /// Below a claim, the closest passages at or above this `topic` probability; else a refusal.
    pub closest_at: f32,
    /// How the word and meaning rankings are fused.
    pub fusion: Fusion,
    /// Checksum of the embedding model the features were computed with.
    pub model: String,
    /// The sets it was fitted on.
    pub fitted_on: Vec<FittedSet>,
    /// Conversation and general-knowledge examples with their vectors.
    pub exemplars: Vec<Exemplar>,
    /// A message is conversation when its nearest conversation exemplar is at least this close
    /// (and nearer than any article sentence or general-knowledge example).
    pub talk_at: f32,
    /// The exemplars, decoded.
    #[serde(skip)]
    pub intents: Intents,
    /// The cross-validated summary printed by `calibrate`.
    pub cross_validated: String,
}

/// The probabilities behind a verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judged {
    /// The verdict.
    pub verdict: Verdict,
    /// P(the claim is right).
    pub claim: f32,
    /// P(the articles speak of it).
    pub topic: f32,
}

impl Decision {
    /// Reads the decision file at `path`, made for the embedding model with checksum `model`.
    pub fn load(path: &Path, model: &str) -> Result<Decision> {
        let problem = |message: String| Error::Decision {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| {
            problem(format!(
                "cannot be read ({e}): restore it from the repository or run `summit-qa calibrate`"
            ))
        })?;
        let mut decision: Decision = serde_json::from_slice(&bytes).map_err(|e| {
            problem(format!(
                "is not a decision file ({e}): restore it or run `summit-qa calibrate`"
            ))
        })?;
        if decision.features != NAMES {
            return Err(problem(
                "was fitted on other features than this version computes: run `summit-qa calibrate`"
                    .into(),
            ));
        }
        let width = NAMES.len();
        for m in [&decision.claim, &decision.topic] {
            if [m.mean.len(), m.scale.len(), m.weights.len()] != [width; 3] {
                return Err(problem(format!(
                    "has a model without {width} weights: run `summit-qa calibrate`"
                )));
            }
        }
        decision.intents = Intents::decode(&decision.exemplars).ok_or_else(|| {
            problem(
                "has an exemplar that is not a vector of the model: run `summit-qa calibrate`"
                    .into(),
            )
        })?;
        if decision.model != model {
            return Err(problem(
                "was fitted with another embedding model than semantic.model: run `summit-qa calibrate`"
                    .into(),
            ));
        }
        Ok(decision)
    }

    /// Writes the decision file to `path` (through a temporary file: a failure leaves the old).
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a decision serialises");
        let temporary = path.with_extension("json.tmp");
        let io = |e: std::io::Error| Error::Decision {
            path: path.to_path_buf(),
            message: format!("cannot be written ({e})"),
        };
        std::fs::write(&temporary, text + "\n").map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)
    }

    /// The kind of conversation a message is, when its nearest exemplar says so: a
    /// conversation exemplar at least [`Decision::talk_at`] close, nearer than any
    /// general-knowledge exemplar and than the best article sentence (`best_sentence`).
    pub fn talk(&self, nearest: &Nearest, best_sentence: f32) -> Option<Talk> {
        let near = nearest.talk >= self.talk_at
            && nearest.talk > nearest.general
            && nearest.talk > best_sentence;
        nearest.talk_kind.filter(|_| near)
    }

    /// The verdict on a retrieval with these features.
    pub fn judge(&self, features: &Features) -> Judged {
        let claim = self.claim.probability(&features.values);
        let topic = self.topic.probability(&features.values);
        let verdict = if claim >= self.answer_at {
            Verdict::Answer
        } else if topic >= self.closest_at {
            Verdict::Closest
        } else {
            Verdict::Refuse
        };
        Judged {
            verdict,
            claim,
            topic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fit_separates_what_its_features_separate() {
        // The label follows the first feature; the second is noise.
        let xs: Vec<Vec<f32>> = (0..200)
            .map(|i| vec![(i % 10) as f32, ((i * 7) % 13) as f32])
            .collect();
        let ys: Vec<bool> = xs.iter().map(|x| x[0] >= 5.0).collect();
        let model = Logistic::fit(&xs, &ys).unwrap();
        assert!(model.probability(&[9.0, 3.0]) > 0.9);
        assert!(model.probability(&[0.0, 3.0]) < 0.1);
        assert!(model.weights[0].abs() > 5.0 * model.weights[1].abs());
        assert!(Logistic::fit(&xs, &[true; 200]).is_none());
    }

    fn decision() -> Decision {
        let flat = |bias: f32, first: f32| Logistic {
            mean: vec![0.0; NAMES.len()],
            scale: vec![1.0; NAMES.len()],
            weights: std::iter::once(first)
                .chain(std::iter::repeat(0.0))
                .take(NAMES.len())
                .collect(),
            bias,
        };
        Decision {
            features: NAMES.iter().map(|n| n.to_string()).collect(),
            claim: flat(-5.0, 10.0),
            topic: flat(-1.0, 10.0),
            answer_at: 0.5,
            closest_at: 0.5,
            fusion: Fusion::default(),
            model: "m".into(),
            fitted_on: Vec::new(),
            cross_validated: String::new(),
            exemplars: Vec::new(),
            talk_at: 0.9,
            intents: Intents::default(),
        }
    }

    #[test]
    fn two_thresholds_give_three_replies() {
        let d = decision();
        let with = |confidence: f32| {
            let mut values = [0.0; NAMES.len()];
            values[0] = confidence;
            d.judge(&Features { values }).verdict
        };
        assert_eq!(with(0.9), Verdict::Answer);
        assert_eq!(with(0.3), Verdict::Closest);
        assert_eq!(with(0.0), Verdict::Refuse);
    }

    #[test]
    fn the_file_round_trips_and_a_mismatch_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decision.json");
        decision().write(&path).unwrap();
        assert_eq!(Decision::load(&path, "m").unwrap(), decision());
        let other = Decision::load(&path, "other").unwrap_err().to_string();
        assert!(
            other.contains("decision.json") && other.contains("calibrate"),
            "{other}"
        );
        std::fs::write(&path, "{").unwrap();
        let broken = Decision::load(&path, "m").unwrap_err().to_string();
        assert!(broken.contains("not a decision file"), "{broken}");
    }
}
