"""The baseline a user would pick instead of summit-qa, measured side by side with it.

    python3 tools/baseline.py build CORPUS_DIR INDEX_DIR      # jieba + OpenCC + tantivy-py, BM25 on disk
    python3 tools/baseline.py query INDEX_DIR QUESTIONS.jsonl # cold open, per-question p50/p90
    python3 tools/baseline.py small CORPUS_DIR QUESTIONS.jsonl # jieba + rank_bm25 in memory

Needs: pip install tantivy jieba opencc-python-reimplemented rank_bm25 (a venv of its own).
Prints wall times, and peak RSS as reported by the OS.
"""
import json
import re
import resource
import statistics
import sys
import time
import tomllib
from pathlib import Path

import jieba
import opencc

jieba.setLogLevel(60)
T2S = opencc.OpenCC("t2s")
WORD = re.compile(r"[\w\u3400-\u9fff]+")


def words(text):
    return [w for w in jieba.cut(T2S.convert(text).lower()) if WORD.fullmatch(w)]


def paragraphs(corpus):
    meta = tomllib.loads((Path(corpus) / "articles.toml").read_text())
    for a in meta["article"]:
        text = (Path(corpus) / a["file"]).read_text()
        for n, line in enumerate(l.strip() for l in text.splitlines() if l.strip()):
            yield a["id"], n + 1, line


def questions(path):
    return [json.loads(l)["q"] for l in open(path) if l.strip()]


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(corpus, index_dir):
    import tantivy

    Path(index_dir).mkdir(parents=True, exist_ok=True)
    schema = tantivy.SchemaBuilder()
    schema.add_text_field("words", stored=False, tokenizer_name="whitespace")
    schema.add_text_field("id", stored=True)
    schema.add_integer_field("para", stored=True)
    index = tantivy.Index(schema.build(), path=index_dir)
    writer = index.writer(heap_size=200_000_000, num_threads=2)
    started = time.time()
    count = 0
    for article, para, line in paragraphs(corpus):
        writer.add_document(tantivy.Document(words=" ".join(words(line)), id=article, para=para))
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    print(f"build: {count} paragraphs in {time.time() - started:.1f} s, peak RSS {rss_mb():.0f} MB")


def query(index_dir, qfile):
    import tantivy

    started = time.time()
    index = tantivy.Index.open(index_dir)
    searcher = index.searcher()
    print(f"cold open: {time.time() - started:.2f} s")
    times = []
    for q in questions(qfile):
        t = time.perf_counter()
        terms = [tantivy.Query.term_query(index.schema, "words", w) for w in set(words(q))]
        if terms:
            query = tantivy.Query.boolean_query([(tantivy.Occur.Should, x) for x in terms])
            searcher.search(query, 20)
        times.append(time.perf_counter() - t)
    report(times)
    print(f"peak RSS {rss_mb():.0f} MB")


def small(corpus, qfile):
    from rank_bm25 import BM25Okapi

    docs = [words(line) for _, _, line in paragraphs(corpus)]
    bm25 = BM25Okapi(docs)
    times = []
    for _ in range(20):
        for q in questions(qfile):
            t = time.perf_counter()
            scores = bm25.get_scores(words(q))
            sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[:20]
            times.append(time.perf_counter() - t)
    report(times)


def report(times):
    times.sort()
    p50 = statistics.median(times) * 1e6
    p90 = times[int(len(times) * 0.9)] * 1e6
    print(f"per question: p50 {p50:.0f} µs, p90 {p90:.0f} µs, n {len(times)}")


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"build": build, "query": query, "small": small}[mode](*args)
