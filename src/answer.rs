//! Building the reply: the best 1–3 sentences, verbatim, each with its citation marker, then
//! the sources; the closest passages, shown as such, when the evidence is between; "not
//! stated" with what the articles do say when they cover the subject but not the detail
//! asked; a refusal when nothing is close; or a small-talk reply. Pure: knows no transport.

use crate::config::AnswerConfig;
use crate::corpus::{Article, Block, Script};
use crate::retrieve::decision::Verdict;
use crate::retrieve::{Retrieval, Scored, Shelf};
use crate::text::{Kind, Talk};

/// What kind of reply the engine gives to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Quoted sentences answer the question.
    Answer,
    /// No claim: the passages closest to the question, shown as such.
    Closest,
    /// The articles speak of the subject but never give the detail asked; the quotes are
    /// what they do say, as context.
    NotStated,
    /// The articles do not cover the question.
    Refused,
    /// Conversation (greeting, thanks, "who are you"): no article is quoted.
    SmallTalk(Talk),
}

impl Reply {
    /// The name used in the `ask --json` contract (`"reply"`).
    pub fn name(self) -> &'static str {
        match self {
            Reply::Answer => "answer",
            Reply::Closest => "closest",
            Reply::NotStated => "not_stated",
            Reply::Refused => "refused",
            Reply::SmallTalk(_) => "small_talk",
        }
    }
}

/// One sentence of an answer, quoted verbatim, with the number of its citation.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// The sentence in its original script.
    pub text: String,
    /// The `n` of the citation it comes from.
    pub citation: usize,
}

/// A cited passage: a body paragraph and who wrote it (`None` = unknown).
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    /// Marker number, from 1.
    pub n: usize,
    /// Article id.
    pub article: String,
    /// Author, if known.
    pub author: Option<String>,
    /// Outlet, if known.
    pub publisher: Option<String>,
    /// Publication date, if known.
    pub published: Option<String>,
    /// Our own label for the article, if any.
    pub label: Option<String>,
    /// The outlet's headline, if known.
    pub title: Option<String>,
    /// Where it was published, if known.
    pub url: Option<String>,
    /// ¶n: the n-th non-empty line of the article file.
    pub paragraph: usize,
    /// The whole paragraph, original script.
    pub text: String,
    /// The sentence of the paragraph that matched best.
    pub best_sentence: String,
    /// Retrieval score.
    pub score: f32,
}

/// The engine's reply to one question.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The question as answered (after truncation).
    pub question: String,
    /// Script of the question; labels follow it.
    pub script: Script,
    /// What kind of reply this is.
    pub reply: Reply,
    /// Quoted sentences, best first (for "not stated", what the articles do say); empty for
    /// a refusal or small talk.
    pub quotes: Vec<Quote>,
    /// Sources: the cited passages first, then further strong passages. Empty for a refusal
    /// or small talk.
    pub citations: Vec<Citation>,
    /// True when the question was cut to the configured length.
    pub truncated: bool,
    /// Share of the question's weighted terms found by the best passage (0–1).
    pub coverage: f32,
    /// Confidence that the most convincing passage answers the question (0–1); refused below
    /// the configured threshold.
    pub confidence: f32,
    /// How surely the passage most about the question's subject speaks of it, whether or not
    /// it gives the detail asked (0–1); "not stated" needs the configured threshold.
    pub about: f32,
    /// Further strong passages not listed in `citations`, best first (for "more sources").
    pub more: Vec<PassageRef>,
    /// What the articles are about (our labels of the first few), for a refusal.
    pub topics: Vec<String>,
    /// Fingerprint of the indexed corpus the answer came from.
    pub corpus: String,
    /// The answer decision's probabilities, P(the claim is right) and P(the articles speak of
    /// it); `None` when the reply was decided by the word evidence's thresholds.
    pub decided: Option<(f32, f32)>,
}

/// A body paragraph by position: index into the engine's articles and its ¶n. Stable while
/// the corpus is unchanged, so it can be carried in a button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassageRef {
    /// Index into the engine's articles.
    pub article: usize,
    /// ¶n of the paragraph.
    pub paragraph: usize,
}

impl Answer {
    /// A reply to conversation: no retrieval, no quotes.
    pub fn small_talk(question: &str, script: Script, talk: Talk) -> Answer {
        Answer {
            question: question.to_string(),
            script,
            reply: Reply::SmallTalk(talk),
            quotes: Vec::new(),
            citations: Vec::new(),
            truncated: false,
            coverage: 0.0,
            confidence: 0.0,
            about: 0.0,
            more: Vec::new(),
            topics: Vec::new(),
            corpus: String::new(),
            decided: None,
        }
    }

    /// True when the quotes answer the question.
    pub fn answered(&self) -> bool {
        self.reply == Reply::Answer
    }

    /// The answer text a person reads: the sentences with `[n]` markers; empty for a refusal.
    pub fn text(&self) -> String {
        self.quotes
            .iter()
            .map(|q| format!("{}[{}]", q.text, q.citation))
            .collect()
    }
}

/// A passage not quoted in the answer is still listed as a source when it scores at least
/// this share of the best one.
const RELATED_SHARE: f32 = 0.5;

/// Most passages shown as the closest ones.
const CLOSEST_PASSAGES: usize = 3;

/// Turns retrieval results into a reply under the configured limits: as the decision's
/// `verdict` says, or, without one, by the word evidence's thresholds
/// (`answer.min_confidence`, `answer.min_context`).
pub fn compose(
    question: &str,
    retrieval: &Retrieval,
    limits: &AnswerConfig,
    verdict: Option<Verdict>,
) -> Answer {
    let articles = &retrieval.articles;
    let mut answer = Answer {
        question: question.to_string(),
        script: retrieval.script,
        reply: Reply::Refused,
        quotes: Vec::new(),
        citations: Vec::new(),
        truncated: false,
        coverage: retrieval.hits.first().map_or(0.0, |h| h.coverage),
        confidence: retrieval
            .hits
            .iter()
            .map(|h| h.confidence)
            .fold(0.0, f32::max),
        about: retrieval.hits.iter().map(|h| h.about).fold(0.0, f32::max),
        more: Vec::new(),
        topics: Vec::new(),
        corpus: String::new(),
        decided: None,
    };
    let strong: Vec<&Scored> = match verdict {
        None => retrieval
            .hits
            .iter()
            .filter(|h| h.confidence >= limits.min_confidence)
            .collect(),
        // The decision judged the passages in the order of the ranking.
        Some(Verdict::Answer) => retrieval.hits.iter().collect(),
        Some(Verdict::Closest) => {
            closest(&mut answer, retrieval);
            return answer;
        }
        Some(Verdict::Refuse) => return answer,
    };
    let Some(best) = strong.first() else {
        if retrieval.asks_detail {
            not_stated(&mut answer, retrieval, limits);
        }
        return answer;
    };
    answer.reply = Reply::Answer;
    let mut length = 0;
    for hit in strong
        .iter()
        .take_while(|h| h.score >= best.score * limits.min_relative_score)
    {
        let sentence = sentence_of(articles, hit);
        let chars = sentence.chars().count();
        let fits = answer.quotes.is_empty() || length + chars <= limits.max_chars;
        if answer.quotes.len() == limits.max_sentences || !fits {
            continue;
        }
        if answer.quotes.iter().any(|q| q.text == sentence) {
            continue;
        }
        length += chars;
        quote(&mut answer, articles, hit);
    }
    if retrieval.kind == Kind::Topic {
        add_other_article(&mut answer, articles, &strong, best.score, limits);
    }
    let related: Vec<&Scored> = strong
        .iter()
        .copied()
        .filter(|h| h.score >= best.score * RELATED_SHARE)
        .collect();
    add_further_sources(
        &mut answer.citations,
        articles,
        &related,
        limits.max_sources,
    );
    answer.more = further_passages(&answer.citations, articles, &strong);
    answer
}

/// The closest passages, shown as such: the best sentence of each of the first
/// [`CLOSEST_PASSAGES`] paragraphs in the ranking, the last place going to another article's
/// best passage when all come from one and the other's scores at least [`RELATED_SHARE`] of
/// the best. (Whether they lack the detail asked is not known surely enough to say "not
/// stated": the reply says only that they may not answer.)
fn closest(answer: &mut Answer, retrieval: &Retrieval) {
    let hits = &retrieval.hits;
    let Some(best) = hits.first() else {
        return;
    };
    answer.reply = Reply::Closest;
    let mut chosen: Vec<&Scored> = Vec::new();
    for hit in hits {
        let same_paragraph =
            |c: &&Scored| c.at.article == hit.at.article && c.at.block == hit.at.block;
        if !chosen.iter().any(same_paragraph) {
            chosen.push(hit);
        }
        if chosen.len() == CLOSEST_PASSAGES {
            break;
        }
    }
    let one_article = chosen.iter().all(|h| h.at.article == best.at.article);
    let other = hits
        .iter()
        .find(|h| h.at.article != best.at.article && h.score >= best.score * RELATED_SHARE);
    if let (true, Some(other), CLOSEST_PASSAGES) = (one_article, other, chosen.len()) {
        chosen[CLOSEST_PASSAGES - 1] = other;
    }
    for hit in chosen {
        quote(answer, &retrieval.articles, hit);
    }
}

/// "Not stated": no sentence gives the detail asked, but the best-ranked one that surely
/// speaks of the question's subject is quoted as context (when there is one).
fn not_stated(answer: &mut Answer, retrieval: &Retrieval, limits: &AnswerConfig) {
    let Some(context) = retrieval
        .hits
        .iter()
        .find(|h| h.about >= limits.min_context)
    else {
        return;
    };
    answer.reply = Reply::NotStated;
    quote(answer, &retrieval.articles, context);
}

/// Most passages offered behind "more sources".
const MORE_PASSAGES: usize = 5;

/// Strong passages not cited yet, one per paragraph, best first.
fn further_passages(
    citations: &[Citation],
    articles: &Shelf,
    strong: &[&Scored],
) -> Vec<PassageRef> {
    let mut more: Vec<PassageRef> = Vec::new();
    for hit in strong {
        let article = &articles[hit.at.article];
        let passage = PassageRef {
            article: hit.at.article,
            paragraph: article.blocks[hit.at.block].paragraph,
        };
        let cited = citations
            .iter()
            .any(|c| c.article == article.meta.id && c.paragraph == passage.paragraph);
        if !cited && !more.contains(&passage) && more.len() < MORE_PASSAGES {
            more.push(passage);
        }
    }
    more
}

/// Body paragraph ¶`paragraph` of `article` as a citation numbered `n` (for passages shown
/// outside an answer), quoting its first sentence; `None` when there is no such paragraph.
pub fn citation_for(article: &Article, paragraph: usize, n: usize) -> Option<Citation> {
    let block = article.body().find(|b| b.paragraph == paragraph)?;
    let first = block.sentences.first().map_or("", String::as_str);
    Some(citation(article, block, n, first, 0.0))
}

/// Adds strong passages not yet cited, preferring an article not cited yet.
fn add_further_sources(
    citations: &mut Vec<Citation>,
    articles: &Shelf,
    strong: &[&Scored],
    max: usize,
) {
    let uncited_article = strong.iter().find(|h| {
        !citations
            .iter()
            .any(|c| c.article == articles[h.at.article].meta.id)
    });
    if let Some(hit) = uncited_article {
        if citations.len() < max {
            cite(citations, articles, hit);
        }
    }
    for hit in strong {
        if citations.len() >= max {
            break;
        }
        cite(citations, articles, hit);
    }
}

/// Quotes the hit's sentence with its citation marker.
fn quote(answer: &mut Answer, articles: &Shelf, hit: &Scored) {
    let n = cite(&mut answer.citations, articles, hit);
    answer.quotes.push(Quote {
        text: sentence_of(articles, hit).to_string(),
        citation: n,
    });
}

/// For a topic question: when every quote comes from one article and another article speaks
/// of the topic too (a strong hit scoring at least [`RELATED_SHARE`] of the best), quotes its
/// best sentence as well, if that sentence alone fits the length limit.
fn add_other_article(
    answer: &mut Answer,
    articles: &Shelf,
    strong: &[&Scored],
    best: f32,
    limits: &AnswerConfig,
) {
    let quoted: Vec<&str> = answer
        .quotes
        .iter()
        .filter_map(|q| answer.citations.iter().find(|c| c.n == q.citation))
        .map(|c| c.article.as_str())
        .collect();
    let other = strong.iter().find(|h| {
        h.score >= best * RELATED_SHARE
            && !quoted.contains(&articles[h.at.article].meta.id.as_str())
            && sentence_of(articles, h).chars().count() <= limits.max_chars
    });
    if let Some(hit) = other {
        if answer.quotes.len() < limits.max_sentences + 1 {
            quote(answer, articles, hit);
        }
    }
}

fn sentence_of<'a>(articles: &'a Shelf, hit: &Scored) -> &'a str {
    &articles[hit.at.article].blocks[hit.at.block].sentences[hit.at.sentence]
}

/// The citation number for the hit's paragraph, adding the citation if it is new.
fn cite(citations: &mut Vec<Citation>, articles: &Shelf, hit: &Scored) -> usize {
    let article = &articles[hit.at.article];
    let block = &article.blocks[hit.at.block];
    if let Some(c) = citations
        .iter()
        .find(|c| c.article == article.meta.id && c.paragraph == block.paragraph)
    {
        return c.n;
    }
    let n = citations.len() + 1;
    let best = &block.sentences[hit.at.sentence];
    citations.push(citation(article, block, n, best, hit.score));
    n
}

fn citation(article: &Article, block: &Block, n: usize, best: &str, score: f32) -> Citation {
    let meta = &article.meta;
    Citation {
        n,
        article: meta.id.clone(),
        author: meta.author.clone(),
        publisher: meta.publisher.clone(),
        published: meta.published.clone(),
        label: meta.label.clone(),
        title: meta.title.clone(),
        url: meta.url.clone(),
        paragraph: block.paragraph,
        text: block.text.clone(),
        best_sentence: best.to_string(),
        score,
    }
}
