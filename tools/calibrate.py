#!/usr/bin/env python3
"""Sweeps the answer decision (answer.min_confidence, answer.min_context) over question sets.

Runs `summit-qa ask --json --batch` twice per set: with min_confidence 0 (every question with a
passage answered: its confidence, "about" and citations) and with min_confidence 1 and
min_context 0 (which questions ask for a detail and can be "not stated"). For each threshold it
then replays the decision the engine makes:
  answer      confidence >= min_confidence
  not stated  below it, the question asks for a detail and about >= min_context
  refused     otherwise
and counts, over all questions of the sets:
  right       answered, and a gold passage is among the first three citations
  wrong       answered, but no gold passage in the first three, or a question the articles do
              not answer (kind "none" or "near_miss") answered
  not-stated  "not stated" (right for "none"/"near_miss", a miss for an answerable question)
  refused-ok  a "none"/"near_miss" question refused
  refused-bad an answerable question refused
Small talk (kind "small_talk") is replied to before retrieval and is left out.
Standard library only. Usage (from the repository root, after `cargo build --release`):
  python3 tools/calibrate.py [--bin target/release/summit-qa] [SET.jsonl ...]
Defaults to the dev sets and the honest-answer fixtures in tests/fixtures/.
"""
import argparse
import json
import os
import subprocess
import sys

DEFAULT_SETS = [
    "tests/fixtures/dev.jsonl",
    "tests/fixtures/dev_colloquial.jsonl",
    "tests/fixtures/near_miss.jsonl",
    "tests/fixtures/general.jsonl",
]
UNANSWERABLE = ("none", "near_miss")


def fold(text):
    """Lowercase without spaces; citations are compared with markers in their own script."""
    return text.replace(" ", "").lower()


def run(binary, path, **settings):
    env = dict(os.environ)
    for key, value in settings.items():
        env["SUMMIT_QA_ANSWER__" + key.upper()] = str(value)
    out = subprocess.run([binary, "ask", "--json", "--batch", path], env=env,
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def rows(binary, sets):
    """(unanswerable, gold hit in the first three, confidence, about, asks a detail) a question."""
    for path in sets:
        questions = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
        answers = run(binary, path, min_confidence=0)
        details = run(binary, path, min_confidence=1, min_context=0)
        for q, a, d in zip(questions, answers, details):
            if q["kind"] == "small_talk":
                continue
            marks = [fold(g["has"]) for g in q.get("gold", [])]
            hit = any(any(m in fold(c["text"]) for m in marks) for c in a["citations"][:3])
            yield (q["kind"] in UNANSWERABLE, hit, a.get("confidence", 0.0),
                   a.get("about", 0.0), d.get("reply") == "not_stated")


def table(data, answer_at, context_at):
    counts = dict.fromkeys(["right", "wrong", "not-stated", "refused-ok", "refused-bad"], 0)
    for unanswerable, hit, confidence, about, detail in data:
        if confidence >= answer_at:
            counts["right" if hit and not unanswerable else "wrong"] += 1
        elif detail and about >= context_at:
            counts["not-stated"] += 1
        else:
            counts["refused-ok" if unanswerable else "refused-bad"] += 1
    return counts


def show(title, name, values, decide):
    print(f"\n{title}")
    print(f"{name:>14} {'right':>6} {'wrong':>6} {'not-stated':>10} {'refused-ok':>10} "
          f"{'refused-bad':>11}")
    for v in values:
        c = decide(v)
        print(f"{v:>14.2f} {c['right']:>6} {c['wrong']:>6} {c['not-stated']:>10} "
              f"{c['refused-ok']:>10} {c['refused-bad']:>11}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/summit-qa")
    ap.add_argument("--min-confidence", type=float, default=0.5)
    ap.add_argument("--min-context", type=float, default=0.65)
    ap.add_argument("sets", nargs="*", default=DEFAULT_SETS)
    args = ap.parse_args()
    data = list(rows(args.bin, args.sets))
    print(f"{len(data)} questions from {', '.join(os.path.basename(s) for s in args.sets)}")
    show(f"answer.min_confidence (min_context {args.min_context})", "min_confidence",
         [s / 20 for s in range(4, 17)], lambda t: table(data, t, args.min_context))
    show(f"answer.min_context (min_confidence {args.min_confidence})", "min_context",
         [s / 20 for s in range(8, 19)], lambda t: table(data, args.min_confidence, t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
