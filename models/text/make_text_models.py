#!/usr/bin/env python3
"""Makes the small tokenizer models the text_tokenize test uses, from text Debian ships.

  * SentencePiece models trained with Debian's `spm_train` (package sentencepiece): unigram
    and BPE with the default nmt_nfkc normalisation, identity normalisation, byte fallback,
    user-defined symbols, whitespace as suffix, and the char and word models.
  * vocab.txt, a BERT-style WordPiece vocabulary: [PAD] [UNK] [CLS] [SEP] [MASK], the
    frequent words of the corpus (lowercased and as written), every character seen, "##"
    continuations (characters and frequent word endings), and un ##aff ##able for the
    hand-written case.

The outputs are committed (they are small); rerun to regenerate:
    /usr/bin/python3 models/text/make_text_models.py
"""
import collections
import glob
import gzip
import os
import subprocess
import sys
import tempfile
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))


def corpus_lines():
    files = sorted(p for p in glob.glob("/usr/share/common-licenses/*") if not os.path.islink(p))
    files.append("/usr/share/doc/python3-all-dev/python-policy.txt.gz")
    lines = []
    for path in files:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            lines.extend(line.strip() for line in f if line.strip())
    return lines


SPM_MODELS = {
    # name: extra spm_train flags
    "unigram_nfkc": ["--model_type=unigram", "--vocab_size=1000"],
    "bpe_nfkc": ["--model_type=bpe", "--vocab_size=1000"],
    "unigram_identity": ["--model_type=unigram", "--vocab_size=800",
                         "--normalization_rule_name=identity"],
    "bpe_bytefallback": ["--model_type=bpe", "--vocab_size=700", "--byte_fallback=true",
                         "--add_dummy_prefix=false",
                         "--normalization_rule_name=identity"],
    "unigram_userdefined": ["--model_type=unigram", "--vocab_size=600", "--byte_fallback=true",
                            "--user_defined_symbols=<mask>,[NL],license", "--pad_id=3",
                            "--normalization_rule_name=identity"],
    "bpe_suffix": ["--model_type=bpe", "--vocab_size=600", "--treat_whitespace_as_suffix=true",
                   "--remove_extra_whitespaces=false", "--normalization_rule_name=identity",
                   "--bos_id=-1"],
    "char_identity": ["--model_type=char", "--vocab_size=80", "--eos_id=-1",
                      "--normalization_rule_name=identity"],
    "word_identity": ["--model_type=word", "--vocab_size=500", "--normalization_rule_name=identity"],
    # A custom rule table (compiled by spm_train into the precompiled charsmap): single and
    # multi-character sources, one rule that deletes.
    "unigram_customrule": ["--model_type=unigram", "--vocab_size=300",
                           "--normalization_rule_tsv={rules}"],
    "word_wsonly": ["--model_type=word", "--vocab_size=400", "--remove_extra_whitespaces=false",
                    "--allow_whitespace_only_pieces=true", "--normalization_rule_name=identity"],
}

CUSTOM_RULES = "41\t61\n2C 20\t2C\nFB01\t66 69\n200B\t\n"


def train_spm(corpus_path):
    for name, flags in SPM_MODELS.items():
        with tempfile.TemporaryDirectory() as tmp:
            rules = os.path.join(tmp, "rules.tsv")
            with open(rules, "w") as f:
                f.write(CUSTOM_RULES)
            flags = [f.replace("{rules}", rules) for f in flags]
            prefix = os.path.join(tmp, name)
            cmd = ["spm_train", "--input=" + corpus_path, "--model_prefix=" + prefix,
                   "--character_coverage=1.0", "--num_threads=1", "--minloglevel=2",
                   "--random_seed=7"] + flags
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(prefix + ".model", "rb") as f:
                data = f.read()
        with open(os.path.join(HERE, name + ".model"), "wb") as f:
            f.write(data)
        print("%s.model: %d bytes" % (name, len(data)))


def derive_noescape():
    """escape_whitespaces has no spm_train flag: flip it in a trained model's NormalizerSpec."""
    import sentencepiece.sentencepiece_model_pb2 as pb
    m = pb.ModelProto()
    with open(os.path.join(HERE, "unigram_identity.model"), "rb") as f:
        m.ParseFromString(f.read())
    m.normalizer_spec.escape_whitespaces = False
    data = m.SerializeToString()
    with open(os.path.join(HERE, "unigram_noescape.model"), "wb") as f:
        f.write(data)
    print("unigram_noescape.model: %d bytes" % len(data))


def words_of(line):
    """Whitespace and punctuation split, close enough for choosing vocabulary entries."""
    word = []
    for ch in line:
        if ch.isspace() or unicodedata.category(ch).startswith("P") or ch in "$+<=>^`|~":
            if word:
                yield "".join(word)
                word = []
            if not ch.isspace():
                yield ch
        else:
            word.append(ch)
    if word:
        yield "".join(word)


def build_vocab(lines):
    lower = collections.Counter()
    cased = collections.Counter()
    chars = set()
    for line in lines:
        for w in words_of(line):
            cased[w] += 1
            lower[w.lower()] += 1
            chars.update(w)
            chars.update(w.lower())
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(vocab)

    def add(tok):
        if tok and tok not in seen and not any(c.isspace() for c in tok):
            seen.add(tok)
            vocab.append(tok)

    for c in sorted(chars):
        add(c)
        add("##" + c)
    for tok in ["un", "##aff", "##able", "aff", "able"]:
        add(tok)
    for w, _ in lower.most_common(1200):
        add(w)
    for w, _ in cased.most_common(400):
        add(w)
    endings = collections.Counter()
    for w, n in lower.items():
        for k in (2, 3, 4):
            if len(w) > k:
                endings[w[-k:]] += n
    for e, _ in endings.most_common(300):
        add("##" + e)
    with open(os.path.join(HERE, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    print("vocab.txt: %d tokens" % len(vocab))


def main():
    lines = corpus_lines()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        corpus = f.name
    try:
        train_spm(corpus)
        derive_noescape()
    finally:
        os.unlink(corpus)
    build_vocab(lines)


if __name__ == "__main__":
    sys.exit(main())
