//! The bridge from words the corpus does not contain to words it does: English → Chinese
//! (glossary first, then CC-CEDICT phrases before single words) and Chinese synonyms by shared
//! English glosses (礼物 → 赠送). The dictionary is compiled into the binary as an fst
//! (see `README.md` here); only entries for the corpus's own words are expanded at start-up.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::text;

static FST: &[u8] = include_bytes!("cedict.fst");
static GLOSSES: &str = include_str!("cedict.txt");

/// File name of the glossary inside the corpus folder (optional).
pub const GLOSSARY_FILE: &str = "glossary.toml";

/// Longest English phrase (in words) looked up as one unit.
const MAX_PHRASE: usize = 4;
/// Most Chinese forms kept for one English word or phrase.
const MAX_FORMS: usize = 6;

/// CC-CEDICT: simplified headword → English glosses.
pub struct Lexicon {
    map: fst::Map<&'static [u8]>,
}

impl Lexicon {
    /// The dictionary compiled into the binary (no I/O, no parsing).
    pub fn embedded() -> Lexicon {
        Lexicon {
            map: fst::Map::new(FST)
                .expect("the embedded cedict.fst is valid (built by tools/cedict-extract)"),
        }
    }

    /// Every dictionary headword (two to six characters) written in `text`, as slices of it:
    /// the corpus's words as the dictionary knows them, whatever the segmenter made of them
    /// (记者招待会 even where jieba cut 记者/招待会).
    pub fn headwords_in<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let starts = text::char_starts(text);
        let mut found = Vec::new();
        for (k, &start) in starts.iter().enumerate() {
            for &end in starts.iter().skip(k + 2).take(5) {
                let candidate = &text[start..end];
                if self.map.contains_key(candidate) {
                    found.push(candidate);
                }
            }
        }
        found
    }

    /// Calls `each` with every headword and its glosses (113k entries; for one-off indexes).
    fn for_each_entry(&self, mut each: impl FnMut(&str, &'static str)) {
        use fst::Streamer;
        let mut stream = self.map.stream();
        while let Some((key, offset)) = stream.next() {
            let Ok(word) = std::str::from_utf8(key) else {
                continue;
            };
            let rest = GLOSSES.get(offset as usize..).unwrap_or("");
            each(word, rest.split('\n').next().unwrap_or(""));
        }
    }

    /// True when `simplified` is a headword of the dictionary.
    pub fn has(&self, simplified: &str) -> bool {
        self.map.contains_key(simplified)
    }

    /// The first English gloss of a simplified headword (its main sense).
    pub fn first_gloss(&self, simplified: &str) -> Option<&'static str> {
        let offset = self.map.get(simplified)?;
        let rest = GLOSSES.get(offset as usize..)?;
        rest.split('\n').next()?.split("; ").next()
    }

    /// The English glosses of a simplified headword; empty when it is not in the dictionary.
    pub fn glosses(&self, simplified: &str) -> Vec<&'static str> {
        let Some(offset) = self.map.get(simplified) else {
            return Vec::new();
        };
        let rest = GLOSSES.get(offset as usize..).unwrap_or("");
        let line = rest.split('\n').next().unwrap_or("");
        line.split("; ").filter(|g| !g.is_empty()).collect()
    }
}

/// English → Chinese forms written by us for names and terms a dictionary lacks or gets
/// wrong for this corpus (`corpus/glossary.toml`).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Glossary {
    /// Lowercase English word or phrase → Chinese (or Latin) forms as written in the articles.
    #[serde(default)]
    pub terms: HashMap<String, Vec<String>>,
}

impl Glossary {
    /// Every form the glossary gives (normalised), for the segmenter to keep whole.
    pub fn chinese_forms(&self) -> impl Iterator<Item = &str> {
        self.terms.values().flatten().map(String::as_str)
    }

    /// Reads `dir/glossary.toml`; a missing file is an empty glossary.
    pub fn load(dir: &Path) -> Result<Glossary> {
        let path = dir.join(GLOSSARY_FILE);
        let raw = match std::fs::read_to_string(&path) {
            Ok(raw) => raw,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Glossary::default()),
            Err(cause) => {
                return Err(Error::Io {
                    action: "read",
                    path,
                    cause,
                    fix: "make it readable, or remove it (the glossary is optional)",
                })
            }
        };
        let mut glossary: Glossary = toml::from_str(&raw).map_err(|e| Error::Metadata {
            path: path.clone(),
            message: e.to_string(),
        })?;
        glossary.terms = glossary
            .terms
            .into_iter()
            .map(|(k, v)| {
                (
                    k.to_lowercase(),
                    v.iter().map(|f| text::normalize(f)).collect(),
                )
            })
            .collect();
        Ok(glossary)
    }
}

/// An English word or phrase of a question with the corpus forms it may take.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// The English as asked (lowercase).
    pub source: String,
    /// Normalised forms to search for, most likely first.
    pub forms: Vec<String>,
    /// How many leading forms are translations of the word itself; the rest share only its
    /// stem (population → 民粹主义 "populism") and count less.
    pub exact_forms: usize,
    /// True when it names the kind of answer asked for (the noun after "what"/"which").
    pub asked_kind: bool,
    /// True when the word is used as a verb (after an auxiliary or a subject, or ending -ed).
    pub verb: bool,
}

/// English words that only shape the question.
fn is_english_stop(word: &str) -> bool {
    text::is_stop_word(word)
        || word.chars().all(|c| c.is_ascii_digit()) && word.len() < 2
        || LIGHT_VERBS.iter().any(|base| {
            word.as_bytes().get(..2) == base.as_bytes().get(..2) && is_form_of(word, base)
        })
}

/// Verbs that say how a question is put, not what it is about, in every regular form
/// (getting, goes, happened, says).
const LIGHT_VERBS: &[&str] = &[
    "get", "go", "do", "have", "say", "tell", "happen", "mention", "know",
];

/// True when `word` is a regular form of `base` (getting → get, goes → go, tried → try,
/// making → make, stopped → stop).
fn is_form_of(word: &str, base: &str) -> bool {
    const ENDINGS: &[(&str, &str)] = &[
        ("ing", ""),
        ("ing", "e"),
        ("ies", "y"),
        ("ied", "y"),
        ("es", ""),
        ("s", ""),
        ("ed", ""),
        ("ed", "e"),
    ];
    ENDINGS.iter().any(|(ending, restore)| {
        let Some(stem) = word.strip_suffix(ending) else {
            return false;
        };
        let root = base.strip_suffix(restore).unwrap_or(base);
        let last = root.as_bytes().last();
        // A doubled last consonant is undone too (getting → get).
        let undoubled = restore.is_empty()
            && stem.len() == root.len() + 1
            && stem.starts_with(root)
            && stem.as_bytes().last() == last;
        base.ends_with(restore) && (stem == root || undoubled)
    })
}

/// A corpus word reached through one word of one of its glosses.
#[derive(Debug, Clone)]
struct Loose {
    /// The corpus word.
    word: String,
    /// How many content words the gloss has (fewer = more specific).
    gloss_len: usize,
    /// The gloss word as written, before stemming.
    gloss_word: String,
}

/// The index from English (stemmed) to the corpus's own words, built at start-up.
pub struct Bridge {
    stemmer: Stemmer,
    glossary: Glossary,
    /// Stemmed whole gloss ("rare earth") → corpus words with exactly that gloss.
    exact: HashMap<String, Vec<String>>,
    /// Stem → corpus words with that stem somewhere in a gloss.
    loose: HashMap<String, Vec<Loose>>,
    /// Corpus word → all the stems of its glosses.
    stems_of: HashMap<String, HashSet<String>>,
    /// Glossary form → the other forms of the entries that list it, sorted.
    aliases: HashMap<String, Vec<String>>,
    /// Corpus word → the stems its glosses give as verbs ("to sign").
    verbal: HashMap<String, HashSet<String>>,
}

/// How the words around an English word say it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// After an auxiliary or a subject pronoun (did they **sign**), or with -ed (signed).
    Verb,
    /// After an article or a possessive (the **sign**, her **visit**).
    Noun,
    /// Nothing tells.
    Either,
}

/// Past forms of irregular English verbs and their base (glosses give verbs as "to come"),
/// leaving out those that are also other words (won, the currency; left, the side; saw, rose,
/// led, felt, sat).
const IRREGULAR_VERBS: &[(&str, &str)] = &[
    ("came", "come"),
    ("went", "go"),
    ("gone", "go"),
    ("said", "say"),
    ("met", "meet"),
    ("took", "take"),
    ("taken", "take"),
    ("gave", "give"),
    ("given", "give"),
    ("made", "make"),
    ("got", "get"),
    ("gotten", "get"),
    ("bought", "buy"),
    ("brought", "bring"),
    ("sold", "sell"),
    ("told", "tell"),
    ("thought", "think"),
    ("held", "hold"),
    ("sent", "send"),
    ("spent", "spend"),
    ("paid", "pay"),
    ("lost", "lose"),
    ("began", "begin"),
    ("begun", "begin"),
    ("seen", "see"),
    ("knew", "know"),
    ("known", "know"),
    ("wrote", "write"),
    ("written", "write"),
    ("spoke", "speak"),
    ("spoken", "speak"),
    ("flew", "fly"),
    ("flown", "fly"),
    ("chose", "choose"),
    ("chosen", "choose"),
    ("broke", "break"),
    ("broken", "break"),
    ("ate", "eat"),
    ("eaten", "eat"),
    ("stood", "stand"),
    ("fought", "fight"),
    ("struck", "strike"),
    ("meant", "mean"),
    ("kept", "keep"),
    ("risen", "rise"),
    ("grew", "grow"),
    ("grown", "grow"),
    ("drew", "draw"),
    ("drawn", "draw"),
    ("threw", "throw"),
    ("thrown", "throw"),
    ("wore", "wear"),
    ("worn", "wear"),
];

/// Words that with "how" before them ask for a length of time, a frequency or a number (how
/// long, how often): no content. "how old" keeps "old": the age is what is asked.
const HOW_DEGREES: &[&str] = &["long", "often", "soon", "many", "much"];

/// Words after which an English word is a verb.
const VERB_CUES: &[&str] = &[
    "did", "do", "does", "didn't", "don't", "doesn't", "will", "would", "won't", "can", "could",
    "can't", "should", "to", "they", "we", "i", "you", "he", "she",
];
/// Words after which an English word is a noun.
const NOUN_CUES: &[&str] = &[
    "the", "a", "an", "this", "that", "these", "those", "his", "her", "their", "its", "our", "my",
    "your", "what", "which", "whose", "many", "much", "any", "some", "every", "each",
];

/// True for an English adverb that may stand between a cue and its word (did they actually
/// sign).
fn is_adverb(word: &str) -> bool {
    (word.len() > 4 && word.ends_with("ly"))
        || [
            "not", "just", "even", "also", "ever", "never", "still", "all", "both",
        ]
        .contains(&word)
}

/// How `word` is used, from the word before it (adverbs skipped) and its ending.
fn use_of(previous: Option<&str>, word: &str) -> Use {
    match previous {
        Some(p) if VERB_CUES.contains(&p) => Use::Verb,
        Some(p) if NOUN_CUES.contains(&p) => Use::Noun,
        _ if word.len() > 4 && word.ends_with("ed") => Use::Verb,
        _ => Use::Either,
    }
}

impl Bridge {
    /// Indexes the English glosses of every corpus word in `vocabulary` (normalised words).
    pub fn build<'a>(
        lexicon: &Lexicon,
        vocabulary: impl IntoIterator<Item = &'a str>,
        glossary: Glossary,
    ) -> Bridge {
        let mut aliases: HashMap<String, Vec<String>> = HashMap::new();
        for forms in glossary.terms.values() {
            for form in forms {
                let others = forms.iter().filter(|f| *f != form).cloned();
                aliases.entry(form.clone()).or_default().extend(others);
            }
        }
        for found in aliases.values_mut() {
            found.sort();
            dedup(found);
        }
        let mut bridge = Bridge {
            stemmer: Stemmer::create(Algorithm::English),
            glossary,
            exact: HashMap::new(),
            loose: HashMap::new(),
            stems_of: HashMap::new(),
            aliases,
            verbal: HashMap::new(),
        };
        for word in vocabulary {
            if bridge.stems_of.contains_key(word) {
                continue;
            }
            let mut all = HashSet::new();
            for gloss in lexicon.glosses(word) {
                let words = bridge.content_words(gloss);
                if words.is_empty() || words.len() > MAX_PHRASE {
                    continue;
                }
                let stems: Vec<String> = words.iter().map(|w| bridge.stem(w)).collect();
                if gloss.trim_start().starts_with("to ") {
                    let verbs = bridge.verbal.entry(word.to_string()).or_default();
                    verbs.extend(stems.iter().cloned());
                }
                bridge
                    .exact
                    .entry(stems.join(" "))
                    .or_default()
                    .push(word.to_string());
                // A word of a name (deal in "New Deal", house in "White House") is not what
                // the word means: the name is found as a whole phrase only.
                let name = words.len() > 1
                    && strip_brackets(gloss)
                        .split_whitespace()
                        .filter(|w| words.iter().any(|c| c.eq_ignore_ascii_case(w)))
                        .all(|w| w.starts_with(|c: char| c.is_ascii_uppercase()));
                for (stem, gloss_word) in stems.iter().zip(words).filter(|_| !name) {
                    let entries = bridge.loose.entry(stem.clone()).or_default();
                    if !entries
                        .iter()
                        .any(|e| e.word == word && e.gloss_word == gloss_word)
                    {
                        entries.push(Loose {
                            word: word.to_string(),
                            gloss_len: stems.len(),
                            gloss_word,
                        });
                    }
                }
                all.extend(stems);
            }
            bridge.stems_of.insert(word.to_string(), all);
        }
        // Most specific (shortest gloss) first, longer words first among equals.
        for entries in bridge.loose.values_mut() {
            entries.sort_by_key(|e| (e.gloss_len, std::cmp::Reverse(e.word.chars().count())));
        }
        bridge
    }

    /// Content words of an English text, dropping bracketed notes and function words.
    fn content_words(&self, english: &str) -> Vec<String> {
        english_words(&strip_brackets(english))
            .into_iter()
            .filter(|w| !is_english_stop(w) && !GLOSS_NOISE.contains(&w.as_str()))
            .collect()
    }

    fn stem(&self, word: &str) -> String {
        self.stemmer.stem(word).into_owned()
    }

    /// Translates the English words of a question into groups of corpus forms: glossary
    /// first, then the longest dictionary phrase, then single words. Chinese text is ignored.
    pub fn translate(&self, question: &str) -> Vec<Translation> {
        let mut words = english_words(question);
        let mut stems: Vec<String> = words.iter().map(|w| self.stem(w)).collect();
        for (word, stem) in words.iter_mut().zip(stems.iter_mut()) {
            self.respell(word, stem);
        }
        let mut out: Vec<Translation> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let asked_kind = i > 0 && matches!(words[i - 1].as_str(), "what" | "which");
            let how = i > 0 && words[i - 1] == "how" && HOW_DEGREES.contains(&words[i].as_str());
            if (asked_kind && text::is_generic_kind(&words[i])) || how {
                i += 1;
                continue;
            }
            let previous = words[..i]
                .iter()
                .rev()
                .find(|w| !is_adverb(w))
                .map(String::as_str);
            let (n, mut forms, mut exact_forms) = self.longest_match(&words[i..], &stems[i..]);
            let mut verb = false;
            if n == 1 && !self.glossary.terms.contains_key(&words[i]) {
                let usage = use_of(previous, &words[i]);
                verb = usage == Use::Verb;
                (forms, exact_forms) = self.used_as(usage, &stems[i], forms, exact_forms);
            }
            if n > 0 {
                let source = words[i..i + n].join(" ");
                if !out.iter().any(|t| t.source == source) {
                    out.push(Translation {
                        source,
                        forms,
                        exact_forms,
                        asked_kind,
                        verb,
                    });
                }
                i += n;
            } else {
                i += 1;
            }
        }
        out
    }

    /// Rewrites `word` (and its `stem`) in the form the dictionary's glosses use when no gloss
    /// has it as written: the base of an irregular verb (came → come, bought → buy), or the
    /// American spelling of a British one (defence → defense, labour → labor, organise →
    /// organize).
    fn respell(&self, word: &mut String, stem: &mut String) {
        if self.loose.contains_key(stem.as_str()) {
            return;
        }
        if let Some(&(_, base)) = IRREGULAR_VERBS.iter().find(|(form, _)| form == word) {
            (*word, *stem) = (base.to_string(), self.stem(base));
            return;
        }
        if word.len() < 5 {
            return;
        }
        if is_english_stop(word) || self.glossary.terms.contains_key(word.as_str()) {
            return;
        }
        for american in american_spellings(word) {
            let american_stem = self.stem(&american);
            if self.loose.contains_key(&american_stem) {
                (*word, *stem) = (american, american_stem);
                return;
            }
        }
    }

    /// Keeps, of a word's translations (after the word itself), those of the part of speech
    /// it is used as — 签署 "to sign" for `did they sign`, not 前兆 "sign (omen)" — when
    /// some are; the others when none is.
    fn used_as(
        &self,
        usage: Use,
        stem: &str,
        forms: Vec<String>,
        exact_forms: usize,
    ) -> (Vec<String>, usize) {
        if usage == Use::Either || forms.len() < 3 {
            return (forms, exact_forms);
        }
        let verbal = |f: &String| self.verbal.get(f).is_some_and(|v| v.contains(stem));
        let fits = |f: &String| verbal(f) == (usage == Use::Verb);
        if !forms[1..].iter().any(fits) {
            return (forms, exact_forms);
        }
        let mut kept = vec![forms[0].clone()];
        let mut exact = 1;
        for (i, f) in forms.iter().enumerate().skip(1) {
            if fits(f) {
                kept.push(f.clone());
                exact += usize::from(i < exact_forms);
            }
        }
        (kept, exact.min(exact_forms))
    }

    /// The longest phrase at the start of `words` (stemmed: `stems`) with forms: its length
    /// (0: none), the forms, and how many of them translate the words themselves.
    fn longest_match(&self, words: &[String], stems: &[String]) -> (usize, Vec<String>, usize) {
        for n in (1..=words.len().min(MAX_PHRASE)).rev() {
            let phrase = words[..n].join(" ");
            if let Some(forms) = self.glossary.terms.get(&phrase) {
                return (n, forms.clone(), forms.len());
            }
            let exact = self.exact.get(&stems[..n].join(" "));
            if n > 1 {
                if let Some(forms) = exact {
                    return (n, forms.clone(), forms.len());
                }
                continue;
            }
            if is_english_stop(&words[0]) {
                return (0, Vec::new(), 0);
            }
            let (same_word, same_stem) = self.loose_forms(&stems[0], &words[0]);
            let mut forms = vec![words[0].clone()];
            forms.extend(exact.into_iter().flatten().cloned());
            forms.extend(same_word);
            dedup(&mut forms);
            let exact_forms = forms.len().min(MAX_FORMS);
            forms.extend(same_stem);
            dedup(&mut forms);
            forms.truncate(MAX_FORMS);
            return (1, forms, exact_forms);
        }
        (0, Vec::new(), 0)
    }

    /// Corpus words with `word` itself in a gloss, and those that share only its stem
    /// (within three letters of it), each most specific (shortest gloss) first.
    fn loose_forms(&self, stem: &str, word: &str) -> (Vec<String>, Vec<String>) {
        let (mut same, mut stem_only) = (Vec::new(), Vec::new());
        let near = |e: &&Loose| e.gloss_word.len().abs_diff(word.len()) <= 3;
        for e in self.loose.get(stem).into_iter().flatten().filter(near) {
            let list = if e.gloss_word == word {
                &mut same
            } else {
                &mut stem_only
            };
            list.push(e.word.clone());
        }
        (same, stem_only)
    }

    /// How informative an English word is in everyday use, by its most common Chinese
    /// translation (of two or more characters) in the whole dictionary: quote → 引用 weighs
    /// little; a word no entry glosses, such as an unknown name, or one that names a place,
    /// person or organisation (France → 法国), weighs 1. For words the corpus
    /// has no translation of; the index is built on first use (~100 ms), once per process.
    pub fn everyday_weight(&self, lexicon: &Lexicon, word: &str) -> f32 {
        static LEAST: OnceLock<HashMap<String, f32>> = OnceLock::new();
        let least = LEAST.get_or_init(|| {
            let mut least: HashMap<String, f32> = HashMap::new();
            let mut stems: HashMap<String, String> = HashMap::new();
            lexicon.for_each_entry(|headword, line| {
                // A single character glossed by the word (天 "weather") is a bound form or a
                // sense among many: the word's everyday weight is its compounds'.
                if headword.chars().count() < 2 {
                    return;
                }
                // One content word is at most "to" and a word (bracketed notes aside).
                let short = |g: &&str| g.contains('(') || g.split_whitespace().nth(2).is_none();
                for gloss in line.split("; ").filter(short) {
                    if let [only] = self.content_words(gloss).as_slice() {
                        let stem = stems
                            .entry(only.clone())
                            .or_insert_with(|| self.stem(only))
                            .clone();
                        // A place, person or organisation (法国 "France") the corpus never
                        // names is another topic, however common its name: as in Chinese.
                        let weight = if text::is_proper_noun(headword) {
                            1.0
                        } else {
                            text::background_weight(headword)
                        };
                        let slot = least.entry(stem).or_insert(1.0);
                        *slot = slot.min(weight);
                    }
                }
            });
            least
        });
        least.get(&self.stem(word)).copied().unwrap_or(1.0)
    }

    /// Other names for the same thing, from the glossary entries that list `word`
    /// (高市早苗 → 高市): they count as the word itself.
    pub fn aliases(&self, word: &str) -> Vec<String> {
        self.aliases.get(word).cloned().unwrap_or_default()
    }

    /// Corpus words that share at least two distinct gloss words with `word` (礼物 "gift;
    /// present" → 赠送 "to present as a gift"), or one and a character (应付 → 应对), for a
    /// Chinese word the corpus does not contain; a Latin corpus word that is a whole gloss
    /// written as a name or acronym (北约 "NATO" → nato, but not 大学 "the Great Learning" →
    /// great, nor 岁数 "age" → age) counts too. Kin share a part of speech (打球 "to play
    /// ball" is not 高尔夫球 "golf"), and two names of different things are never synonyms.
    pub fn synonyms(&self, lexicon: &Lexicon, word: &str) -> Vec<String> {
        let raw = lexicon.glosses(word);
        let glosses: Vec<Vec<String>> = raw.iter().map(|g| self.content_words(g)).collect();
        let mine: HashSet<String> = glosses.iter().flatten().map(|w| self.stem(w)).collect();
        // Only a name or an acronym (NATO, GDP): a common word (age) is in the corpus only
        // inside an English phrase quoted beside the Chinese (new golden age).
        let mut found: Vec<String> = glosses
            .iter()
            .zip(&raw)
            .filter(|(g, r)| g.len() == 1 && r.chars().any(|c| c.is_ascii_uppercase()))
            .map(|(g, _)| self.stem(&g[0]))
            .filter(|stem| self.stems_of.contains_key(stem.as_str()))
            .collect();
        dedup(&mut found);
        let mut shared: HashMap<&str, usize> = HashMap::new();
        for stem in &mine {
            let reached: HashSet<&str> = self
                .loose
                .get(stem)
                .into_iter()
                .flatten()
                .map(|e| e.word.as_str())
                .collect();
            for candidate in reached {
                *shared.entry(candidate).or_default() += 1;
            }
        }
        let shares_a_character = |c: &str| {
            c.chars().count() > 1 && c.chars().any(|ch| text::is_cjk(ch) && word.contains(ch))
        };
        let mut best: Vec<(&str, f32)> = shared
            .into_iter()
            .map(|(c, n)| {
                let theirs = self.stems_of.get(c).map_or(0, HashSet::len);
                (c, n, n as f32 / mine.len().max(theirs) as f32)
            })
            .filter(|&(c, _, _)| !different_names(lexicon, word, c))
            .filter(|&(c, n, overlap)| {
                (n >= 2 && overlap >= MIN_SYNONYM_OVERLAP)
                    || (shares_a_character(c)
                        && overlap >= MIN_KIN_OVERLAP
                        && shares_a_part_of_speech(lexicon, word, c)
                        && !same_kind_only(self, lexicon, word, &mine, c))
            })
            .map(|(c, _, overlap)| (c, overlap))
            .collect();
        best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        found.extend(self.same_phrase(lexicon, word, &raw, &glosses));
        found.extend(best.into_iter().take(3).map(|(w, _)| w.to_string()));
        dedup(&mut found);
        found
    }

    /// Corpus words with one whole gloss of two or more content words in common with `word`
    /// (趁 and 利用 "to take advantage of", 砍 and 削减 "to cut down"): one phrase the
    /// dictionary uses for both says more than scattered shared words. Notes on pronunciation
    /// ("Taiwan pr.") and on names ("place name") are shared by hundreds of unrelated words.
    fn same_phrase(
        &self,
        lexicon: &Lexicon,
        word: &str,
        raw: &[&str],
        glosses: &[Vec<String>],
    ) -> Vec<String> {
        let telling = |r: &&str| !["pr.", "name", "classifier"].iter().any(|n| r.contains(n));
        let mut found = Vec::new();
        let phrases = glosses
            .iter()
            .zip(raw)
            .filter(|(g, r)| g.len() >= 2 && telling(r));
        for (gloss, _) in phrases {
            let stems: Vec<String> = gloss.iter().map(|w| self.stem(w)).collect();
            let same = self.exact.get(&stems.join(" ")).into_iter().flatten();
            found.extend(
                same.filter(|c| c.as_str() != word && !different_names(lexicon, word, c))
                    .cloned(),
            );
        }
        found
    }
}

/// The names `word` stands for: the first word of each gloss written as a name (Kyoto).
fn names_of(lexicon: &Lexicon, word: &str) -> HashSet<String> {
    lexicon
        .glosses(word)
        .iter()
        .filter_map(|g| {
            strip_brackets(g)
                .split_whitespace()
                .next()
                .map(str::to_string)
        })
        .filter(|w| w.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        .map(|w| w.trim_end_matches([',', ';']).to_string())
        .collect()
}

/// True when both words are names, of different things (京都 Kyoto, 东京 Tokyo): the glosses
/// they share (capital, Japan) describe, they do not make one the other.
fn different_names(lexicon: &Lexicon, a: &str, b: &str) -> bool {
    let (a, b) = (names_of(lexicon, a), names_of(lexicon, b));
    !a.is_empty() && !b.is_empty() && a.is_disjoint(&b)
}

/// Whether `word` has a verb's gloss ("to …") and whether it has another.
fn parts_of_speech(lexicon: &Lexicon, word: &str) -> (bool, bool) {
    let glosses = lexicon.glosses(word);
    let verb = |g: &&str| strip_brackets(g).trim_start().starts_with("to ");
    (glosses.iter().any(verb), !glosses.iter().all(verb))
}

/// True when both words can be verbs or both can name things: a verb is not kin to a noun
/// that shares its character (打球 "to play ball", 高尔夫球 "golf").
fn shares_a_part_of_speech(lexicon: &Lexicon, a: &str, b: &str) -> bool {
    let (a_verb, a_other) = parts_of_speech(lexicon, a);
    let (b_verb, b_other) = parts_of_speech(lexicon, b);
    (a_verb && b_verb) || (a_other && b_other)
}

/// True when some gloss of `word` is a verb's ("to …").
fn is_verb(lexicon: &Lexicon, word: &str) -> bool {
    parts_of_speech(lexicon, word).0
}

/// True when `word` names a thing (no gloss is a verb's "to …"), `candidate` ends in the same
/// character, and that character's own glosses explain every gloss word the two share: two
/// kinds of one thing (汇率 "exchange rate" and 支持率 "approval rating" share only 率 "rate"),
/// not one thing twice. Verbs keep their kin (应付 → 因应), and so do words whose shared
/// character is not the last of both (态度 → 姿态 "attitude").
fn same_kind_only(
    bridge: &Bridge,
    lexicon: &Lexicon,
    word: &str,
    mine: &HashSet<String>,
    candidate: &str,
) -> bool {
    let Some(head) = candidate.chars().last().filter(|c| word.ends_with(*c)) else {
        return false;
    };
    if is_verb(lexicon, word) {
        return false;
    }
    let Some(theirs) = bridge.stems_of.get(candidate) else {
        return false;
    };
    let head_stems: HashSet<String> = lexicon
        .glosses(head.encode_utf8(&mut [0; 4]))
        .iter()
        .flat_map(|g| bridge.content_words(g))
        .map(|w| bridge.stem(&w))
        .collect();
    mine.intersection(theirs).all(|s| head_stems.contains(s))
}

/// Share of gloss words two words must have in common to count as synonyms.
const MIN_SYNONYM_OVERLAP: f32 = 0.6;
/// The same for two words that also share a character (应付 "to deal with" ~ 应对 "to deal
/// with; to handle", 没法 "unable" ~ 无法 "unable"): form and meaning agree, so less overlap
/// of glosses is needed.
const MIN_KIN_OVERLAP: f32 = 0.2;

/// Words that fill glosses without meaning ("sb", "sth", "etc").
const GLOSS_NOISE: &[&str] = &[
    "sb", "sth", "etc", "one", "oneself", "abbr", "lit", "fig", "esp", "e.g",
];

/// American spellings a British-spelled word may stand for, by the regular correspondences
/// (-ence/-ense, -our/-or, -re/-er, -ise/-ize, -yse/-yze, -ogue/-og, -elled/-eled, -mme/-m).
fn american_spellings(word: &str) -> Vec<String> {
    const ENDINGS: &[(&str, &str)] = &[
        ("ence", "ense"),
        ("our", "or"),
        ("ours", "ors"),
        ("oured", "ored"),
        ("ourable", "orable"),
        ("tre", "ter"),
        ("tres", "ters"),
        ("ogue", "og"),
        ("mme", "m"),
        ("mmes", "ms"),
        ("elled", "eled"),
        ("elling", "eling"),
        ("ise", "ize"),
        ("ises", "izes"),
        ("ised", "ized"),
        ("ising", "izing"),
        ("isation", "ization"),
        ("isations", "izations"),
        ("yse", "yze"),
        ("ysed", "yzed"),
        ("ysing", "yzing"),
    ];
    ENDINGS
        .iter()
        .filter_map(|(british, american)| {
            let stem = word.strip_suffix(british)?;
            (stem.len() >= 2).then(|| format!("{stem}{american}"))
        })
        .collect()
}

/// Lowercase ASCII-alphanumeric words of a text (other scripts are skipped).
fn english_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .map(|w| w.strip_suffix("'s").map(str::to_string).unwrap_or(w))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Removes `(…)` and `[…]` notes from a gloss.
fn strip_brackets(gloss: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in gloss.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn dedup(forms: &mut Vec<String>) {
    let mut seen = HashSet::new();
    forms.retain(|f| seen.insert(f.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bridge(vocabulary: &[&str], glossary: &[(&str, &[&str])]) -> Bridge {
        let glossary = Glossary {
            terms: glossary
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
        };
        Bridge::build(&Lexicon::embedded(), vocabulary.iter().copied(), glossary)
    }

    #[test]
    fn inflected_light_verbs_are_stop_words() {
        for word in ["getting", "goes", "happened", "says", "telling", "gets"] {
            assert!(is_english_stop(word), "{word}");
        }
        for word in ["talks", "jets", "goods", "hitting"] {
            assert!(!is_english_stop(word), "{word}");
        }
    }

    #[test]
    fn embedded_dictionary_has_glosses() {
        let l = Lexicon::embedded();
        assert!(l
            .glosses("稀土")
            .iter()
            .any(|g| g.starts_with("rare earth")));
        assert!(l.glosses("不是一个词语").is_empty());
    }

    #[test]
    fn headwords_are_found_inside_running_text() {
        let found = Lexicon::embedded().headwords_in("甚至没有举行联合记者招待会。");
        assert!(found.contains(&"记者招待会"), "{found:?}");
        assert!(found.contains(&"举行"), "{found:?}");
    }

    #[test]
    fn phrase_is_looked_up_before_words() {
        let b = bridge(&["稀土", "航母", "记者会", "罕见", "地球"], &[]);
        let t = b.translate("What about the rare earth deal?");
        assert_eq!(t[0].source, "rare earth");
        assert!(t[0].forms.contains(&"稀土".to_string()), "{t:?}");
        let t = b.translate("which aircraft carrier, and the press conference?");
        assert!(
            t.iter()
                .any(|t| t.source == "aircraft carrier" && t.forms.contains(&"航母".to_string())),
            "{t:?}"
        );
        assert!(
            t.iter()
                .any(|t| t.source == "press conference" && t.forms.contains(&"记者会".to_string())),
            "{t:?}"
        );
    }

    #[test]
    fn a_word_of_a_name_is_not_its_translation() {
        let b = bridge(&["新政", "白宫", "房子"], &[]);
        let deal = b.translate("what about the deal");
        assert!(
            !deal.iter().any(|t| t.forms.contains(&"新政".to_string())),
            "{deal:?}"
        );
        let house = b.translate("the house");
        assert!(!house[0].forms.contains(&"白宫".to_string()), "{house:?}");
        assert!(house[0].forms.contains(&"房子".to_string()), "{house:?}");
        let named = b.translate("new deal");
        assert!(named[0].forms.contains(&"新政".to_string()), "{named:?}");
    }

    #[test]
    fn everyday_weight_of_english_words_comes_from_the_whole_dictionary() {
        let b = bridge(&[], &[]);
        let l = Lexicon::embedded();
        let quote = b.everyday_weight(&l, "quoted");
        assert!(quote < 0.8, "quoted {quote}");
        assert!(
            b.everyday_weight(&l, "weather") > 0.3,
            "天 is not what weather weighs"
        );
        assert_eq!(b.everyday_weight(&l, "melania"), 1.0);
        assert_eq!(
            b.everyday_weight(&l, "france"),
            1.0,
            "a name is another topic"
        );
    }

    #[test]
    fn glossary_wins_and_stop_words_are_dropped() {
        let b = bridge(&["高市"], &[("takaichi", &["高市", "高市早苗"])]);
        let t = b.translate("What did Takaichi say?");
        assert_eq!(t.len(), 1, "{t:?}"); // takaichi; "say" only frames the question
        assert_eq!(t[0].forms, ["高市", "高市早苗"]);
    }

    #[test]
    fn english_word_keeps_itself_as_a_form() {
        let b = bridge(&["投资"], &[]);
        let t = b.translate("investment in QUAD");
        assert!(
            t.iter().any(|t| t.forms.contains(&"投资".to_string())),
            "{t:?}"
        );
        assert!(
            t.iter()
                .any(|t| t.forms.first().map(String::as_str) == Some("quad")),
            "{t:?}"
        );
    }

    #[test]
    fn a_verb_is_translated_as_a_verb_and_a_noun_as_a_noun() {
        let b = bridge(&["签署", "前兆", "签订", "号"], &[]);
        let forms = |q: &str| b.translate(q).remove(0).forms;
        for q in ["did they actually sign", "they signed"] {
            let f = forms(q);
            assert!(f.contains(&"签署".to_string()), "{q}: {f:?}");
            assert!(!f.contains(&"前兆".to_string()), "{q}: {f:?}");
        }
        let f = forms("the sign");
        assert!(f.contains(&"前兆".to_string()), "{f:?}");
        assert!(!f.contains(&"签署".to_string()), "{f:?}");
        assert!(forms("sign").len() >= 4, "nothing tells: all senses");
    }

    #[test]
    fn british_spellings_find_the_glossed_word() {
        let b = bridge(&["防卫", "劳动", "组织"], &[]);
        let t = b.translate("defence labour organised");
        for word in ["防卫", "劳动", "组织"] {
            assert!(
                t.iter().any(|t| t.forms.contains(&word.to_string())),
                "{word}: {t:?}"
            );
        }
        assert_eq!(american_spellings("programme"), ["program"]);
        assert!(american_spellings("four").is_empty());
    }

    #[test]
    fn one_shared_phrase_makes_synonyms_but_a_pronunciation_note_does_not() {
        let l = Lexicon::embedded();
        let b = bridge(&["利用", "削减", "和", "称"], &[]);
        // "to take advantage of", "to cut down": one whole gloss in common.
        assert!(b.synonyms(&l, "趁").contains(&"利用".to_string()));
        assert!(b.synonyms(&l, "砍").contains(&"削减".to_string()));
        // 跌 and 和 share only "Taiwan pr. [...]".
        assert!(!b.synonyms(&l, "跌").contains(&"和".to_string()));
    }

    #[test]
    fn glossary_forms_are_aliases_of_each_other() {
        let b = bridge(
            &[],
            &[
                ("takaichi", &["高市", "高市早苗"]),
                ("sanae takaichi", &["高市早苗"]),
            ],
        );
        assert_eq!(b.aliases("高市早苗"), ["高市"]);
        assert!(b.aliases("石破茂").is_empty());
    }

    #[test]
    fn synonyms_share_glosses() {
        let b = bridge(&["赠送", "出席", "天皇", "nato", "great", "age"], &[]);
        let l = Lexicon::embedded();
        assert_eq!(b.synonyms(&l, "礼物"), ["赠送"]);
        assert!(b.synonyms(&l, "北约").contains(&"nato".to_string()));
        assert!(b.synonyms(&l, "天气").is_empty());
        // "the Great Learning" is one gloss of 大学: a word in it is not a synonym.
        assert!(!b.synonyms(&l, "大学").contains(&"great".to_string()));
        // A common word written in English beside the Chinese (golden age) is no synonym.
        assert!(!b.synonyms(&l, "岁数").contains(&"age".to_string()));
    }

    #[test]
    fn words_sharing_only_their_head_are_not_synonyms() {
        let b = bridge(&["支持率", "无法", "应对", "因应", "姿态"], &[]);
        let l = Lexicon::embedded();
        assert!(
            b.synonyms(&l, "汇率").is_empty(),
            "{:?}",
            b.synonyms(&l, "汇率")
        );
        assert!(b.synonyms(&l, "态度").contains(&"姿态".to_string()));
        assert_eq!(b.synonyms(&l, "没法"), ["无法"]);
        assert!(b.synonyms(&l, "应付").contains(&"因应".to_string()));
    }

    #[test]
    fn a_verb_and_a_noun_or_two_names_are_not_kin() {
        let b = bridge(&["高尔夫球", "东京", "意味", "川普"], &[]);
        let l = Lexicon::embedded();
        // 打球 "to play ball" is something done; 高尔夫球 "golf" a thing.
        assert!(
            b.synonyms(&l, "打球").is_empty(),
            "{:?}",
            b.synonyms(&l, "打球")
        );
        // Kyoto and Tokyo are both capitals in Japan, and still two cities.
        assert!(
            b.synonyms(&l, "京都").is_empty(),
            "{:?}",
            b.synonyms(&l, "京都")
        );
        // Two nouns (意义 "meaning", 意味 "meaning; to mean") stay kin.
        assert!(b.synonyms(&l, "意义").contains(&"意味".to_string()));
    }

    #[test]
    fn irregular_past_forms_translate_as_their_base() {
        let b = bridge(&["购买", "提出"], &[]);
        let bought = b.translate("what japan bought");
        assert!(
            bought.iter().any(|t| t.forms.contains(&"购买".to_string())),
            "{bought:?}"
        );
        // "won" is also a currency: it is left as written.
        assert!(b.translate("who won").iter().all(|t| t.source != "win"));
    }
}
