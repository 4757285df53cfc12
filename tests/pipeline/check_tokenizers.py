#!/usr/bin/env python3
"""text_tokenize: Nalar's tokenisers against references, through the `nalar_tokenize` tool.

  * SentencePiece: every model under models/text/*.model against python3-sentencepiece
    (Google's own implementation): ids must match exactly, on fixed texts (accents, CJK, emoji,
    extra spaces, empty text, ...) and on seeded random texts.
  * WordPiece: an independent Python implementation of BERT's tokenizer (below, written from
    the algorithm in google-research/bert tokenization.py) on the same texts, cased and
    uncased; hand-written expected tokens on a tiny vocabulary; pairs and truncation.
  * Errors: missing vocabulary, bad .model bytes, invalid UTF-8, too long with truncation off.

    check_tokenizers.py NALAR_TOKENIZE MODELS_TEXT_DIR
"""
import json
import os
import random
import subprocess
import sys
import tempfile

import sentencepiece as spm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_reference import load_vocab, ref_basic, ref_tokens  # noqa: E402

TOOL, MODELS = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run_tool(kind, path, items, *flags):
    """items: list of str/bytes or (text, pair) tuples -> list of dicts (one per item)."""
    lines = []
    for it in items:
        text, pair = it if isinstance(it, tuple) else (it, b"")
        enc = lambda s: (s.encode("utf-8") if isinstance(s, str) else s).hex()
        lines.append(enc(text) + ("\t" + enc(pair) if pair else ""))
    proc = subprocess.run([TOOL, kind, path, *flags], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=120)
    out = [json.loads(l) for l in proc.stdout.splitlines()]
    return proc.returncode, out


# ---- texts ---------------------------------------------------------------------------------

FIXED = [
    "", " ", "   \t\n  ", "Hello world", "  Hello    world  ", "hello\tworld\nagain\r\n",
    "Héllo wörld café naïve résumé Ångström Øre Łódź", "Crème brûlée, jalapeño, façade",
    "ΑΣ ΟΔΟΣ. Σ σ ς Ὀδυσσεύς", "Straße İstanbul ǅemal ŉ", "Москва Ёлка ПРИВЕТ мир",
    "中文字符 日本語のテキスト 한국어 텍스트", "ah博推zz", "emoji 😀👍🏽 🇫🇷 👨‍👩‍👧",
    "unaffable", "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "ﬁ ligature ① ½ ™ ㎏",
    "control\x00\x07chars\u200b\ufeff zero", "replacement \ufffd char", "\u2028line sep\u2029x",
    "non-breaking\u00a0space\u3000ideographic\u2003em", "e\u0301 a\u0300\u0316 o\u0316\u0300",
    'punctuation!!! (a) [b] {c} "q" \'x\' — – … «» ¿¡ §¶', "numbers 3.14159 1,000,000 42nd",
    "x" * 150, "supercalifragilisticexpialidocious" * 4, "license LICENSE License <mask> [NL]",
    "GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007", "a\u0000b", "\t", "..", "##",
    "You may obtain a copy of the License at http://www.apache.org/licenses/LICENSE-2.0",
    "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND", "\u0130I\u0131i",
    "the capital of France is [MASK].", "[CLS] a [SEP] b [SEP][PAD][PAD]", "[[MASK]]", "[mask] [MAS",
    "x[UNK]y", "[SEP",
]

POOL = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") * 3 +
        list(" " * 20) + list("\t\n\r.,;:!?'\"()[]{}-_/\\@#$%^&*+=<>|~`") +
        list("éèêëàâäôöùûüçñÅåØøßÆæœĳŁłŠšŽžİı") + list("ΑΒΓΔΣσςαβγδΩω") +
        list("АБВГДЁЖабвгдёж") + list("中文字日本語博推") + list("ひらがなカタカナ한국어") +
        ["😀", "👍", "🏽", "🇫", "🇷", "\u200d", "\u0301", "\u0300", "\u0316", "\u00a0", "\u3000",
         "\u2003", "\uff21", "\uff41", "\uff11", "\ufb01", "\u2460", "\u00bd", "\u2122", "\u200b",
         "\ufeff", "\ufffd", "\u2028", "\x00", "\x07", "\x1f", "\u0085", "\ue000", "\U0001d400"])


def random_texts(seed, n):
    rng = random.Random(seed)
    return ["".join(rng.choice(POOL) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def corpus_texts(seed, n):
    rng = random.Random(seed)
    words = open("/usr/share/common-licenses/GPL-3", encoding="utf-8").read().split()
    out = []
    for _ in range(n):
        i = rng.randrange(len(words))
        out.append(" ".join(words[i:i + rng.randint(1, 30)]))
    return out


TEXTS = FIXED + random_texts(1, 1200) + corpus_texts(2, 300)

# ---- SentencePiece -------------------------------------------------------------------------


def check_sentencepiece():
    models = sorted(f for f in os.listdir(MODELS) if f.endswith(".model"))
    check(len(models) >= 6, "expected the SentencePiece models under " + MODELS)
    for name in models:
        path = os.path.join(MODELS, name)
        sp = spm.SentencePieceProcessor(model_file=path)
        rc, got = run_tool("sentencepiece", path, TEXTS)
        check(rc == 0 and len(got) == len(TEXTS), "%s: tool ran (rc %d)" % (name, rc))
        bos = [sp.bos_id()] if sp.bos_id() >= 0 else []
        eos = [sp.eos_id()] if sp.eos_id() >= 0 else []
        bad = 0
        for text, g in zip(TEXTS, got):
            want = bos + sp.encode(text) + eos
            if g.get("ids") != want:
                bad += 1
                if bad <= 3:
                    check(False, "%s: %r -> %s, sentencepiece %s" % (name, text, g, want))
            elif g["mask"] != [1] * len(want) or g["type_ids"] != [0] * len(want):
                check(False, "%s: %r mask/type ids %s" % (name, text, g))
        check(bad == 0, "%s: %d of %d texts differ from sentencepiece" % (name, bad, len(TEXTS)))
        print("sentencepiece %-26s %d texts, %d differ" % (name, len(TEXTS), bad))
        # Without special tokens: exactly sp.encode.
        rc, got = run_tool("sentencepiece", path, FIXED, "--no-special-tokens")
        check(all(g.get("ids") == sp.encode(t) for t, g in zip(FIXED, got)),
              name + ": --no-special-tokens equals sp.encode")
        # Pairs: <s> A </s> B </s>, type ids 0 then 1.
        pairs = [(FIXED[3], FIXED[6]), (FIXED[11], FIXED[13])]
        rc, got = run_tool("sentencepiece", path, pairs)
        for (a, b), g in zip(pairs, got):
            ia, ib = sp.encode(a), sp.encode(b)
            want = bos + ia + eos + ib + eos
            check(g.get("ids") == want, "%s: pair %r" % (name, (a, b)))
            check(g.get("type_ids") == [0] * len(bos + ia + eos) + [1] * len(ib + eos),
                  "%s: pair type ids" % name)


# ---- WordPiece ---------------------------------------------------------------------------


def ref_assemble(a, b, max_length, specials=True):
    n_special = (3 if b is not None else 2) if specials else 0
    budget = max_length - n_special
    a = list(a)
    b = list(b) if b is not None else None
    if b is None:
        a = a[:budget]
    else:
        while len(a) + len(b) > budget:
            if len(a) > len(b):
                a.pop()
            else:
                b.pop()
    if not specials:
        return a + (b or []), [0] * len(a) + [1] * len(b or [])
    ids = ["[CLS]"] + a + ["[SEP]"]
    types = [0] * len(ids)
    if b is not None:
        ids += b + ["[SEP]"]
        types += [1] * (len(b) + 1)
    return ids, types


def check_wordpiece():
    path = os.path.join(MODELS, "vocab.txt")
    vocab = load_vocab(path)
    inv = {i: t for t, i in vocab.items()}
    for lower in (True, False):
        flags = [] if lower else ["--cased"]
        rc, got = run_tool("wordpiece", path, TEXTS, *flags)
        check(rc == 0 and len(got) == len(TEXTS), "wordpiece: tool ran")
        bad = 0
        for text, g in zip(TEXTS, got):
            want = ["[CLS]"] + ref_tokens(text, vocab, lower) + ["[SEP]"]
            have = [inv.get(i, "?") for i in g.get("ids", [])]
            if have != want:
                bad += 1
                if bad <= 3:
                    check(False, "wordpiece lower=%s: %r -> %s, reference %s" %
                          (lower, text, have, want))
        check(bad == 0, "wordpiece lower=%s: %d of %d differ" % (lower, bad, len(TEXTS)))
        print("wordpiece lowercase=%-5s %d texts, %d differ" % (lower, len(TEXTS), bad))

    # Pairs and truncation (longest first) against the reference assembly.
    rng = random.Random(3)
    cases = [(rng.choice(TEXTS), rng.choice(TEXTS)) for _ in range(100)]
    cases = [(a, b) for a, b in cases if b]
    for max_length in (8, 16, 40):
        rc, got = run_tool("wordpiece", path, cases, "--max-length", str(max_length))
        bad = 0
        for (a, b), g in zip(cases, got):
            ids, types = ref_assemble(ref_tokens(a, vocab, True), ref_tokens(b, vocab, True),
                                      max_length)
            if [inv.get(i) for i in g.get("ids", [])] != ids or g.get("type_ids") != types:
                bad += 1
        check(bad == 0, "wordpiece pairs max_length %d: %d differ" % (max_length, bad))
        singles = [a for a, _ in cases]
        rc, got = run_tool("wordpiece", path, singles, "--max-length", str(max_length))
        bad = sum([inv.get(i) for i in g.get("ids", [])] !=
                  ref_assemble(ref_tokens(a, vocab, True), None, max_length)[0]
                  for a, g in zip(singles, got))
        check(bad == 0, "wordpiece truncation max_length %d: %d differ" % (max_length, bad))
    print("wordpiece pairs/truncation checked on %d pairs" % len(cases))


def check_handwritten(tmp):
    # BERT's own unit-test vocabulary and cases.
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un", "runn",
              "##ing", ",", "low", "lowest", "##aff", "##able", "hello", "!", "how", "are",
              "you", "?", "ah", "\u535a", "\u63a8", "zz", "HeLLo", "cafe"]
    path = os.path.join(tmp, "vocab.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(tokens) + "\n")
    ids = {t: i for i, t in enumerate(tokens)}
    cases = [
        ("unwanted running", ["un", "##want", "##ed", "runn", "##ing"], []),
        ("unwantedX running", ["[UNK]", "runn", "##ing"], []),
        ("unaffable", ["un", "##aff", "##able"], []),
        (" \tHeLLo!how  \n Are yoU?  ", ["hello", "!", "how", "are", "you", "?"], []),
        ("ah\u535A\u63A8zz", ["ah", "\u535A", "\u63A8", "zz"], []),
        ("Caf\u00e9", ["cafe"], []),
        ("", [], []),
        ("wa[SEP]unwanted [UNK]", ["wa", "[SEP]", "un", "##want", "##ed", "[UNK]"], []),
        ("HeLLo!", ["HeLLo", "!"], ["--cased"]),
        ("Caf\u00e9", ["[UNK]"], ["--cased"]),
    ]
    for text, want, flags in cases:
        rc, got = run_tool("wordpiece", path, [text], *flags)
        have = got[0].get("ids") if got else None
        check(have == [ids[t] for t in ["[CLS]"] + want + ["[SEP]"]],
              "hand-written %r %s -> %s, expected %s" % (text, flags, have, want))
    rc, got = run_tool("wordpiece", path, [("unwanted", "running")], "--max-length", "5")
    check(got and got[0].get("ids") == [ids[t] for t in ["[CLS]", "un", "[SEP]", "runn",
                                                         "[SEP]"]]
          and got[0].get("type_ids") == [0, 0, 0, 1, 1], "hand-written pair truncation %s" % got)
    rc, got = run_tool("wordpiece", path, ["unwanted"], "--no-special-tokens")
    check(got and got[0].get("ids") == [ids["un"], ids["##want"], ids["##ed"]],
          "hand-written without special tokens %s" % got)
    print("hand-written WordPiece cases: %d" % (len(cases) + 2))


def check_unicode_exhaustive(tmp):
    """Every code point through the basic tokenizer, cased and uncased, against the reference.

    Each code point is its own word (space separated), and the vocabulary holds every character
    (and its "##" form where an expansion needs it), so a difference in cleaning, category,
    lowercasing or decomposition of any single code point shows up as a different id.
    """
    cps = [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = [" ".join(chr(c) for c in cps[i:i + 64]) for i in range(0, len(cps), 64)]
    # Final sigma and other context: Σ between every BMP letter-ish code point and a letter.
    sig = [c for c in range(0x20, 0x3400) if not 0xD800 <= c <= 0xDFFF]
    texts += [" ".join("A%s\u03a3%sb A%s\u03a3%s %s\u03a3" % ((chr(c),) * 5)
                       for c in sig[i:i + 32]) for i in range(0, len(sig), 32)]
    first, cont = set(), set()
    for lower in (True, False):
        for t in texts:
            for w in ref_basic(t, lower):
                first.add(w[0])
                cont.update(w[1:])
    path = os.path.join(tmp, "all_chars.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
        for c in sorted(first):
            f.write(c + "\n")
        for c in sorted(cont):
            f.write("##" + c + "\n")
    vocab = load_vocab(path)
    inv = {i: t for t, i in vocab.items()}
    for lower in (True, False):
        rc, got = run_tool("wordpiece", path, texts, *([] if lower else ["--cased"]))
        check(rc == 0 and len(got) == len(texts), "exhaustive: tool ran (rc %d)" % rc)
        bad = 0
        for t, g in zip(texts, got):
            want = ["[CLS]"] + ref_tokens(t, vocab, lower) + ["[SEP]"]
            have = [inv.get(i, "?") for i in g.get("ids", [])]
            if have != want:
                bad += 1
                if bad <= 3:
                    diff = [(h, w) for h, w in zip(have, want) if h != w][:5]
                    check(False, "exhaustive lower=%s: first differences %r" % (lower, diff))
        check(bad == 0, "exhaustive lower=%s: %d of %d lines differ" % (lower, bad, len(texts)))
        print("every code point, lowercase=%-5s %d lines, %d differ" % (lower, len(texts), bad))


def check_charsmap_exhaustive(tmp):
    """Every code point through the nmt_nfkc rules, seen through byte fallback.

    A derived model (made here, not committed): the byte-fallback unigram model with
    unigram_nfkc's precompiled charsmap, so whatever a code point normalises to is visible as
    pieces or bytes rather than hidden behind <unk>.
    """
    import sentencepiece.sentencepiece_model_pb2 as pb
    nfkc, model = pb.ModelProto(), pb.ModelProto()
    nfkc.ParseFromString(open(os.path.join(MODELS, "unigram_nfkc.model"), "rb").read())
    model.ParseFromString(open(os.path.join(MODELS, "unigram_userdefined.model"), "rb").read())
    model.normalizer_spec.CopyFrom(nfkc.normalizer_spec)
    path = os.path.join(tmp, "nfkc_bytes.model")
    open(path, "wb").write(model.SerializeToString())
    sp = spm.SentencePieceProcessor(model_file=path)
    cps = [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = [" ".join(chr(c) for c in cps[i:i + 64]) for i in range(0, len(cps), 64)]
    texts += ["".join(chr(c) for c in cps[i:i + 16]) for i in range(0, 0x3000, 16)]
    rc, got = run_tool("sentencepiece", path, texts, "--no-special-tokens")
    check(rc == 0 and len(got) == len(texts), "charsmap exhaustive: tool ran (rc %d)" % rc)
    bad = 0
    for t, g in zip(texts, got):
        if g.get("ids") != sp.encode(t):
            bad += 1
            if bad <= 3:
                check(False, "charsmap exhaustive: %r -> %s, sentencepiece %s" %
                      (t[:20], g.get("ids", g)[:20], sp.encode(t)[:20]))
    check(bad == 0, "charsmap exhaustive: %d of %d lines differ" % (bad, len(texts)))
    print("every code point through nmt_nfkc + byte fallback: %d lines, %d differ" %
          (len(texts), bad))


def check_errors(tmp):
    # Missing vocabulary / model files.
    for kind in ("wordpiece", "sentencepiece"):
        rc, got = run_tool(kind, os.path.join(tmp, "absent.file"), ["x"])
        check(rc == 2 and "does not exist" in got[0].get("load_error", ""),
              "%s: missing file -> %s" % (kind, got))
    # Bad .model bytes: garbage, a truncated real model, a text file.
    real = open(os.path.join(MODELS, "unigram_nfkc.model"), "rb").read()
    for label, data in [("garbage", b"\xff\x00not a model\x13" * 10), ("truncated", real[:5000]),
                        ("empty", b""), ("text", b"hello world\n")]:
        p = os.path.join(tmp, label + ".model")
        open(p, "wb").write(data)
        rc, got = run_tool("sentencepiece", p, ["x"])
        check(rc == 2 and "SentencePiece model" in got[0].get("load_error", ""),
              "bad .model (%s) -> %s" % (label, got))
    # Vocabulary without [UNK].
    p = os.path.join(tmp, "nounk.txt")
    open(p, "w").write("[PAD]\n[CLS]\n[SEP]\nhello\n")
    rc, got = run_tool("wordpiece", p, ["x"])
    check(rc == 2 and "[UNK]" in got[0].get("load_error", ""), "vocab without [UNK] -> %s" % got)
    # Invalid UTF-8, both tokenisers.
    bad_texts = [b"\xff", b"abc\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"ok \xf4\x90\x80\x80"]
    for kind, path in [("wordpiece", os.path.join(MODELS, "vocab.txt")),
                       ("sentencepiece", os.path.join(MODELS, "bpe_nfkc.model"))]:
        rc, got = run_tool(kind, path, bad_texts + [("ok", b"\xff")])
        for t, g in zip(bad_texts + [b"pair"], got):
            check("UTF-8" in g.get("error", ""), "%s: invalid UTF-8 %r -> %s" % (kind, t, g))
        # Too long with truncation off; fits exactly; max_length below the special tokens.
        rc, got = run_tool(kind, path, ["one two three four five six seven eight"],
                           "--max-length", "4", "--no-truncation")
        check("max_length 4" in got[0].get("error", "") and "truncation is off" in
              got[0].get("error", ""), "%s: too long without truncation -> %s" % (kind, got))
        rc, got = run_tool(kind, path, ["one"], "--max-length", "1")
        check("special tokens" in got[0].get("error", ""), "%s: max_length 1 -> %s" % (kind, got))
    print("error cases checked")


def main():
    check_sentencepiece()
    check_wordpiece()
    with tempfile.TemporaryDirectory() as tmp:
        check_handwritten(tmp)
        check_unicode_exhaustive(tmp)
        check_charsmap_exhaustive(tmp)
        check_errors(tmp)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all tokenizer checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
