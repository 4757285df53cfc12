#include "pipeline/text/sentencepiece_normalizer.h"

#include <algorithm>

#include "pipeline/text/utf8.h"

namespace nalar::pipeline {
namespace {
constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK
}  // namespace

SentencePieceNormalizer::Step SentencePieceNormalizer::normalize_prefix(
    std::string_view text) const {
  if (const size_t n = vocab_->user_defined_prefix(text); n > 0) return {text.substr(0, n), n};
  const PrecompiledCharsmap::Match m = charsmap_.longest_prefix(text);
  if (m.consumed > 0) return {m.replacement, m.consumed};
  // The input was validated, so this is a whole character; a stray byte still makes progress.
  const size_t n = std::max<size_t>(1, utf8_sequence_length(text));
  return {text.substr(0, n), n};
}

std::string SentencePieceNormalizer::normalize(std::string_view text) const {
  std::string out;
  if (options_.remove_extra_whitespaces) {
    while (!text.empty()) {
      const Step s = normalize_prefix(text);
      if (s.out != " ") break;
      text.remove_prefix(s.consumed);
    }
  }
  if (text.empty()) return out;
  out.reserve(text.size() * 3);
  const auto add_space = [&] {
    if (options_.escape_whitespaces) {
      out += kSpaceSymbol;
    } else {
      out += ' ';
    }
  };
  if (!options_.treat_whitespace_as_suffix && options_.add_dummy_prefix) add_space();

  bool prev_space = options_.remove_extra_whitespaces;
  while (!text.empty()) {
    const Step s = normalize_prefix(text);
    std::string_view piece = s.out;
    while (prev_space && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
    if (!piece.empty()) {
      for (char c : piece) {
        if (options_.escape_whitespaces && c == ' ') {
          out += kSpaceSymbol;
        } else {
          out += c;
        }
      }
      prev_space = piece.back() == ' ';
    }
    text.remove_prefix(s.consumed);
    if (!options_.remove_extra_whitespaces) prev_space = false;
  }

  if (options_.remove_extra_whitespaces) {
    const std::string_view space = options_.escape_whitespaces ? kSpaceSymbol : " ";
    while (out.size() >= space.size() &&
           std::string_view(out).substr(out.size() - space.size()) == space) {
      out.resize(out.size() - space.size());
    }
  }
  if (options_.treat_whitespace_as_suffix && options_.add_dummy_prefix) add_space();
  return out;
}

}  // namespace nalar::pipeline
