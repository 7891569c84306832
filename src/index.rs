//! The search index: tantivy schema, the jieba word and character n-gram analyzers
//! registered by name, the documents an article becomes (its sentences, and the article
//! itself stored for quoting), searching (small indexes from postings held in memory,
//! `index/memory.rs`), substring lookups, and one long-lived reader.

use std::collections::BTreeMap;
use std::sync::Arc;

use jieba_rs::Jieba;
use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::query::{BooleanQuery, BoostQuery, EnableScoring, Occur, Query, TermQuery, Weight};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{
    doc, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, SegmentReader,
    TantivyDocument, Term, TERMINATED,
};

use crate::corpus::Block;
use crate::error::{Error, Result};
use crate::text;

mod memory;
pub(crate) mod vectors;

/// Name of the jieba word analyzer in tantivy's tokenizer registry.
pub const WORDS_TOKENIZER: &str = "zh_words";
/// Name of the character n-gram analyzer in tantivy's tokenizer registry.
pub const GRAMS_TOKENIZER: &str = "zh_grams";

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

/// A hit: which sentence of which article, and its BM25 score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Key of the article (see [`article_key`]).
    pub article: u64,
    /// Index into the article's blocks.
    pub block: usize,
    /// Index into the block's sentences.
    pub sentence: usize,
    /// Combined BM25 score.
    pub score: f32,
}

/// What a ranking is asked: the question's weighted terms, and its vector when the
/// embedding model is on.
pub struct Probe<'a> {
    /// The question's terms, normalised and weighted.
    pub terms: &'a [QueryTerm],
    /// The question's unit vector.
    pub vector: Option<&'a [f32]>,
}

/// One way of ranking the corpus's sentences for a question, each with its own score: words
/// ([`SearchIndex`], tantivy) and meaning ([`vectors::Dense`]). Retrieval fuses them; another
/// backend (a distributed one) would plug in here.
pub trait Ranking: Send + Sync {
    /// The best `limit` sentences, best first.
    fn rank(&self, probe: &Probe, limit: usize) -> Result<Vec<Hit>>;
}

impl Ranking for SearchIndex {
    /// By BM25 over words, character n-grams and the paragraph's words.
    fn rank(&self, probe: &Probe, limit: usize) -> Result<Vec<Hit>> {
        self.search(probe.terms, limit)
    }
}

#[derive(Clone, Copy)]
struct Fields {
    /// Key of the article a sentence belongs to (on every document of the article).
    article: Field,
    /// Key of the article, only on the document that stores the article itself.
    stored_article: Field,
    block: Field,
    sentence: Field,
    /// The normalised sentence, stored for substring checks.
    norm: Field,
    words: Field,
    grams: Field,
    context: Field,
    /// The article's blocks as JSON (on the article's own document).
    blocks: Field,
    /// Dictionary headwords written in the article (on the article's own document).
    vocab: Field,
}

/// How much a match in the sentence's paragraph counts relative to one in the sentence.
const CONTEXT_BOOST: f32 = 0.4;
/// How much character n-grams count relative to whole words.
const GRAMS_BOOST: f32 = 0.3;
/// Tokens found in more than this share of the documents are left out of the query: they
/// barely tell sentences apart and cost the most to score.
const COMMON_SHARE: f64 = 0.05;
/// ... in corpora of more than this many documents (in small ones every token counts).
const COMMON_MIN: u64 = 10_000;
/// Analysed query texts remembered per reader.
const ANALYZED_TEXTS: usize = 50_000;
/// Most documents read to confirm that a string occurs when its n-grams all do.
const OCCURS_CHECKS: usize = 64;

/// A stable 64-bit key for an article id (xxh3).
pub fn article_key(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// A tantivy index (on disk, or in memory for tests) over the corpus's sentences (words,
/// character n-grams, paragraph words) and its stored articles, with a long-lived reader.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Per segment: the article, block and sentence columns (opened once).
    columns: Vec<[Column<u64>; 3]>,
    /// Output of the word and the n-gram analyzer by text.
    tokens: [quick_cache::sync::Cache<String, Arc<Vec<String>>>; 2],
    /// The scored fields' postings, when the index is small ([`COMMON_MIN`] documents or
    /// fewer): scoring them directly is several times faster than a tantivy query.
    memory: Option<memory::Memory>,
}

/// Adds and removes articles; changes become visible together at [`Writer::commit`].
pub struct Writer {
    writer: IndexWriter,
    fields: Fields,
}

impl Writer {
    /// Removes every document (before a rebuild from scratch).
    pub fn remove_all(&mut self) -> Result<()> {
        self.writer.delete_all_documents()?;
        Ok(())
    }

    /// Removes every document of the article with this key.
    pub fn remove(&mut self, key: u64) {
        self.writer
            .delete_term(Term::from_field_u64(self.fields.article, key));
    }

    /// Adds an article: one document per body sentence (with its paragraph as context) and
    /// one storing its blocks.
    /// `headwords` are the dictionary words written in it (see [`SearchIndex::vocabulary`]).
    pub fn add(&mut self, key: u64, blocks: &[Block], headwords: &[&str]) -> Result<()> {
        let f = self.fields;
        for (b, block) in blocks.iter().enumerate() {
            for (s, sentence) in block.sentences.iter().enumerate() {
                self.writer.add_document(doc!(
                    f.article => key,
                    f.block => b as u64,
                    f.sentence => s as u64,
                    f.norm => text::normalize(sentence),
                    f.words => sentence.as_str(),
                    f.grams => sentence.as_str(),
                    f.context => block.text.as_str(),
                ))?;
            }
        }
        let json = serde_json::to_string(blocks).expect("blocks serialise");
        let mut article = doc!(
            f.article => key,
            f.stored_article => key,
            f.blocks => json,
        );
        for word in headwords {
            article.add_text(f.vocab, word);
        }
        self.writer.add_document(article)?;
        Ok(())
    }

    /// Makes every change since the last commit visible at once, with `payload` (the
    /// catalog) recorded in the same atomic step. Until then readers see the previous state,
    /// and a crash loses only the uncommitted changes.
    pub fn commit(mut self, payload: &str) -> Result<()> {
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(payload);
        prepared.commit()?;
        // A small index answers faster as one segment (each segment costs its own scorers).
        let segments = self.writer.index().searchable_segment_metas()?;
        let docs: u32 = segments.iter().map(|s| s.num_docs()).sum();
        if segments.len() > 1 && u64::from(docs) <= COMMON_MIN {
            let ids: Vec<_> = segments.iter().map(|s| s.id()).collect();
            self.writer.merge(&ids).wait()?;
        }
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}

/// The index's files (on disk, or in memory for tests), before a reader is opened on them:
/// what the engine and ingestion hold, without seeing tantivy.
#[derive(Clone)]
pub struct Handle(Index);

impl Handle {
    /// An empty index in memory (tests, benches, `Engine::from_dir`).
    pub fn in_memory(jieba: Arc<Jieba>) -> Result<Handle> {
        let index = Index::create_in_ram(schema().0);
        register_tokenizers(&index, jieba);
        Ok(Handle(index))
    }

    /// The index in `dir`, created empty when there is none yet. Register the analyzers
    /// ([`Handle::register`]) before reading or writing it.
    pub fn on_disk(dir: &std::path::Path) -> Result<Handle> {
        std::fs::create_dir_all(dir).map_err(|cause| Error::Io {
            action: "create the index folder",
            path: dir.to_path_buf(),
            cause,
            fix: crate::error::FIX_INDEX_DIR,
        })?;
        let failed = |e: &dyn std::fmt::Display| Error::IndexDir {
            path: dir.to_path_buf(),
            message: format!("{e} (set `index_dir` or SUMMIT_QA_INDEX_DIR to a writable folder)"),
        };
        let directory =
            IndexDirectory(tantivy::directory::MmapDirectory::open(dir).map_err(|e| failed(&e))?);
        match Index::open_or_create(directory.clone(), schema().0) {
            // Another process created it between our check and our create: open theirs.
            Err(tantivy::TantivyError::IndexAlreadyExists) => {
                Index::open(directory).map(Handle).map_err(|e| failed(&e))
            }
            other => other.map(Handle).map_err(|e| failed(&e)),
        }
    }

    /// Registers the analyzers (jieba with this dictionary) on `index`.
    pub fn register(&self, jieba: Arc<Jieba>) {
        register_tokenizers(&self.0, jieba);
    }

    /// The stamp of the last commit (changes with every commit).
    pub fn generation(&self) -> Result<u64> {
        Ok(self.0.load_metas()?.opstamp)
    }

    /// A writer for `index`; `None` while another process holds the index's writer lock.
    pub fn writer(&self) -> Result<Option<Writer>> {
        let index = &self.0;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        match index.writer_with_num_threads(threads, threads * 60_000_000) {
            Ok(writer) => Ok(Some(Writer {
                writer,
                fields: schema().1,
            })),
            Err(tantivy::TantivyError::LockFailure(LockError::LockBusy, _)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The catalog recorded with the last commit of `index` (`None` before the first).
    pub fn payload(&self) -> Result<Option<String>> {
        Ok(self.0.load_metas()?.payload)
    }

    /// Opens a reader on the last commit of `index`, with that commit's payload and stamp.
    pub fn open(&self) -> Result<(SearchIndex, Option<String>, u64)> {
        let index = &self.0;
        loop {
            let before = index.load_metas()?;
            let reader: IndexReader = index
                .reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()?;
            let after = index.load_metas()?;
            // A commit landing between the two reads could pair a reader with another
            // commit's payload: read again.
            if before.opstamp == after.opstamp {
                let (_, fields) = schema();
                let columns = reader
                    .searcher()
                    .segment_readers()
                    .iter()
                    .map(|segment| {
                        let column = |name: &str| segment.fast_fields().u64(name);
                        Ok([column("article")?, column("block")?, column("sentence")?])
                    })
                    .collect::<Result<_>>()?;
                let searcher = reader.searcher();
                let size: u64 = searcher
                    .segment_readers()
                    .iter()
                    .map(|s| u64::from(s.max_doc()))
                    .sum();
                let memory = if size <= COMMON_MIN {
                    Some(memory::Memory::load(
                        &searcher,
                        &[fields.words, fields.grams, fields.context],
                    )?)
                } else {
                    None
                };
                let opened = SearchIndex {
                    index: index.clone(),
                    reader,
                    fields,
                    columns,
                    tokens: [
                        quick_cache::sync::Cache::new(ANALYZED_TEXTS),
                        quick_cache::sync::Cache::new(ANALYZED_TEXTS),
                    ],
                    memory,
                };
                return Ok((opened, after.payload, after.opstamp));
            }
        }
    }
}

impl SearchIndex {
    /// The best `limit` sentences for the weighted terms, best first.
    pub fn search(&self, terms: &[QueryTerm], limit: usize) -> Result<Vec<Hit>> {
        let top = match &self.memory {
            Some(memory) => {
                let mut clauses = Vec::new();
                self.each_clause(terms, |field, token, boost| {
                    if let Some(id) = memory.id(field, token) {
                        clauses.push((id, boost));
                    }
                });
                memory.search(clauses, limit)
            }
            None => self.search_tantivy(self.clauses(terms), limit)?,
        };
        Ok(self.hits(top))
    }

    /// Where each scored document is.
    fn hits(&self, top: Vec<(f32, tantivy::DocAddress)>) -> Vec<Hit> {
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let [article, block, sentence] = &self.columns[address.segment_ord as usize];
            let value = |column: &Column<u64>| column.first(address.doc_id).unwrap_or_default();
            hits.push(Hit {
                article: value(article),
                block: value(block) as usize,
                sentence: value(sentence) as usize,
                score,
            });
        }
        hits
    }

    /// The blocks of the article with this key, as stored; `None` when it is not indexed.
    pub fn article(&self, key: u64) -> Result<Option<Vec<Block>>> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_u64(self.fields.stored_article, key),
            IndexRecordOption::Basic,
        );
        let Some(address) = first_alive(&searcher, &query, |_| true)? else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(address)?;
        let json = doc
            .get_first(self.fields.blocks)
            .and_then(|v| v.as_str())
            .unwrap_or("[]");
        let blocks = serde_json::from_str(json).map_err(|e| Error::IndexDir {
            path: "index".into(),
            message: format!("a stored article cannot be read ({e}): run `summit-qa index`"),
        })?;
        Ok(Some(blocks))
    }

    /// Share of the indexed sentences that have every word of `word` (0 when none does, when
    /// `word` has no word at all, or when the index is empty).
    pub fn share(&self, word: &str) -> Result<f32> {
        let searcher = self.reader.searcher();
        let all = searcher.num_docs();
        let tokens = self.analyze(WORDS_TOKENIZER, word);
        let mut least = if tokens.is_empty() { 0 } else { all };
        for token in tokens.iter() {
            let term = Term::from_field_text(self.fields.words, token);
            least = least.min(searcher.doc_freq(&term)?);
        }
        Ok(least as f32 / all.max(1) as f32)
    }

    /// True when a normalised sentence of the corpus contains `needle`.
    pub fn occurs(&self, needle: &str) -> Result<bool> {
        if needle.is_empty() || needle.contains('\n') {
            return Ok(false);
        }
        let searcher = self.reader.searcher();
        let f = self.fields;
        let word = TermQuery::new(
            Term::from_field_text(f.words, needle),
            IndexRecordOption::Basic,
        );
        if first_alive(&searcher, &word, |_| true)?.is_some() {
            return Ok(true);
        }
        let grams = self.analyze(GRAMS_TOKENIZER, needle);
        if grams.is_empty() {
            return Ok(false);
        }
        let mut musts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for gram in grams.iter() {
            let term = Term::from_field_text(f.grams, gram);
            if searcher.doc_freq(&term)? == 0 {
                return Ok(false);
            }
            musts.push((
                Occur::Must,
                Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
            ));
        }
        let all = BooleanQuery::new(musts);
        let mut checked = 0;
        let found = first_alive(&searcher, &all, |address| {
            checked += 1;
            if checked > OCCURS_CHECKS {
                return true;
            }
            searcher
                .doc::<TantivyDocument>(address)
                .ok()
                .and_then(|d| {
                    d.get_first(f.norm)
                        .and_then(|v| v.as_str())
                        .map(|s| s.contains(needle))
                })
                .unwrap_or(false)
        })?;
        Ok(found.is_some() && checked <= OCCURS_CHECKS)
    }

    /// The corpus's vocabulary, each once: every word the word analyzer produced and every
    /// dictionary headword written in an article.
    pub fn vocabulary(&self) -> Result<Vec<String>> {
        let searcher = self.reader.searcher();
        let mut words: Vec<String> = Vec::new();
        for segment in searcher.segment_readers() {
            for field in [self.fields.context, self.fields.vocab] {
                memory::each_token(&*segment.inverted_index(field)?, |word, _| {
                    words.push(word.to_string());
                    Ok(())
                })?;
            }
        }
        words.sort_unstable();
        words.dedup();
        Ok(words)
    }

    /// The best `limit` documents for the clauses, by a tantivy query.
    fn search_tantivy(
        &self,
        clauses: BTreeMap<(u32, String), f32>,
        limit: usize,
    ) -> Result<Vec<(f32, tantivy::DocAddress)>> {
        let searcher = self.reader.searcher();
        let docs = searcher.num_docs();
        let limit_docs = (docs as f64 * COMMON_SHARE) as u64;
        let mut query: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for ((field, token), boost) in clauses {
            let term = Term::from_field_text(Field::from_field_id(field), &token);
            if docs > COMMON_MIN && searcher.doc_freq(&term)? > limit_docs {
                continue;
            }
            query.push((Occur::Should, clause(term, boost)));
        }
        let query = BooleanQuery::new(query);
        Ok(searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?)
    }

    /// One boosted (field, token) clause per analyzer token of every term, keeping the
    /// largest boost of a token that several terms share (each clause costs a term lookup).
    /// A BTreeMap keeps the clause order (and so the float sums) the same on every run.
    fn clauses(&self, terms: &[QueryTerm]) -> BTreeMap<(u32, String), f32> {
        let mut boosts: BTreeMap<(u32, String), f32> = BTreeMap::new();
        self.each_clause(terms, |field, token, boost| {
            let b = boosts
                .entry((field.field_id(), token.to_string()))
                .or_insert(0.0);
            *b = b.max(boost);
        });
        boosts
    }

    /// Calls `visit` with each (field, token, boost) the terms make: words (in the sentence
    /// and its paragraph), and bigrams (single characters too for words the corpus lacks).
    fn each_clause(&self, terms: &[QueryTerm], mut visit: impl FnMut(Field, &str, f32)) {
        let f = self.fields;
        for term in terms {
            for word in self.analyze(WORDS_TOKENIZER, &term.text).iter() {
                visit(f.context, word, term.weight * CONTEXT_BOOST);
                visit(f.words, word, term.weight);
            }
            for gram in self.analyze(GRAMS_TOKENIZER, &term.text).iter() {
                if term.whole_word && gram.chars().count() == 1 && term.text.chars().count() > 1 {
                    continue;
                }
                visit(f.grams, gram, term.weight * GRAMS_BOOST);
            }
        }
    }

    /// Runs one of our two analyzers over `text`, as indexing does (remembered: question words
    /// repeat).
    fn analyze(&self, tokenizer: &str, text: &str) -> Arc<Vec<String>> {
        let cache = &self.tokens[usize::from(tokenizer == GRAMS_TOKENIZER)];
        if let Some(known) = cache.get(text) {
            return known;
        }
        let Some(mut analyzer) = self.index.tokenizers().get(tokenizer) else {
            return Arc::new(Vec::new());
        };
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        let out = Arc::new(out);
        cache.insert(text.to_string(), out.clone());
        out
    }
}

/// The index folder on disk, readable when read-only (a container's baked-in index): tantivy
/// takes a lock file while reading the commit list, to keep a writer's clean-up away; in a
/// folder nobody can write, there is no writer to keep away, so that lock is skipped.
#[derive(Debug, Clone)]
struct IndexDirectory(tantivy::directory::MmapDirectory);

impl tantivy::Directory for IndexDirectory {
    fn get_file_handle(
        &self,
        path: &std::path::Path,
    ) -> std::result::Result<Arc<dyn tantivy::directory::FileHandle>, OpenReadError> {
        self.0.get_file_handle(path)
    }
    fn delete(&self, path: &std::path::Path) -> std::result::Result<(), DeleteError> {
        self.0.delete(path)
    }
    fn exists(&self, path: &std::path::Path) -> std::result::Result<bool, OpenReadError> {
        self.0.exists(path)
    }
    fn open_write(
        &self,
        path: &std::path::Path,
    ) -> std::result::Result<tantivy::directory::WritePtr, OpenWriteError> {
        self.0.open_write(path)
    }
    fn atomic_read(&self, path: &std::path::Path) -> std::result::Result<Vec<u8>, OpenReadError> {
        self.0.atomic_read(path)
    }
    fn atomic_write(&self, path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
        self.0.atomic_write(path, data)
    }
    fn sync_directory(&self) -> std::io::Result<()> {
        self.0.sync_directory()
    }
    fn acquire_lock(
        &self,
        lock: &tantivy::directory::Lock,
    ) -> std::result::Result<tantivy::directory::DirectoryLock, LockError> {
        match self.0.acquire_lock(lock) {
            Err(LockError::IoError(e))
                if lock.filepath == tantivy::directory::META_LOCK.filepath
                    && e.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                Ok(tantivy::directory::DirectoryLock::from(Box::new(())))
            }
            other => other,
        }
    }
    fn watch(
        &self,
        callback: tantivy::directory::WatchCallback,
    ) -> tantivy::Result<tantivy::directory::WatchHandle> {
        self.0.watch(callback)
    }
}

/// The first live document matching `query` that `accept` takes.
fn first_alive(
    searcher: &Searcher,
    query: &dyn Query,
    mut accept: impl FnMut(tantivy::DocAddress) -> bool,
) -> Result<Option<tantivy::DocAddress>> {
    let weight: Box<dyn Weight> = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        if let Some(doc) = first_in(&*weight, segment, |doc| {
            accept(tantivy::DocAddress::new(ord as u32, doc))
        })? {
            return Ok(Some(tantivy::DocAddress::new(ord as u32, doc)));
        }
    }
    Ok(None)
}

fn first_in(
    weight: &dyn Weight,
    segment: &SegmentReader,
    mut accept: impl FnMut(u32) -> bool,
) -> Result<Option<u32>> {
    let mut scorer = weight.scorer(segment, 1.0)?;
    let mut doc = scorer.doc();
    while doc != TERMINATED {
        if !segment.is_deleted(doc) && accept(doc) {
            return Ok(Some(doc));
        }
        doc = scorer.advance();
    }
    Ok(None)
}

fn clause(term: Term, boost: f32) -> Box<dyn Query> {
    let term = TermQuery::new(term, IndexRecordOption::WithFreqs);
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
        article: builder.add_u64_field("article", INDEXED | FAST),
        stored_article: builder.add_u64_field("stored_article", INDEXED),
        block: builder.add_u64_field("block", FAST),
        sentence: builder.add_u64_field("sentence", FAST),
        norm: builder.add_text_field("norm", STORED),
        words: builder.add_text_field("words", text(WORDS_TOKENIZER)),
        grams: builder.add_text_field("grams", text(GRAMS_TOKENIZER)),
        context: builder.add_text_field("context", text(WORDS_TOKENIZER)),
        blocks: builder.add_text_field("blocks", STORED),
        vocab: builder.add_text_field(
            "vocab",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic),
            ),
        ),
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
    use crate::corpus::parse;
    use std::collections::HashMap;

    fn term(t: &str) -> QueryTerm {
        QueryTerm {
            text: t.into(),
            weight: 1.0,
            whole_word: false,
        }
    }

    fn index_of(articles: &[&str]) -> SearchIndex {
        let index = Handle::in_memory(crate::text::load_jieba([])).unwrap();
        let mut writer = index.writer().unwrap().unwrap();
        for (i, text) in articles.iter().enumerate() {
            writer.add(i as u64, &parse(text), &[]).unwrap();
        }
        writer.commit("{}").unwrap();
        index.open().unwrap().0
    }

    #[test]
    fn finds_traditional_text_with_simplified_terms_and_partial_words() {
        let index = index_of(&["高市向特朗普贈送了高爾夫球桿。天氣很好。"]);
        let hits = index.search(&[term("送给"), term("高尔夫")], 5).unwrap();
        assert_eq!(
            (hits[0].article, hits[0].block, hits[0].sentence),
            (0, 0, 0)
        );
        assert!(index.search(&[term("巴西")], 5).unwrap().is_empty());
        assert!(index.search(&[], 5).unwrap().is_empty());
    }

    #[test]
    fn occurs_finds_substrings_of_sentences_only() {
        let index = index_of(&[
            "日本首相高市早苗会见了美国总统。",
            "第二篇文章谈造船业合作。",
        ]);
        for present in ["日本首相", "首相高市", "高", "造船业合作", "总统"] {
            assert!(index.occurs(present).unwrap(), "{present}");
        }
        // Every bigram occurs, but never in this order within one sentence.
        for absent in ["美国首相", "首相日本", "巴西", "", "总统。第二"] {
            assert!(!index.occurs(absent).unwrap(), "{absent}");
        }
    }

    /// The in-memory scorer gives tantivy's hits and scores (up to float rounding and the
    /// order of equal scores), on the shipped articles over two segments with a deletion.
    #[test]
    fn memory_scoring_equals_tantivy() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        let articles = crate::corpus::load(&dir).unwrap();
        let jieba = crate::text::load_jieba([]);
        let index = Handle::in_memory(jieba.clone()).unwrap();
        let mut writer = index.writer().unwrap().unwrap();
        writer.add(0, &articles[0].blocks, &[]).unwrap();
        writer
            .add(9, &parse("造船业合作。稀土协议在东京签署。"), &[])
            .unwrap();
        // Tantivy's own commits: `Writer::commit` would merge the segments.
        writer.writer.commit().unwrap();
        writer.remove(9);
        writer.add(1, &articles[1].blocks, &[]).unwrap();
        writer.writer.commit().unwrap();
        drop(writer);
        let opened = index.open().unwrap().0;
        assert!(opened.memory.is_some(), "a small index is held in memory");
        assert!(opened.reader.searcher().segment_readers().len() > 1);

        let words: Vec<String> = articles
            .iter()
            .flat_map(|a| a.blocks.iter())
            .flat_map(|b| {
                let normalized = crate::text::normalize(&b.text);
                crate::text::words(&jieba, &normalized)
                    .into_iter()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        // Queries: 1–8 terms, each a corpus word (or, sometimes, one the corpus lacks) with a
        // weight and whether it is matched as a whole word; and how many hits to keep.
        let term = (
            0..words.len() + words.len() / 9,
            1u8..=10,
            proptest::bool::ANY,
        );
        let query = (proptest::collection::vec(term, 1..=8), 0..4usize);
        let config = proptest::test_runner::Config::with_cases(300);
        let mut runner = proptest::test_runner::TestRunner::new(config);
        runner
            .run(&query, |(picked, limit)| {
                let terms: Vec<QueryTerm> = picked
                    .into_iter()
                    .map(|(word, weight, whole_word)| QueryTerm {
                        text: words
                            .get(word)
                            .map_or("巴西足球", String::as_str)
                            .to_string(),
                        weight: f32::from(weight) / 5.0,
                        whole_word,
                    })
                    .collect();
                let limit = [1, 5, 20, 60][limit];
                same_hits(&opened, &terms, limit);
                Ok(())
            })
            .unwrap();
    }

    /// Asserts that the in-memory search of `opened` gives tantivy's hits for `terms`.
    fn same_hits(opened: &SearchIndex, terms: &[QueryTerm], limit: usize) {
        let ours = opened.search(terms, limit).unwrap();
        let tantivy = |limit| {
            let top = opened.search_tantivy(opened.clauses(terms), limit);
            opened.hits(top.unwrap())
        };
        let theirs = tantivy(limit);
        let wider: HashMap<_, f32> = tantivy(limit + 40)
            .into_iter()
            .map(|h| ((h.article, h.block, h.sentence), h.score))
            .collect();
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-4 * a.abs().max(1.0);
        assert_eq!(ours.len(), theirs.len(), "{terms:?}");
        for (hit, theirs) in ours.iter().zip(&theirs) {
            assert!(
                close(hit.score, theirs.score),
                "{terms:?}: {ours:?} {theirs:?}"
            );
            let at = (hit.article, hit.block, hit.sentence);
            let tantivy_score = wider.get(&at).copied().unwrap_or(f32::NAN);
            assert!(close(hit.score, tantivy_score), "{terms:?}: {at:?}");
        }
    }

    #[test]
    fn removed_articles_disappear_and_stored_articles_round_trip() {
        let index = Handle::in_memory(crate::text::load_jieba([])).unwrap();
        let mut writer = index.writer().unwrap().unwrap();
        writer.add(7, &parse("稀土协议签署。"), &["稀土"]).unwrap();
        writer.add(8, &parse("造船业合作。"), &[]).unwrap();
        writer.commit("{}").unwrap();
        let mut writer = index.writer().unwrap().unwrap();
        writer.remove(7);
        writer.commit("{}").unwrap();
        let opened = index.open().unwrap().0;
        assert!(!opened.occurs("稀土").unwrap());
        assert!(opened.article(7).unwrap().is_none());
        assert_eq!(opened.article(8).unwrap().unwrap()[0].text, "造船业合作。");
    }
}
