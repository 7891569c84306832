//! `summit-qa calibrate`: fits the answer decision on labeled question sets — the fusion's
//! form, the two logistic models and their thresholds — reports leave-one-set-out
//! cross-validated numbers and a held-out set's, and writes the decision file.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::answer::Answer;
use crate::engine::{Engine, Trial};
use crate::error::{Error, Result};
use crate::retrieve::decision::{Decision, FittedSet, Logistic, Verdict};
use crate::retrieve::features::NAMES;
use crate::retrieve::fusion::Fusion;
use crate::retrieve::intents::{self, Intents};
use crate::text;

/// What to fit on and how strict to be.
#[derive(Debug, Clone)]
pub struct Options {
    /// Labeled sets the decision is fitted and cross-validated on (one fold each).
    pub sets: Vec<PathBuf>,
    /// Labeled sets kept out of every fit, scored once with the final decision.
    pub held_out: Vec<PathBuf>,
    /// Most wrong claims, as a share of the fitted questions (cross-validated).
    pub max_wrong: f32,
    /// Most general-knowledge and small-talk questions shown passages, as a share of them.
    pub max_general_shown: f32,
    /// The folder of exemplar files (`small_talk.tsv`, `general.txt`).
    pub exemplars: PathBuf,
}

/// One line of a labeled set (the shape of `tests/fixtures/*.jsonl`).
#[derive(Debug, Deserialize)]
struct Line {
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    gold: Vec<Gold>,
    /// Why a question without gold has none: `general`, `small_talk` (nothing to show),
    /// `near_miss`, `off_topic` (the articles speak of its subject).
    #[serde(default)]
    why: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Gold {
    has: String,
}

/// A labeled question with what the engine would do with it.
struct Question {
    set: usize,
    /// The question as asked.
    text: String,
    /// Normalised gold markers (empty: the articles do not answer it).
    gold: Vec<String>,
    /// True/false when it is known whether the articles speak of it.
    topical: Option<bool>,
    /// True for conversation (greetings, thanks…).
    talk: bool,
    /// One trial per fusion of the grid; `None` for small talk.
    trials: Option<Vec<Trial>>,
}

impl Question {
    fn answerable(&self) -> bool {
        !self.gold.is_empty()
    }

    /// True when the first three citations of `answer` hold a gold passage.
    fn shows_gold(&self, answer: &Answer) -> bool {
        answer.citations.iter().take(3).any(|c| {
            let text = text::normalize(&c.text);
            self.gold.iter().any(|g| text.contains(g.as_str()))
        })
    }
}

/// How the decision does on some questions.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    questions: usize,
    answerable: usize,
    reached: usize,
    claims: usize,
    wrong: usize,
    unanswerable: usize,
    unanswerable_claimed: usize,
    general: usize,
    general_refused: usize,
    talk: usize,
    talk_replied: usize,
}

impl Tally {
    /// Counts `q` replied to as `verdict` (`None`: as conversation).
    fn add(&mut self, q: &Question, verdict: Option<Verdict>, fusion: usize) {
        self.questions += 1;
        if q.talk {
            self.talk += 1;
            self.talk_replied += usize::from(verdict.is_none());
        }
        let shown = match (verdict, &q.trials) {
            (Some(Verdict::Answer), Some(t)) => Some(&t[fusion].claim),
            (Some(Verdict::Closest), Some(t)) => Some(&t[fusion].closest),
            _ => None,
        };
        let reached = shown.is_some_and(|a| q.shows_gold(a));
        let claimed = verdict == Some(Verdict::Answer);
        if q.answerable() {
            self.answerable += 1;
            self.reached += usize::from(reached);
        } else {
            self.unanswerable += 1;
            self.unanswerable_claimed += usize::from(claimed);
        }
        if claimed {
            self.claims += 1;
            self.wrong += usize::from(!reached);
        }
        if q.topical == Some(false) {
            self.general += 1;
            self.general_refused += usize::from(shown.is_none());
        }
    }

    fn row(&self, name: &str) -> String {
        let share = |a: usize, b: usize| {
            if b == 0 {
                "    –".to_string()
            } else {
                format!("{:5.2}", a as f32 / b as f32)
            }
        };
        format!(
            "{name:<22} {:>4} {} {} {}        {}           {}",
            self.questions,
            share(self.reached, self.answerable),
            share(self.wrong, self.questions),
            share(self.unanswerable_claimed, self.unanswerable),
            share(self.general_refused, self.general),
            share(self.talk_replied, self.talk),
        )
    }
}

const HEADER: &str =
    "set                       n reach wrong none-claimed general-refused talk-replied";

/// Reads a labeled set.
fn read_set(path: &Path) -> Result<(Vec<Line>, FittedSet)> {
    let bytes = std::fs::read(path).map_err(|cause| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        cause,
        fix: "give a JSONL file of labeled questions (see docs/quality.md)",
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let parsed: Line = serde_json::from_str(line).map_err(|e| Error::Metadata {
            path: path.to_path_buf(),
            message: format!(
                "line {} is not a labeled question ({e}): each line needs \"q\", \"kind\" and \"gold\"",
                n + 1
            ),
        })?;
        lines.push(parsed);
    }
    let set = FittedSet {
        file: path
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
        questions: lines.len(),
        checksum: format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&bytes)),
    };
    Ok((lines, set))
}

/// Runs every question of `paths` through `engine` with each fusion of `grid`.
fn questions(
    engine: &Engine,
    paths: &[PathBuf],
    first_set: usize,
    grid: &[Fusion],
    intents: &Intents,
    progress: &mut dyn FnMut(usize),
) -> Result<(Vec<Question>, Vec<FittedSet>)> {
    let mut out = Vec::new();
    let mut sets = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let (lines, set) = read_set(path)?;
        sets.push(set);
        for line in lines {
            let gold: Vec<String> = line.gold.iter().map(|g| text::normalize(&g.has)).collect();
            let why = line.why.as_deref();
            let topical = if !gold.is_empty()
                || line.kind == "near_miss"
                || matches!(why, Some("near_miss" | "off_topic"))
            {
                Some(true)
            } else if line.kind == "small_talk" || matches!(why, Some("general" | "small_talk")) {
                Some(false)
            } else {
                None
            };
            let trials = engine.trials(&line.q, grid, intents)?;
            out.push(Question {
                set: first_set + i,
                text: line.q,
                gold,
                topical,
                talk: line.kind == "small_talk" || why == Some("small_talk"),
                trials,
            });
            progress(out.len());
        }
    }
    Ok((out, sets))
}

/// Answerable questions whose closest passages hold a gold passage, with fusion `f`.
fn reach(questions: &[&Question], f: usize) -> usize {
    questions
        .iter()
        .filter(|q| q.answerable())
        .filter(|q| {
            q.trials
                .as_ref()
                .is_some_and(|t| q.shows_gold(&t[f].closest))
        })
        .count()
}

/// Answerable questions whose first closest passage is a gold passage, with fusion `f`.
fn first_right(questions: &[&Question], f: usize) -> usize {
    questions
        .iter()
        .filter(|q| q.answerable())
        .filter(|q| {
            q.trials.as_ref().is_some_and(|t| {
                let mut first = t[f].closest.clone();
                first.citations.truncate(1);
                q.shows_gold(&first)
            })
        })
        .count()
}

/// The fusion of `grid` that shows a gold passage for the most of `questions`, ties broken
/// by the most gold passages shown first (then by grid order).
fn best_fusion(questions: &[&Question], grid: &[Fusion]) -> usize {
    let mut best = 0;
    let mut best_score = (0, 0);
    for f in 0..grid.len() {
        let score = (reach(questions, f), first_right(questions, f));
        if score > best_score {
            best = f;
            best_score = score;
        }
    }
    best
}

/// The two models fitted on `questions` with fusion `f`.
fn fit(questions: &[&Question], f: usize) -> Option<(Logistic, Logistic)> {
    let rows: Vec<(&Question, &Trial)> = questions
        .iter()
        .filter_map(|q| q.trials.as_ref().map(|t| (*q, &t[f])))
        .collect();
    let xs: Vec<Vec<f32>> = rows
        .iter()
        .map(|(_, t)| t.features.values.to_vec())
        .collect();
    let right: Vec<bool> = rows
        .iter()
        .map(|(q, t)| q.answerable() && q.shows_gold(&t.claim))
        .collect();
    let claim = Logistic::fit(&xs, &right)?;
    let (txs, tys): (Vec<Vec<f32>>, Vec<bool>) = rows
        .iter()
        .zip(&xs)
        .filter_map(|((q, _), x)| q.topical.map(|t| (x.clone(), t)))
        .unzip();
    let topic = Logistic::fit(&txs, &tys)?;
    Some((claim, topic))
}

/// Probabilities (claim, topic) of each question that went through retrieval.
type Predictions = HashMap<usize, (f32, f32)>;

fn predict(
    models: &(Logistic, Logistic),
    questions: &[Question],
    which: &[usize],
    f: usize,
) -> Predictions {
    which
        .iter()
        .filter_map(|&i| {
            let t = &questions[i].trials.as_ref()?[f];
            let x = &t.features.values;
            Some((i, (models.0.probability(x), models.1.probability(x))))
        })
        .collect()
}

/// The reply to a question with probabilities `p`; `None` for conversation (`p` is `None` for
/// conversation by the phrase rules; `talk` says it is by example).
fn verdict(p: Option<&(f32, f32)>, talk: bool, answer_at: f32, closest_at: f32) -> Option<Verdict> {
    let &(claim, topic) = p.filter(|_| !talk)?;
    Some(if claim >= answer_at {
        Verdict::Answer
    } else if topic >= closest_at {
        Verdict::Closest
    } else {
        Verdict::Refuse
    })
}

/// The lowest claim threshold whose wrong claims stay within `max_wrong` of the questions,
/// and the lowest topic threshold that refuses all but `max_general_shown` of the questions
/// known to be off every article (general knowledge, conversation).
fn thresholds(
    questions: &[Question],
    predictions: &Predictions,
    f: usize,
    options: &Options,
) -> (f32, f32) {
    let mut claims: Vec<(f32, bool)> = predictions
        .iter()
        .map(|(&i, &(claim, _))| {
            let q = &questions[i];
            let right =
                q.answerable() && q.trials.as_ref().is_some_and(|t| q.shows_gold(&t[f].claim));
            (claim, right)
        })
        .collect();
    claims.sort_by(|a, b| b.0.total_cmp(&a.0));
    let allowed = (options.max_wrong * questions.len() as f32).floor() as usize;
    let mut answer_at = 1.0;
    let mut wrong = 0;
    for (i, &(p, right)) in claims.iter().enumerate() {
        wrong += usize::from(!right);
        // A threshold sits between two questions' probabilities, never splitting ties.
        let next = claims.get(i + 1).map_or(0.0, |c| c.0);
        if wrong > allowed {
            break;
        }
        if next < p {
            answer_at = p;
        }
    }
    let mut off: Vec<f32> = predictions
        .iter()
        .filter(|(&i, &(claim, _))| questions[i].topical == Some(false) && claim < answer_at)
        .map(|(_, &(_, topic))| topic)
        .collect();
    off.sort_by(|a, b| b.total_cmp(a));
    let general = questions
        .iter()
        .filter(|q| q.topical == Some(false))
        .count();
    let shown = (options.max_general_shown * general as f32).floor() as usize;
    // Show passages only above the (shown+1)-th most topical-looking off-corpus question.
    let closest_at = off.get(shown).map_or(0.0, |&p| p + 1e-4);
    (answer_at, closest_at)
}

/// The least cosine to a conversation exemplar from which a message is taken for
/// conversation: above every question about the articles that would otherwise be taken for it.
fn talk_threshold(questions: &[Question]) -> f32 {
    let caught = |q: &Question| {
        let t = &q.trials.as_ref()?[0];
        let n = &t.nearest;
        (n.talk_kind.is_some() && n.talk > n.general && n.talk > t.best_sentence).then_some(n.talk)
    };
    let about_articles = questions
        .iter()
        .filter(|q| q.topical == Some(true))
        .filter_map(caught)
        .fold(f32::MIN, f32::max);
    if about_articles > f32::MIN {
        return about_articles + 1e-4;
    }
    questions
        .iter()
        .filter(|q| q.talk)
        .filter_map(caught)
        .fold(1.0, f32::min)
}

/// What `calibrate` found: the decision to write and the report to print.
pub struct Calibrated {
    /// The fitted decision.
    pub decision: Decision,
    /// The cross-validated and held-out numbers, as a table.
    pub report: String,
    /// One JSON object per question: its set, features and labels with the chosen fusion,
    /// and its cross-validated probabilities (for inspecting the fit).
    pub rows: Vec<serde_json::Value>,
}

/// The inspection row of question `i` of `questions` from `sets`.
fn row(
    questions: &[Question],
    i: usize,
    sets: &[String],
    f: usize,
    p: Option<&(f32, f32)>,
) -> serde_json::Value {
    let q = &questions[i];
    let trial = q.trials.as_ref().map(|t| &t[f]);
    serde_json::json!({
        "set": sets[q.set],
        "q": q.text,
        "answerable": q.answerable(),
        "topical": q.topical,
        "talk": q.talk,
        "right_claim": trial.map(|t| q.answerable() && q.shows_gold(&t.claim)),
        "shows_gold": trial.map(|t| q.answerable() && q.shows_gold(&t.closest)),
        "p_claim": p.map(|p| p.0),
        "p_topic": p.map(|p| p.1),
        "features": trial.map(|t| NAMES.iter().zip(t.features.values).map(|(n, v)| (n.to_string(), serde_json::json!(v))).collect::<serde_json::Map<String, serde_json::Value>>()),
    })
}

/// Fits the decision for `engine` (which must compare meaning) on the labeled sets.
pub fn calibrate(
    engine: &Engine,
    model: &str,
    options: &Options,
    progress: &mut dyn FnMut(usize),
) -> Result<Calibrated> {
    if options.sets.len() < 2 {
        return Err(Error::Config(
            "calibrate needs at least two labeled sets (one is held out of each fold)".into(),
        ));
    }
    let grid = Fusion::grid();
    let exemplars = intents::read(&options.exemplars, &|t| engine.embed_query(t))?;
    let intents = Intents::decode(&exemplars).expect("exemplars just embedded decode");
    let (all, fitted_on) = questions(engine, &options.sets, 0, &grid, &intents, progress)?;
    let (held, _) = questions(
        engine,
        &options.held_out,
        options.sets.len(),
        &grid,
        &intents,
        progress,
    )?;
    let talk_at = talk_threshold(&all);
    let talks = |q: &Question| {
        q.trials.as_ref().is_some_and(|t| {
            let n = &t[0].nearest;
            n.talk_kind.is_some()
                && n.talk >= talk_at
                && n.talk > n.general
                && n.talk > t[0].best_sentence
        })
    };
    let folds = options.sets.len();
    let mut report = String::new();
    // 1. The fusion, chosen on the other sets for each fold, then on all.
    let _ = writeln!(
        report,
        "fusion, leave-one-set-out (reach of the closest passages):"
    );
    let mut cv_predictions = Predictions::new();
    let mut cv_fusion = vec![0; folds];
    for (fold, set) in fitted_on.iter().enumerate() {
        let train: Vec<&Question> = all.iter().filter(|q| q.set != fold).collect();
        let test: Vec<&Question> = all.iter().filter(|q| q.set == fold).collect();
        let f = best_fusion(&train, &grid);
        cv_fusion[fold] = f;
        let answerable = test.iter().filter(|q| q.answerable()).count();
        let _ = writeln!(
            report,
            "  {:<22} k {:>4} sentence {:.2} paragraph {:.2} fit^{}: {}/{answerable}",
            set.file,
            grid[f].k,
            grid[f].sentence_weight,
            grid[f].paragraph_weight,
            grid[f].fit_power,
            reach(&test, f),
        );
        // 2. The models, fitted on the other sets with that fusion.
        let Some(models) = fit(&train, f) else {
            let _ = writeln!(
                report,
                "    {} is not cross-validated: the other sets lack a right and a wrong claim, or questions on and off the articles",
                set.file
            );
            continue;
        };
        let which: Vec<usize> = (0..all.len()).filter(|&i| all[i].set == fold).collect();
        cv_predictions.extend(predict(&models, &all, &which, f));
    }
    // 3. Thresholds from the cross-validated probabilities.
    let everything: Vec<&Question> = all.iter().collect();
    let fusion = best_fusion(&everything, &grid);
    let (answer_at, closest_at) = thresholds(&all, &cv_predictions, fusion, options);
    let _ = writeln!(
        report,
        "  chosen on every set: k {} sentence {:.2} paragraph {:.2} fit^{}",
        grid[fusion].k,
        grid[fusion].sentence_weight,
        grid[fusion].paragraph_weight,
        grid[fusion].fit_power,
    );
    let _ = writeln!(
        report,
        "\nthresholds (from cross-validated probabilities): claim at P(right) ≥ {answer_at:.3}, closest passages at P(topic) ≥ {closest_at:.3}; conversation by example from cosine {talk_at:.3}\n"
    );
    let _ = writeln!(report, "leave-one-set-out cross-validated:\n{HEADER}");
    let mut total = Tally::default();
    for (fold, set) in fitted_on.iter().enumerate() {
        let mut tally = Tally::default();
        for (i, q) in all.iter().enumerate().filter(|(_, q)| q.set == fold) {
            let v = verdict(cv_predictions.get(&i), talks(q), answer_at, closest_at);
            tally.add(q, v, cv_fusion[fold]);
            total.add(q, v, cv_fusion[fold]);
        }
        let _ = writeln!(report, "{}", tally.row(&set.file));
    }
    let _ = writeln!(report, "{}", total.row("all (cross-validated)"));
    // 4. The final models on every fitted set, and the held-out sets scored once.
    let models = fit(&everything, fusion).ok_or_else(|| {
        Error::Config(
            "the sets lack a right or a wrong answer to fit on: add labeled questions".into(),
        )
    })?;
    if !held.is_empty() {
        let _ = writeln!(
            report,
            "\nheld out of every fit (final decision):\n{HEADER}"
        );
        let which: Vec<usize> = (0..held.len()).collect();
        let p = predict(&models, &held, &which, fusion);
        for (k, path) in options.held_out.iter().enumerate() {
            let mut tally = Tally::default();
            for (i, q) in held.iter().enumerate().filter(|(_, q)| q.set == folds + k) {
                tally.add(
                    q,
                    verdict(p.get(&i), talks(q), answer_at, closest_at),
                    fusion,
                );
            }
            let name = path
                .file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
            let _ = writeln!(report, "{}", tally.row(&name));
        }
    }
    let _ = writeln!(
        report,
        "\nweights of the final models (standardised features):"
    );
    let _ = writeln!(report, "  {:<24} {:>7} {:>7}", "feature", "claim", "topic");
    for (j, name) in NAMES.iter().enumerate() {
        let _ = writeln!(
            report,
            "  {name:<24} {:>7.2} {:>7.2}",
            models.0.weights[j], models.1.weights[j]
        );
    }
    let names: Vec<String> = fitted_on
        .iter()
        .map(|s| s.file.clone())
        .chain(options.held_out.iter().map(|p| p.display().to_string()))
        .collect();
    let mut rows: Vec<serde_json::Value> = (0..all.len())
        .map(|i| row(&all, i, &names, fusion, cv_predictions.get(&i)))
        .collect();
    let which: Vec<usize> = (0..held.len()).collect();
    let held_p = predict(&models, &held, &which, fusion);
    rows.extend((0..held.len()).map(|i| row(&held, i, &names, fusion, held_p.get(&i))));
    let decision = Decision {
        features: NAMES.iter().map(|n| n.to_string()).collect(),
        claim: models.0,
        topic: models.1,
        answer_at,
        closest_at,
        fusion: grid[fusion],
        model: model.to_string(),
        fitted_on,
        cross_validated: total.row("all (cross-validated)"),
        exemplars,
        talk_at,
        intents,
    };
    Ok(Calibrated {
        decision,
        report,
        rows,
    })
}
