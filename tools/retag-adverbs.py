#!/usr/bin/env python3
"""Corrects jieba's part-of-speech tag `d` (adverb) in src/text/jieba_small.txt where CC-CEDICT
shows the word is not an adverb: jieba tags many verbs and nouns `d` (首相 "prime minister",
反对 "to oppose", 首都 "capital", 同意 "to agree"), and the engine drops function words from
questions. A word of two or more characters keeps `d` when any of its glosses reads as an
adverb (an -ly word, or an adverb or preposition first: "already", "in advance", "from
childhood") or it has no gloss; otherwise it becomes `v` (a gloss "to <verb>") or `n`.

usage (after tools/jieba-small.py):
  awk 'length($1) > 1 && $3 == "d" {print $1}' src/text/jieba_small.txt \\
    | cargo run --release --example glosses > /tmp/glosses.txt
  python3 tools/retag-adverbs.py /tmp/glosses.txt
"""
import re
import sys

ADVERBS = set("""already together very always still again also even just often sometimes soon
never ever yet once finally almost perhaps maybe rather quite too all simply not hardly no more
most less least much so thus therefore hence however instead only merely nearly about
approximately entirely completely totally fully certainly surely indeed really truly actually
hasn't haven't didn't don't doesn't isn't won't cannot can't unable must should would will may
might can could immediately gradually suddenly forever here there now then first at when where
how why whatever whenever each every both""".split())
PREPOSITIONS = set("""in from on at by before after along with without within through throughout
since until till upon over under across against toward towards for as like into out up down off
via per beyond""".split())
ARTICLES = {"the", "a", "an", "one's", "some", "this", "that"}


def adverbial(gloss):
    words = re.findall(r"[A-Za-z']+", re.sub(r"\(.*?\)", "", gloss))
    if not words:
        return False
    first = words[0].lower()
    return (
        any(w.endswith("ly") and len(w) > 4 for w in words)
        or first in ADVERBS
        or first in PREPOSITIONS
    )


def new_tag(glosses):
    if not glosses or any(adverbial(g) for g in glosses):
        return "d"
    verb = any(
        len(g.split()) > 1 and g.split()[0] == "to" and g.split()[1].lower() not in ARTICLES
        for g in glosses
    )
    return "v" if verb else "n"


glosses = {}
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        word, _, text = line.rstrip("\n").partition("\t")
        glosses[word] = [g.strip() for g in text.split("|") if g.strip()]

path = "src/text/jieba_small.txt"
with open(path, encoding="utf-8") as f:
    lines = f.read().splitlines()
changed = 0
out = []
for line in lines:
    parts = line.split()
    if len(parts) == 3 and parts[2] == "d" and len(parts[0]) > 1 and parts[0] in glosses:
        tag = new_tag(glosses[parts[0]])
        if tag != "d":
            parts[2] = tag
            changed += 1
            line = " ".join(parts)
    out.append(line)
with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(out) + "\n")
print(f"retagged {changed} words", file=sys.stderr)
