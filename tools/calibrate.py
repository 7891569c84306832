#!/usr/bin/env python3
"""Sweeps the refusal threshold (answer.min_confidence) over the question sets.

Runs `summit-qa ask --json --batch` once per set with the threshold at 0 (nothing refused), then
for each threshold counts, over all questions of both sets:
  right    answered, and a gold passage is among the first three citations
  wrong    answered, but no gold passage in the first three (or an off-corpus question answered)
  missed   an answerable question refused
  refused  an off-corpus question (kind "none") refused
Standard library only. Usage (from the repository root, after `cargo build --release`):
  python3 tools/calibrate.py [--bin target/release/summit-qa] [SET.jsonl ...]
Defaults to tests/fixtures/dev.jsonl and tests/fixtures/dev_colloquial.jsonl.
"""
import argparse
import json
import os
import subprocess
import sys


def fold(text):
    """Lowercase without spaces; Traditional is folded to Simplified by the binary's citations
    being compared with markers in their own script, so no conversion is needed here."""
    return text.replace(" ", "").lower()


def run(binary, path):
    env = dict(os.environ, SUMMIT_QA_ANSWER__MIN_CONFIDENCE="0")
    out = subprocess.run([binary, "ask", "--json", "--batch", path], env=env,
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def rows(binary, sets):
    for path in sets:
        questions = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
        for q, a in zip(questions, run(binary, path)):
            marks = [fold(g["has"]) for g in q.get("gold", [])]
            hit = any(any(m in fold(c["text"]) for m in marks) for c in a["citations"][:3])
            yield q["kind"] == "none", hit, a.get("confidence", 0.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/summit-qa")
    ap.add_argument("sets", nargs="*",
                    default=["tests/fixtures/dev.jsonl", "tests/fixtures/dev_colloquial.jsonl"])
    args = ap.parse_args()
    data = list(rows(args.bin, args.sets))
    print(f"{'threshold':>9} {'right':>6} {'wrong':>6} {'missed':>6} {'refused':>7}")
    for step in range(0, 21):
        t = step / 20
        right = wrong = missed = refused = 0
        for none, hit, conf in data:
            answered = conf >= t
            if none:
                refused += not answered
                wrong += answered
            elif answered:
                right += hit
                wrong += not hit
            else:
                missed += 1
        print(f"{t:>9.2f} {right:>6} {wrong:>6} {missed:>6} {refused:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
