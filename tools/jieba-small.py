#!/usr/bin/env python3
"""Writes src/text/jieba_small.txt: the words of jieba-rs's default dictionary used at least
MIN_FREQ times (jieba's own frequencies), in jieba's `word freq tag` format.

The full dictionary (349k words) takes ~180 ms and ~35 MB to load on our 2-core machine; this
subset (~80k words) keeps segmentation of everyday text while meeting the start-up budget.
Words it lacks are still found: jieba's HMM segments unknown words, and retrieval also
matches character n-grams and substrings.

usage: python3 tools/jieba-small.py PATH/TO/jieba-rs-0.11.0/src/data/dict.txt
then correct jieba's adverb tags with tools/retag-adverbs.py (see its usage).
"""
import sys

MIN_FREQ = 20

src = sys.argv[1]
kept = 0
with open(src, encoding="utf-8") as f, open("src/text/jieba_small.txt", "w", encoding="utf-8") as out:
    for line in f:
        parts = line.split()
        if len(parts) >= 2 and (int(parts[1]) >= MIN_FREQ or len(parts[0]) == 1):
            out.write(line)
            kept += 1
print(f"kept {kept} words", file=sys.stderr)
