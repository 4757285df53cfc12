#include "pipeline/text/bert_basic_tokenizer.h"

#include "pipeline/text/unicode_data.h"

namespace nalar::pipeline {
namespace {

using unicode::CategoryClass;

bool is_whitespace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
         unicode::category_class(c) == CategoryClass::kSpaceSeparator;
}

bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return unicode::category_class(c) == CategoryClass::kControl;
}

// BERT treats all non-letter/number ASCII as punctuation, even where Unicode says symbol.
bool is_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126)) {
    return true;
  }
  return unicode::category_class(c) == CategoryClass::kPunctuation;
}

// The CJK Unified Ideographs blocks BERT lists (not Hiragana, Katakana or Hangul).
bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// What Python's str.split() splits on, among what survives cleaning: ' ' and U+2028/U+2029.
bool is_split_space(char32_t c) {
  return c == ' ' || unicode::category_class(c) == CategoryClass::kLineSeparator;
}

std::vector<std::u32string> split_whitespace(std::u32string_view text) {
  std::vector<std::u32string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_split_space(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !is_split_space(text[j])) ++j;
    if (j > i) out.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::vector<std::u32string> bert_basic_tokenize(std::u32string_view text, bool lowercase) {
  std::u32string cleaned;
  cleaned.reserve(text.size());
  for (char32_t c : text) {
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_whitespace(c)) {
      cleaned.push_back(' ');
    } else if (is_cjk(c)) {
      cleaned.push_back(' ');
      cleaned.push_back(c);
      cleaned.push_back(' ');
    } else {
      cleaned.push_back(c);
    }
  }

  std::vector<std::u32string> words;
  for (std::u32string& token : split_whitespace(cleaned)) {
    if (lowercase) {
      std::u32string stripped;
      for (char32_t c : unicode::nfd(unicode::to_lower(token))) {
        if (unicode::category_class(c) != CategoryClass::kNonspacingMark) stripped.push_back(c);
      }
      token = std::move(stripped);
    }
    // Each punctuation character is a word of its own; whitespace here still splits (Python
    // re-splits the joined result).
    std::u32string current;
    const auto flush = [&] {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
    };
    for (char32_t c : token) {
      if (is_punctuation(c)) {
        flush();
        words.emplace_back(1, c);
      } else if (is_split_space(c)) {
        flush();
      } else {
        current.push_back(c);
      }
    }
    flush();
  }
  return words;
}

}  // namespace nalar::pipeline
