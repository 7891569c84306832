//! A small index's postings held in memory and scored with tantivy's own BM25: the hits a
//! tantivy search gives, without building a weight and a scorer for every clause.

use std::collections::{BTreeMap, HashMap};

use tantivy::postings::Postings as _;
use tantivy::postings::TermInfo;
use tantivy::query::Bm25Weight;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocSet, InvertedIndexReader, Searcher, TERMINATED};

use crate::error::Result;

/// The scored fields' postings of an index small enough to hold in memory.
pub(super) struct Memory {
    /// Per field id: token → number of its postings list.
    ids: HashMap<u32, HashMap<String, u32>>,
    /// Postings lists in (field id, token) order: (document number, BM25 score before
    /// boosting) for each live document with the token.
    lists: Vec<Vec<(u32, f32)>>,
    /// Address of each document number (numbers follow tantivy's address order).
    docs: Vec<DocAddress>,
}

impl Memory {
    /// Copies the postings of `fields` from every segment of `searcher`.
    pub(super) fn load(searcher: &Searcher, fields: &[Field]) -> Result<Memory> {
        let mut docs = Vec::new();
        let mut offsets = Vec::new();
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            offsets.push(docs.len() as u32);
            docs.extend((0..segment.max_doc()).map(|d| DocAddress::new(ord as u32, d)));
        }
        let total_docs = docs.len() as u64;
        let (mut ids, mut lists) = (HashMap::new(), Vec::new());
        let mut fields = fields.to_vec();
        fields.sort_by_key(|f| f.field_id());
        for field in fields {
            // First the statistics (a token's document frequency counts every segment and
            // deleted documents, as tantivy counts it), then the postings, scored as read.
            let mut frequencies: BTreeMap<String, u64> = BTreeMap::new();
            let mut total_tokens = 0u64;
            for segment in searcher.segment_readers() {
                let inverted = segment.inverted_index(field)?;
                total_tokens += inverted.total_num_tokens();
                each_token(&inverted, |token, info| {
                    *frequencies.entry(token.to_string()).or_default() += u64::from(info.doc_freq);
                    Ok(())
                })?;
            }
            let average = total_tokens as f32 / total_docs.max(1) as f32;
            let mut field_ids = HashMap::with_capacity(frequencies.len());
            let mut weights = Vec::with_capacity(frequencies.len());
            for (token, doc_freq) in frequencies {
                field_ids.insert(token, (lists.len() + weights.len()) as u32);
                weights.push(Bm25Weight::for_one_term_without_explain(
                    doc_freq, total_docs, average,
                ));
            }
            let first = lists.len();
            lists.resize_with(first + weights.len(), Vec::new);
            for (segment, &offset) in searcher.segment_readers().iter().zip(&offsets) {
                let inverted = segment.inverted_index(field)?;
                let norms = segment.get_fieldnorms_reader(field)?;
                each_token(&inverted, |token, info| {
                    let id = field_ids[token] as usize;
                    let list = &mut lists[id];
                    list.reserve_exact(info.doc_freq as usize);
                    let mut postings = inverted
                        .read_postings_from_terminfo(info, IndexRecordOption::WithFreqs)
                        .map_err(tantivy::TantivyError::from)?;
                    let mut doc = postings.doc();
                    while doc != TERMINATED {
                        if !segment.is_deleted(doc) {
                            let score = weights[id - first]
                                .score(norms.fieldnorm_id(doc), postings.term_freq());
                            list.push((offset + doc, score));
                        }
                        doc = postings.advance();
                    }
                    Ok(())
                })?;
            }
            ids.insert(field.field_id(), field_ids);
        }
        Ok(Memory { ids, lists, docs })
    }

    /// The number of the postings list of `token` in `field`, if any document has it.
    pub(super) fn id(&self, field: Field, token: &str) -> Option<u32> {
        self.ids.get(&field.field_id())?.get(token).copied()
    }

    /// The best `limit` documents for the boosted postings lists (see [`Memory::id`]; a list
    /// given twice counts once, with its largest boost), best first; ties by address, as
    /// tantivy orders them.
    pub(super) fn search(
        &self,
        mut clauses: Vec<(u32, f32)>,
        limit: usize,
    ) -> Vec<(f32, DocAddress)> {
        clauses.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        clauses.dedup_by_key(|c| c.0);
        let mut scores = vec![0f32; self.docs.len()];
        let mut matched = vec![false; self.docs.len()];
        for (id, boost) in clauses {
            for &(doc, score) in &self.lists[id as usize] {
                scores[doc as usize] += score * boost;
                matched[doc as usize] = true;
            }
        }
        let mut top: Vec<(f32, u32)> = matched
            .iter()
            .enumerate()
            .filter(|(_, &m)| m)
            .map(|(doc, _)| (scores[doc], doc as u32))
            .collect();
        let order = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if top.len() > limit && limit > 0 {
            top.select_nth_unstable_by(limit - 1, order);
        }
        top.truncate(limit);
        top.sort_unstable_by(order);
        top.into_iter()
            .map(|(score, doc)| (score, self.docs[doc as usize]))
            .collect()
    }
}

/// Calls `visit` with each token of a segment's field and its term info.
pub(super) fn each_token(
    inverted: &InvertedIndexReader,
    mut visit: impl FnMut(&str, &TermInfo) -> Result<()>,
) -> Result<()> {
    let mut stream = inverted
        .terms()
        .stream()
        .map_err(tantivy::TantivyError::from)?;
    while stream.advance() {
        if let Ok(token) = std::str::from_utf8(stream.key()) {
            visit(token, stream.value())?;
        }
    }
    Ok(())
}
