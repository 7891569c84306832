//! The quality gates: every question of the dev sets through the engine, scored as the reference
//! scorer (`tools/eval/score.py`, a copy of `shared/eval/score.py`) scores it, per language. The same engine is scored on unseen
//! questions, so nothing here is tuned per question. Run with `--nocapture` to see the tables.

use summit_qa::answer::Reply;

use crate::util::{engine, fold, questions, Question};

#[derive(Default, Debug)]
struct Tally {
    n: usize,
    r3: usize,
    key: usize,
    none: usize,
    refused: usize,
    lengths: Vec<usize>,
    misses: Vec<String>,
}

impl Tally {
    fn r3(&self) -> f64 {
        self.r3 as f64 / self.n.max(1) as f64
    }
    fn key(&self) -> f64 {
        self.key as f64 / self.n.max(1) as f64
    }
    fn refusal(&self) -> f64 {
        self.refused as f64 / self.none.max(1) as f64
    }
    fn median_length(&self) -> f64 {
        let mut v = self.lengths.clone();
        v.sort_unstable();
        match v.len() {
            0 => 0.0,
            n if n % 2 == 1 => v[n / 2] as f64,
            n => (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0,
        }
    }
}

fn score(set: &[Question], langs: &[&str]) -> Tally {
    let mut t = Tally::default();
    for q in set.iter().filter(|q| langs.contains(&q.lang.as_str())) {
        let a = engine().ask(&q.q, None).unwrap();
        if q.kind == "none" {
            t.none += 1;
            t.refused += usize::from(!a.answered());
            if a.answered() {
                t.misses
                    .push(format!("{} answered off-corpus: {}", q.id, q.q));
            }
            continue;
        }
        t.n += 1;
        let marks: Vec<String> = q.gold.iter().map(|g| fold(&g.has)).collect();
        let hit = a.answered()
            && a.citations
                .iter()
                .take(3)
                .any(|c| marks.iter().any(|m| fold(&c.text).contains(m)));
        let text = fold(&a.text());
        let key = a.answered() && q.keys.iter().any(|k| text.contains(&fold(k)));
        t.r3 += usize::from(hit);
        t.key += usize::from(key);
        if a.answered() {
            t.lengths
                .push(a.quotes.iter().map(|q| q.text.chars().count()).sum());
        }
        if !(hit && key) {
            t.misses
                .push(format!("{} r3={hit} key={key} {}", q.id, q.q));
        }
    }
    t
}

/// Scores a set per language and in all, prints the table, and returns the overall tally.
fn report(fixture: &str) -> Tally {
    let set = questions(fixture);
    eprintln!("{fixture}: lang      n   R@3   key | none refused");
    for lang in ["zh-Hans", "zh-Hant", "en"] {
        let t = score(&set, &[lang]);
        eprintln!(
            "  {lang:8} {:3}  {:.2}  {:.2} | {:4}  {:.2}",
            t.n,
            t.r3(),
            t.key(),
            t.none,
            t.refusal()
        );
    }
    let all = score(&set, &["zh-Hans", "zh-Hant", "en"]);
    eprintln!(
        "  all      {:3}  {:.2}  {:.2} | {:4}  {:.2}   median answer {} chars",
        all.n,
        all.r3(),
        all.key(),
        all.none,
        all.refusal(),
        all.median_length()
    );
    all
}

/// Questions worded like the articles: no regression allowed.
#[test]
fn dev_set_meets_the_engine_thresholds() {
    let t = report("dev.jsonl");
    assert!(t.n >= 25, "expected the dev questions, got {}", t.n);
    assert!(t.r3() >= 0.95, "R@3 {:.2} < 0.95: {:#?}", t.r3(), t.misses);
    assert!(t.key() >= 0.90, "key {:.2}: {:#?}", t.key(), t.misses);
    assert_eq!(t.refused, t.none, "off-corpus answered: {:#?}", t.misses);
    assert!(t.median_length() <= 120.0, "median {}", t.median_length());
}

/// Questions typed the way people write in a chat. Refusal meets 0.85; the R@3 and key floors
/// are what the hybrid engine reaches today (0.68 / 0.68; the hybrid issue asks for 0.90 /
/// 0.85, not met: whether to answer still rests on word evidence, which refuses most
/// paraphrases the ranking now finds; see docs/quality.md).
#[test]
fn colloquial_set_holds_its_floors() {
    let t = report("dev_colloquial.jsonl");
    assert!(t.n >= 35, "expected the colloquial questions, got {}", t.n);
    holds(&t, 0.68, 0.65, 0.85);
    assert!(t.median_length() <= 140.0, "median {}", t.median_length());
}

/// Our own paraphrases and off-corpus questions (written before tuning; not the dev set).
#[test]
fn probe_set_holds_its_floors() {
    gate("probe.jsonl", 0, 10, [0.90, 0.90, 0.90]);
}

/// Our own chat-style questions (written on 26 Nov 2026 while probing for general faults, not
/// from the dev sets): the floors are what the engine reaches today.
#[test]
fn colloquial_probe_set_holds_its_floors() {
    gate("probe_colloquial.jsonl", 20, 4, [0.85, 0.85, 1.0]);
}

/// A second set of our own chat-style questions (written on 26 Nov 2026 in a later session,
/// on parts of the articles the other sets hardly ask about): the floors are what the engine
/// reaches today, kept as a guard against regressions.
#[test]
fn fresh_probe_set_holds_its_floors() {
    gate("probe_fresh.jsonl", 40, 12, [0.70, 0.55, 0.75]);
}

/// A third set of our own (written on 27 Nov 2026 before that session changed anything, 15
/// questions per language, 4 of them off-corpus each; some rules of that session were written
/// after reading its misses, so it is no longer blind): floors below today's level.
#[test]
fn blind_probe_set_holds_its_floors() {
    gate("probe_blind.jsonl", 30, 12, [0.80, 0.75, 0.70]);
}

/// Two more sets of our own, written on 27 Nov 2026 (third session that day) before the
/// changes they prompted: 36 chat-style questions each, 12 per language; the second is mostly
/// off-corpus questions close to the articles' topic. First runs: R@3 0.81 / 0.75, key
/// 0.70 / 0.67, refusal 0.56 / 0.71. Floors below today's level.
#[test]
fn second_and_third_blind_probe_sets_hold_their_floors() {
    gate("probe_blind2.jsonl", 25, 9, [0.80, 0.70, 0.85]);
    gate("probe_blind3.jsonl", 12, 24, [0.85, 0.75, 0.80]);
}

/// The fourth blind probe (27 Nov, fourth session): a floor at its first-contact level, so
/// that it cannot drop.
#[test]
fn fourth_blind_probe_set_holds_its_floor() {
    gate("probe_blind4.jsonl", 15, 9, [0.60, 0.60, 0.65]);
}

/// The fifth blind probe (27 Nov, fifth session; 15 answerable, 15 refusals, six of them
/// answered only in photo captions, which are never cited): first contact R@3 0.53, key 0.53,
/// refusal 0.53. With the embedding model the key is 0.47: z05's answer keeps one sentence
/// where words alone quoted two (the second held the key); noted in docs/quality.md.
#[test]
fn fifth_blind_probe_set_holds_its_floor() {
    gate("probe_blind5.jsonl", 15, 15, [0.53, 0.46, 0.53]);
}

/// Scores one of our probe sets: it must hold at least `n` answerable and `none` off-corpus
/// questions, and meet its R@3, key and refusal `floors`.
fn gate(file: &str, n: usize, none: usize, floors: [f64; 3]) {
    let t = report(file);
    assert!(
        t.n >= n && t.none >= none,
        "{file}: {} + {} none",
        t.n,
        t.none
    );
    holds(&t, floors[0], floors[1], floors[2]);
}

/// Asserts a set's R@3, key and refusal floors, listing the misses when one fails.
fn holds(t: &Tally, r3: f64, key: f64, refusal: f64) {
    assert!(t.r3() >= r3, "R@3 {:.2} < {r3}: {:#?}", t.r3(), t.misses);
    assert!(
        t.key() >= key,
        "key {:.2} < {key}: {:#?}",
        t.key(),
        t.misses
    );
    assert!(
        t.refusal() >= refusal,
        "refusal {:.2} < {refusal}: {:#?}",
        t.refusal(),
        t.misses
    );
}

/// How one of our honest-answer fixtures was replied to, by outcome.
#[derive(Default, Debug)]
struct Replies {
    answered: Vec<String>,
    not_stated: usize,
    refused: usize,
    small_talk: usize,
    /// Answers at the top confidence band (≥ [`TOP_BAND`]).
    confident: usize,
}

/// The top confidence band: an answer there reads as sure.
const TOP_BAND: f32 = 0.9;

fn replies(fixture: &str) -> Replies {
    let mut r = Replies::default();
    for q in questions(fixture) {
        let a = engine().ask(&q.q, None).unwrap();
        match a.reply {
            Reply::Answer => {
                r.confident += usize::from(a.confidence >= TOP_BAND);
                r.answered.push(format!(
                    "{} {:.2} {} -> {}",
                    q.id,
                    a.confidence,
                    q.q,
                    a.text()
                ));
            }
            Reply::NotStated => r.not_stated += 1,
            Reply::Refused => r.refused += 1,
            Reply::SmallTalk(_) => r.small_talk += 1,
        }
    }
    eprintln!(
        "{fixture}: answered {} (top band {}), not stated {}, refused {}, small talk {}",
        r.answered.len(),
        r.confident,
        r.not_stated,
        r.refused,
        r.small_talk
    );
    r
}

/// Greetings, thanks, goodbyes, "who are you", praise and complaints in three languages
/// (our fixture): every one gets the small-talk reply, never a quote or a refusal.
#[test]
fn small_talk_is_always_answered_as_conversation() {
    let r = replies("small_talk.jsonl");
    assert_eq!(r.small_talk, 40, "{r:#?}");
}

/// General-knowledge questions (capitals, sports, weather, recipes, arithmetic), some sharing
/// an everyday word with the articles. The honest-answers issue asks ≥ 95% refused; today 25
/// of 30 (first score 24, before "not stated"): the floor, with the target not met.
#[test]
fn general_knowledge_is_refused() {
    let r = replies("general.jsonl");
    assert!(r.refused >= 25, "{r:#?}");
    assert_eq!(r.small_talk, 0, "{r:#?}");
}

/// Questions whose subject the articles cover but whose detail they never give. The issue
/// asks ≥ 80% "not stated" or refused and no answer at the top band; today 20 of 30 (first
/// score 10) and four answers at the top band (who / what-was-said / which-gift questions):
/// the floor, with the target not met.
#[test]
fn near_misses_are_not_answered_as_facts() {
    let r = replies("near_miss.jsonl");
    assert!(r.not_stated + r.refused >= 17, "{r:#?}");
    assert!(
        r.not_stated >= 8,
        "'not stated' is the usual outcome: {r:#?}"
    );
    assert_eq!(r.small_talk, 0, "{r:#?}");
}
