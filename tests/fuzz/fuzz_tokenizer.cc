// libFuzzer target: the tokenisers' untrusted inputs. The first byte picks what the rest is:
//   0: a SentencePiece .model file (then a fixed text is encoded with it)
//   1: a WordPiece vocab.txt (then a fixed text is encoded with it)
//   otherwise: a text (and, after the first 0x01 byte, its pair) for the committed models,
//   with max_length from the first byte so truncation paths run too.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/text/sentencepiece_tokenizer.h"
#include "pipeline/text/tokenizer.h"
#include "pipeline/text/wordpiece_tokenizer.h"

#ifndef NALAR_MODELS_TEXT_DIR
#error "NALAR_MODELS_TEXT_DIR must name models/text"
#endif

namespace {

using nalar::pipeline::TextConfig;
using nalar::pipeline::Tokenizer;
using nalar::pipeline::TokenizerKind;

constexpr std::string_view kSample = "Hello wörld, 中文 😀 unaffable  <mask>\tend";

std::vector<std::unique_ptr<Tokenizer>> load_committed(int64_t max_length) {
  std::vector<std::unique_ptr<Tokenizer>> out;
  const struct {
    TokenizerKind kind;
    const char* file;
    bool lowercase;
  } models[] = {{TokenizerKind::kWordPiece, "vocab.txt", true},
                {TokenizerKind::kWordPiece, "vocab.txt", false},
                {TokenizerKind::kSentencePiece, "unigram_nfkc.model", true},
                {TokenizerKind::kSentencePiece, "bpe_nfkc.model", true},
                {TokenizerKind::kSentencePiece, "bpe_bytefallback.model", true},
                {TokenizerKind::kSentencePiece, "unigram_userdefined.model", true},
                {TokenizerKind::kSentencePiece, "word_identity.model", true}};
  for (const auto& m : models) {
    TextConfig c;
    c.tokenizer = m.kind;
    c.vocab_file = m.file;
    c.lowercase = m.lowercase;
    c.max_length = max_length;
    auto t = Tokenizer::load(c, NALAR_MODELS_TEXT_DIR);
    if (!t.is_ok()) __builtin_trap();  // the committed models must load
    out.push_back(std::move(t).value());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  TextConfig config;
  config.max_length = 64;
  if (data[0] == 0) {
    config.tokenizer = TokenizerKind::kSentencePiece;
    auto t = nalar::pipeline::SentencePieceTokenizer::from_bytes(rest, config, "<fuzz>");
    if (t.is_ok()) (void)(*t)->encode(kSample, kSample);
  } else if (data[0] == 1) {
    auto t = nalar::pipeline::WordPieceTokenizer::from_vocab(rest, config, "<fuzz>");
    if (t.is_ok()) (void)(*t)->encode(kSample, kSample);
  } else {
    static const auto truncating = load_committed(7);
    static const auto unlimited = load_committed(1 << 20);
    const size_t split = rest.find('\x01');
    const std::string_view text = rest.substr(0, split);
    const std::string_view pair = split == std::string_view::npos ? "" : rest.substr(split + 1);
    const auto& set = data[0] & 1 ? truncating : unlimited;
    for (const auto& t : set) {
      auto e = t->encode(text, pair);
      if (e.is_ok() &&
          (e->ids.size() != e->attention_mask.size() || e->ids.size() != e->type_ids.size())) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
