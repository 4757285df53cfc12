#!/usr/bin/env python3
"""Tokeniser throughput: Nalar's tokenisers against python3-sentencepiece (Google's C++ library
behind a Python call per text) in the same run, on the same texts, one thread each.

    /usr/bin/python3 bench/text_tokenizers.py build/tests/nalar_tokenize [REPEATS]

Texts: 5,000 sentences of 10-60 words cut from /usr/share/common-licenses. Nalar's time is
measured in-process (`nalar_tokenize --bench`: encode() per text, special tokens on), the
peer's around `encode` calls in a loop; the best of REPEATS runs is reported. WordPiece has no
installed C++ peer, so its row compares with the pure-Python BERT reference of the tests.
"""
import os
import random
import subprocess
import sys
import tempfile
import time

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "pipeline"))


def texts():
    words = []
    for name in ("GPL-3", "Apache-2.0", "MPL-2.0"):
        words += open("/usr/share/common-licenses/" + name, encoding="utf-8").read().split()
    rng = random.Random(0)
    out = []
    for _ in range(5000):
        i = rng.randrange(len(words))
        out.append(" ".join(words[i:i + rng.randint(10, 60)]))
    return out


def nalar_seconds(tool, kind, path, hexfile, repeats):
    import json
    best = None
    for _ in range(repeats):
        with open(hexfile) as f:
            r = subprocess.run([tool, kind, path, "--bench", "1"], stdin=f, capture_output=True,
                               text=True, check=True)
        s = json.loads(r.stdout)["seconds"]
        best = s if best is None else min(best, s)
    return best


def best_of(repeats, fn):
    best = None
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        s = time.perf_counter() - t
        best = s if best is None else min(best, s)
    return best


def main():
    tool = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    data = texts()
    mb = sum(len(t.encode()) for t in data) / 1e6
    with tempfile.NamedTemporaryFile("w", suffix=".hex", delete=False) as f:
        f.write("\n".join(t.encode().hex() for t in data) + "\n")
        hexfile = f.name
    rows = []
    try:
        for model in ("unigram_nfkc", "bpe_nfkc", "unigram_identity"):
            path = os.path.join(ROOT, "models", "text", model + ".model")
            sp = spm.SentencePieceProcessor(model_file=path)
            peer = best_of(repeats, lambda: [sp.encode(t, add_bos=True, add_eos=True)
                                             for t in data])
            ours = nalar_seconds(tool, "sentencepiece", path, hexfile, repeats)
            rows.append((model, "python3-sentencepiece", ours, peer))
        import bert_reference as ref  # noqa: E402 (the tests' BERT reference)
        vocab = ref.load_vocab(os.path.join(ROOT, "models", "text", "vocab.txt"))
        peer = best_of(1, lambda: [ref.ref_tokens(t, vocab, True) for t in data])
        ours = nalar_seconds(tool, "wordpiece", os.path.join(ROOT, "models", "text", "vocab.txt"),
                             hexfile, repeats)
        rows.append(("vocab.txt (wordpiece)", "pure-Python reference", ours, peer))
    finally:
        os.unlink(hexfile)
    print("%d texts, %.2f MB, best of %d" % (len(data), mb, repeats))
    print("| model | peer | Nalar MB/s | peer MB/s | Nalar time / peer time |")
    print("|---|---|---|---|---|")
    for model, peer_name, ours, peer in rows:
        print("| %s | %s | %.1f | %.1f | %.2f |" % (model, peer_name, mb / ours, mb / peer,
                                                   ours / peer))


if __name__ == "__main__":
    main()
