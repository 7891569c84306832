//! The search index: tantivy schema, the jieba word and character n-gram analyzers
//! registered by name, building an in-memory index from the corpus, and one long-lived reader.

use std::collections::BTreeMap;
use std::sync::Arc;

use jieba_rs::Jieba;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{doc, Index, IndexReader, ReloadPolicy, Searcher, Term};

use crate::error::Result;
use crate::text;

/// Name of the jieba word analyzer in tantivy's tokenizer registry.
pub const WORDS_TOKENIZER: &str = "zh_words";
/// Name of the character n-gram analyzer in tantivy's tokenizer registry.
pub const GRAMS_TOKENIZER: &str = "zh_grams";

/// A sentence to index, with the paragraph it belongs to (both in the original script).
#[derive(Debug, Clone, Copy)]
pub struct Sentence<'a> {
    /// The sentence.
    pub text: &'a str,
    /// Its whole paragraph, whose words count as weaker context.
    pub paragraph: &'a str,
}

/// A weighted query term, already normalised.
#[derive(Debug, Clone)]
pub struct QueryTerm {
    /// The normalised word.
    pub text: String,
    /// Relative weight.
    pub weight: f32,
    /// True for a word the corpus has: matched as a word and by its bigrams. False for a
    /// word it lacks: matched by its single characters too (送 of 送给 in 赠送).
    pub whole_word: bool,
}

/// A hit: the unit's position in the build order and its BM25 score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Index into the sentences given to [`SearchIndex::build`].
    pub unit: usize,
    /// Combined BM25 score.
    pub score: f32,
}

#[derive(Clone, Copy)]
struct Fields {
    unit: Field,
    words: Field,
    grams: Field,
    context: Field,
}

/// An in-memory tantivy index over sentences (words, character n-grams, paragraph words),
/// with a long-lived reader.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Unit of each document, by segment and document id (read once from the fast field).
    units: Vec<Vec<usize>>,
}

/// How much a match in the sentence's paragraph counts relative to one in the sentence.
const CONTEXT_BOOST: f32 = 0.4;
/// How much character n-grams count relative to whole words.
const GRAMS_BOOST: f32 = 0.3;

impl SearchIndex {
    /// Indexes the sentences (original script) in order, each with its paragraph as context;
    /// hits refer back to them by position.
    pub fn build(jieba: Arc<Jieba>, sentences: &[Sentence<'_>]) -> Result<SearchIndex> {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        register_tokenizers(&index, jieba);
        let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
        for (i, sentence) in sentences.iter().enumerate() {
            writer.add_document(doc!(
                fields.unit => i as u64,
                fields.words => sentence.text,
                fields.grams => sentence.text,
                fields.context => sentence.paragraph,
            ))?;
        }
        writer.commit()?;
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let units = unit_table(&reader.searcher())?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            units,
        })
    }

    /// The best `limit` units for the weighted terms, best first.
    pub fn search(&self, terms: &[QueryTerm], limit: usize) -> Result<Vec<Hit>> {
        let query = self.query(terms);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        Ok(top
            .into_iter()
            .map(|(score, address)| Hit {
                unit: self.units[address.segment_ord as usize][address.doc_id as usize],
                score,
            })
            .collect())
    }

    /// One Should clause per analyzer token of every term: words (in the sentence and its
    /// paragraph), and bigrams (single characters too for words the corpus lacks).
    fn query(&self, terms: &[QueryTerm]) -> BooleanQuery {
        let f = self.fields;
        // One clause per (field, token), keeping the largest boost: forms of different
        // terms often share tokens, and each clause costs a term lookup.
        // A BTreeMap keeps the clause order (and so the float sums) the same on every run.
        let mut boosts: BTreeMap<(u32, String), f32> = BTreeMap::new();
        let mut add = |field: Field, token: String, boost: f32| {
            let b = boosts.entry((field.field_id(), token)).or_insert(0.0);
            *b = b.max(boost);
        };
        for term in terms {
            for word in self.analyze(WORDS_TOKENIZER, &term.text) {
                add(f.context, word.clone(), term.weight * CONTEXT_BOOST);
                add(f.words, word, term.weight);
            }
            for gram in self.analyze(GRAMS_TOKENIZER, &term.text) {
                if term.whole_word && gram.chars().count() == 1 && term.text.chars().count() > 1 {
                    continue;
                }
                add(f.grams, gram, term.weight * GRAMS_BOOST);
            }
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = boosts
            .into_iter()
            .map(|((field, token), boost)| {
                (
                    Occur::Should,
                    clause(Field::from_field_id(field), &token, boost),
                )
            })
            .collect();
        BooleanQuery::new(clauses)
    }

    /// Runs a registered analyzer over `text`, as indexing does.
    pub fn analyze(&self, tokenizer: &str, text: &str) -> Vec<String> {
        let Some(mut analyzer) = self.index.tokenizers().get(tokenizer) else {
            return Vec::new();
        };
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }
}

/// The unit number of every document, read once from the `unit` fast field.
fn unit_table(searcher: &Searcher) -> Result<Vec<Vec<usize>>> {
    searcher
        .segment_readers()
        .iter()
        .map(|segment| {
            let column = segment.fast_fields().u64("unit")?;
            Ok((0..segment.max_doc())
                .map(|doc| column.first(doc).unwrap_or_default() as usize)
                .collect())
        })
        .collect()
}

fn clause(field: Field, text: &str, boost: f32) -> Box<dyn Query> {
    let term = TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    );
    Box::new(BoostQuery::new(Box::new(term), boost))
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let fields = Fields {
        unit: builder.add_u64_field("unit", INDEXED | FAST),
        words: builder.add_text_field("words", text(WORDS_TOKENIZER)),
        grams: builder.add_text_field("grams", text(GRAMS_TOKENIZER)),
        context: builder.add_text_field("context", text(WORDS_TOKENIZER)),
    };
    (builder.build(), fields)
}

/// Registers both analyzers; needed on every index created or opened (it is not persisted).
fn register_tokenizers(index: &Index, jieba: Arc<Jieba>) {
    index
        .tokenizers()
        .register(WORDS_TOKENIZER, WordsTokenizer { jieba });
    index.tokenizers().register(GRAMS_TOKENIZER, GramsTokenizer);
}

/// jieba words of the normalised text; shares one dictionary (cloning it costs ~2.5 ms).
#[derive(Clone)]
struct WordsTokenizer {
    jieba: Arc<Jieba>,
}

impl Tokenizer for WordsTokenizer {
    type TokenStream<'a> = VecTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let normalized = text::normalize(text);
        VecTokenStream::new(text::words(&self.jieba, &normalized))
    }
}

/// Character unigrams and bigrams of the normalised text.
#[derive(Clone)]
struct GramsTokenizer;

impl Tokenizer for GramsTokenizer {
    type TokenStream<'a> = VecTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream::new(text::grams(&text::normalize(text)))
    }
}

/// Tokens computed up front. Offsets are not used (nothing is highlighted by tantivy), so
/// they stay zero and can never slice inside a character.
struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl VecTokenStream {
    fn new<S: AsRef<str>>(texts: impl IntoIterator<Item = S>) -> VecTokenStream {
        let tokens = texts
            .into_iter()
            .enumerate()
            .map(|(position, t)| Token {
                text: t.as_ref().to_string(),
                position,
                ..Token::default()
            })
            .collect();
        VecTokenStream { tokens, next: 0 }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(t: &str) -> QueryTerm {
        QueryTerm {
            text: t.into(),
            weight: 1.0,
            whole_word: false,
        }
    }

    #[test]
    fn finds_traditional_text_with_simplified_terms_and_partial_words() {
        let sentences = ["高市向特朗普贈送了高爾夫球桿。", "天氣很好。"].map(|text| Sentence {
            text,
            paragraph: text,
        });
        let index = SearchIndex::build(crate::text::load_jieba([]), &sentences).unwrap();
        let hits = index.search(&[term("送给"), term("高尔夫")], 5).unwrap();
        assert_eq!(hits[0].unit, 0);
        assert!(index.search(&[term("巴西")], 5).unwrap().is_empty());
        assert!(index.search(&[], 5).unwrap().is_empty());
    }
}
