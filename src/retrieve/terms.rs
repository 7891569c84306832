//! The question's terms made ready for scoring: Chinese words and their synonyms, English
//! words bridged to the corpus's words, the pieces of a word the corpus lacks, and how
//! informative and how common each is.

use super::*;

impl Retriever {
    /// The question's terms: Chinese words (with synonyms when the corpus lacks the word)
    /// and English words or phrases translated into the corpus's words.
    pub(super) fn terms(&self, normalized: &str) -> Vec<Term> {
        let mut terms: Vec<Term> =
            text::question_terms(&self.jieba, normalized, &|w| self.occurs(w), &|w| {
                self.lexicon.has(w)
            })
            .into_iter()
            // Latin words are the English path's; a hyphenated one (cvn-73) stays when
            // the corpus has it as written.
            .filter(|t| {
                let latin = t
                    .text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '\'');
                let compound = t.text.chars().all(|c| c.is_ascii() && c != ' ');
                !latin && (!compound || self.occurs(&t.text))
            })
            .collect();
        for term in &mut terms {
            term.forms.extend(self.bridge.aliases(&term.text));
            term.exact_forms = term.forms.len();
            if !self.occurs(&term.text) {
                term.forms.extend(self.synonyms(&term.text).iter().cloned());
                // A verb with a result complement the corpus lacks (开成, 见着, 谈完) says how
                // the question is put, not what it is about.
                if term.forms.len() == 1 && text::is_resultative(&term.text) {
                    term.info = term.info.min(ABSENT_VERB_INFO);
                }
            }
        }
        for t in self.bridge.translate(normalized) {
            let kind_weight = if t.asked_kind {
                text::ASKED_KIND_WEIGHT
            } else {
                1.0
            };
            terms.push(Term {
                weight: kind_weight,
                info: english_background(&t.forms[..t.exact_forms])
                    .unwrap_or_else(|| self.everyday(&t.source)),
                exact_forms: t.exact_forms,
                text: t.source,
                forms: t.forms,
                follows: None,
                asked: t.asked_kind,
                verb: t.verb,
            });
        }
        terms
    }

    /// Works out once per question what each term can match and how much it weighs.
    pub(super) fn prepare(&self, term: &Term, all: &[Term]) -> Prepared {
        let english = !term.text.chars().any(text::is_cjk);
        let forms: Vec<Found> = term
            .forms
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut credit = if i < term.exact_forms {
                    1.0
                } else {
                    SYNONYM_CREDIT
                };
                // One character translating an English word (上 for first, 中 for hit) is
                // written all over the corpus in other senses: weak evidence, as in Chinese.
                if english && f.chars().count() == 1 {
                    credit *= text::SINGLE_CHARACTER_WEIGHT;
                }
                (f, credit)
            })
            .filter(|(f, _)| self.occurs(f))
            .map(|(f, credit)| {
                let mut found = Found::new(f.clone(), credit);
                found.names_whole = !english && self.names_whole(f);
                found.alone_only = english && f.chars().count() == 1;
                // Another form of an everyday word (日方 for 日本) is rarer in the corpus, so
                // BM25 would prize it: it weighs no more than the word it stands for.
                if f != &term.text && term.text.chars().any(text::is_cjk) {
                    found.query_factor = (term.info / text::background_weight(f)).min(1.0);
                }
                found
            })
            .collect();
        // Only part of a name completes another (早苗 after 高市): 大米 after 美国 is a word.
        let completes = term
            .follows
            .as_ref()
            .filter(|_| is_name_part(term))
            .and_then(|previous| {
                let p = all.iter().position(|t| &t.text == previous)?;
                self.occurs(&format!("{previous}{}", term.text))
                    .then_some(p)
            });
        let chars: Vec<char> = term.text.chars().filter(|c| text::is_cjk(*c)).collect();
        let pieces = if forms.is_empty() {
            self.pieces(&chars)
        } else {
            Vec::new()
        };
        // A place, person or organisation the corpus never names (台湾) is another topic,
        // however common the name is in everyday Chinese.
        let info = if forms.is_empty() && pieces.is_empty() && text::is_proper_noun(&term.text) {
            1.0
        } else {
            term.info
        };
        Prepared {
            former: false,
            ubiquitous: self.ubiquitous(&forms),
            weight: term.weight,
            asked: term.asked,
            counted: false,
            info,
            query_weight: if completes.is_some() {
                NAME_PART_WEIGHT
            } else {
                1.0
            },
            pieces,
            chars: if forms.is_empty() && chars.len() > 1 {
                chars
            } else {
                Vec::new()
            },
            forms,
            completes,
            text: term.text.clone(),
        }
    }

    /// Runs of two or more ideographs of a word absent from the corpus that the corpus has,
    /// longest first, with the credit each earns (抗议 of 抗议者).
    pub(super) fn pieces(&self, chars: &[char]) -> Vec<Found> {
        if let [root, suffix] = chars {
            return self.root(*root, *suffix).into_iter().collect();
        }
        if chars.len() < 3 {
            return Vec::new();
        }
        (2..chars.len())
            .rev()
            .flat_map(|n| {
                chars
                    .windows(n)
                    .map(move |w| (w.iter().collect::<String>(), n))
            })
            // The corpus's own subject (日本 of 日本央行) tells nothing of what the word names.
            .filter(|(piece, _)| self.occurs(piece) && self.share(piece) < UBIQUITOUS_SHARE)
            .map(|(piece, n)| Found::new(piece, 0.8 * n as f32 / chars.len() as f32))
            .collect()
    }

    /// The root of a noun made with a suffix (帽 of 帽子, 鸟 of 鸟儿), when the corpus ends a
    /// word with it (棒球帽 is a kind of 帽子): found only there, as the head of a word.
    pub(super) fn root(&self, root: char, suffix: char) -> Option<Found> {
        let root = root.to_string();
        let noun = format!("{root}{suffix}");
        let suffixed = NOUN_SUFFIXES.contains(suffix) && text::is_noun(&noun);
        (suffixed && self.occurs(&root)).then(|| {
            let mut found = Found::new(root, ROOT_CREDIT);
            found.head_only = true;
            found
        })
    }

    /// True for a name (its first gloss is written as one: 三菱 "Mitsubishi") or a string of
    /// ideographs with no meaning of its own (读卖, short for 读卖新闻).
    pub(super) fn names_whole(&self, form: &str) -> bool {
        self.lexicon
            .first_gloss(form)
            .map_or(form.chars().count() > 1, |g| {
                g.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            })
    }

    /// How informative an English word the corpus has no translation of is in everyday use
    /// (remembered per generation).
    pub(super) fn everyday(&self, word: &str) -> f32 {
        if let Some(known) = self.everyday.get(word) {
            return known;
        }
        let weight = self.bridge.everyday_weight(&self.lexicon, word);
        self.everyday.insert(word.to_string(), weight);
        weight
    }

    /// Corpus words that mean what `word` means (remembered per generation).
    pub(super) fn synonyms(&self, word: &str) -> Arc<Vec<String>> {
        if let Some(known) = self.synonyms.get(word) {
            return known;
        }
        let found = Arc::new(self.bridge.synonyms(&self.lexicon, word));
        self.synonyms.insert(word.to_string(), found.clone());
        found
    }

    /// True when a form is written in a large share of the corpus's sentences: the corpus's
    /// own subject (特朗普, 高市, 日本), which alone cannot tell what a question asks about.
    pub(super) fn ubiquitous(&self, forms: &[Found]) -> bool {
        forms
            .iter()
            .any(|f| self.share(&f.text) >= UBIQUITOUS_SHARE)
    }

    /// True when a sentence names someone (a glossary name) that the question does not,
    /// other than the corpus's own subject (特朗普, 高市).
    pub(super) fn names_another(&self, sentence: &str, asked: &[Prepared]) -> bool {
        self.name_finder.find_iter(sentence).any(|m| {
            let name = &sentence[m.range()];
            let in_question = asked
                .iter()
                .flat_map(|p| &p.forms)
                .any(|f| f.text.contains(name) || name.contains(f.text.as_str()));
            !in_question && self.share(name) < UBIQUITOUS_SHARE
        })
    }

    /// Share of the corpus's sentences with `word` (remembered per generation).
    pub(super) fn share(&self, word: &str) -> f32 {
        if let Some(known) = self.shares.get(word) {
            return known;
        }
        let share = self.index.share(word).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "document frequency lookup failed; taking the word as rare");
            0.0
        });
        self.shares.insert(word.to_string(), share);
        share
    }

    /// True when a sentence of the corpus contains `text` (remembered per generation).
    pub(super) fn occurs(&self, text: &str) -> bool {
        if let Some(known) = self.lookups.get(text) {
            return known;
        }
        let found = self.index.occurs(text).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "substring lookup failed; treating the word as absent");
            false
        });
        self.lookups.insert(text.to_string(), found);
        found
    }
}
