"""An independent Python implementation of BERT's tokenizer, written from the algorithm in
google-research/bert tokenization.py (BasicTokenizer + WordpieceTokenizer), with Hugging Face's
handling of special token strings in the text. The reference for text_tokenize and the bench.
"""
import unicodedata


def ref_is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def ref_is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def ref_is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def ref_is_cjk(cp):
    return any(a <= cp <= b for a, b in [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
                                         (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
                                         (0x2B820, 0x2CEAF), (0xF900, 0xFAFF),
                                         (0x2F800, 0x2FA1F)])


def ref_basic(text, lower):
    cleaned = []
    for ch in text:
        if ord(ch) == 0 or ord(ch) == 0xFFFD or ref_is_control(ch):
            continue
        cleaned.append(" " if ref_is_whitespace(ch) else ch)
    spaced = "".join(" %s " % c if ref_is_cjk(ord(c)) else c for c in cleaned)
    out = []
    for tok in spaced.split():
        if lower:
            tok = "".join(c for c in unicodedata.normalize("NFD", tok.lower())
                          if unicodedata.category(c) != "Mn")
        word = ""
        for ch in tok:
            if ref_is_punct(ch):
                if word:
                    out.append(word)
                out.append(ch)
                word = ""
            else:
                word += ch
        if word:
            out.append(word)
    return " ".join(out).split()


def ref_wordpiece(word, vocab):
    if len(word) > 100:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            sub = ("##" if start > 0 else "") + word[start:end]
            if sub in vocab:
                found = sub
                break
            end -= 1
        if found is None:
            return ["[UNK]"]
        pieces.append(found)
        start = end
    return pieces


SPECIALS = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"]


def ref_tokens(text, vocab, lower):
    """Special token strings in the text stay whole (as Hugging Face's BertTokenizer does)."""
    out, rest = [], text
    while True:
        hits = [(rest.find(s), s) for s in SPECIALS if s in vocab and s in rest]
        if not hits:
            break
        at, s = min(hits)
        out += [p for w in ref_basic(rest[:at], lower) for p in ref_wordpiece(w, vocab)] + [s]
        rest = rest[at + len(s):]
    return out + [p for w in ref_basic(rest, lower) for p in ref_wordpiece(w, vocab)]


def load_vocab(path):
    vocab = {}
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            vocab[line.rstrip("\n")] = i
    return vocab
