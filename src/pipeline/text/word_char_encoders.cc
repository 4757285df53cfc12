#include <algorithm>

#include "pipeline/text/sentencepiece_encoders.h"
#include "pipeline/text/utf8.h"

namespace nalar::pipeline {
namespace {
constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";

size_t char_length(std::string_view text) {
  return std::min(std::max<size_t>(1, utf8_sequence_length(text)), text.size());
}
}  // namespace

SentencePieces encode_word(const SentencePieceVocab& vocab, std::string_view normalized,
                           bool whitespace_as_suffix) {
  std::vector<std::string_view> words;
  size_t word_start = 0;
  for (size_t pos = 0; pos < normalized.size();) {
    const size_t n = char_length(normalized.substr(pos));
    const bool space = normalized.substr(pos, n) == kSpaceSymbol;
    if (!whitespace_as_suffix && space && pos > word_start) {
      words.push_back(normalized.substr(word_start, pos - word_start));
      word_start = pos;
    }
    pos += n;
    if (whitespace_as_suffix && space) {
      words.push_back(normalized.substr(word_start, pos - word_start));
      word_start = pos;
    }
  }
  if (word_start < normalized.size()) words.push_back(normalized.substr(word_start));
  SentencePieces out;
  for (std::string_view w : words) out.emplace_back(w, vocab.piece_to_id(w));
  return out;
}

SentencePieces encode_char(const SentencePieceVocab& vocab, std::string_view normalized) {
  SentencePieces out;
  for (size_t pos = 0; pos < normalized.size();) {
    const std::string_view rest = normalized.substr(pos);
    const size_t user = vocab.user_defined_prefix(rest);
    const size_t n = user > 0 ? user : char_length(rest);
    out.emplace_back(rest.substr(0, n), vocab.piece_to_id(rest.substr(0, n)));
    pos += n;
  }
  return out;
}

}  // namespace nalar::pipeline
