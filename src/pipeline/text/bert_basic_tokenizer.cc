#include "pipeline/text/bert_basic_tokenizer.h"

#include <array>

#include "pipeline/text/unicode_data.h"

namespace nalar::pipeline {
namespace {

using unicode::CategoryClass;

enum Flags : uint8_t { kDrop = 1, kWhitespace = 2, kPunct = 4, kCjk = 8, kSplit = 16 };

// BERT treats all non-letter/number ASCII as punctuation, even where Unicode says symbol.
bool ascii_punct(char32_t c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
         (c >= 123 && c <= 126);
}

// The CJK Unified Ideographs blocks BERT lists (not Hiragana, Katakana or Hangul).
bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

uint8_t compute_flags(char32_t c) {
  if (c == 0 || c == 0xFFFD) return kDrop;
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return kWhitespace;
  const CategoryClass k = unicode::category_class(c);
  if (k == CategoryClass::kControl) return kDrop;
  if (k == CategoryClass::kSpaceSeparator) return kWhitespace;
  // What Python's str.split() splits on among what survives cleaning: U+2028/U+2029.
  if (k == CategoryClass::kLineSeparator) return kSplit;
  if (ascii_punct(c) || k == CategoryClass::kPunctuation) return kPunct;
  if (is_cjk(c)) return kCjk;
  return 0;
}

const std::array<uint8_t, 128> kAsciiFlags = [] {
  std::array<uint8_t, 128> t{};
  for (char32_t c = 0; c < 128; ++c) t[c] = compute_flags(c);
  return t;
}();

uint8_t flags(char32_t c) { return c < 128 ? kAsciiFlags[c] : compute_flags(c); }

bool is_split_space(char32_t c) { return c == ' ' || (c >= 128 && (flags(c) & kSplit)); }

}  // namespace

void bert_basic_tokenize(std::u32string_view text, bool lowercase,
                         const std::function<void(std::u32string_view)>& word) {
  std::u32string cleaned;
  cleaned.reserve(text.size() + 8);
  for (char32_t c : text) {
    const uint8_t f = flags(c);
    if (f & kDrop) continue;
    if (f & kWhitespace) {
      cleaned.push_back(' ');
    } else if (f & kCjk) {
      cleaned.push_back(' ');
      cleaned.push_back(c);
      cleaned.push_back(' ');
    } else {
      cleaned.push_back(c);
    }
  }

  std::u32string folded;
  size_t i = 0;
  while (i < cleaned.size()) {
    while (i < cleaned.size() && is_split_space(cleaned[i])) ++i;
    size_t j = i;
    bool ascii = true;
    while (j < cleaned.size() && !is_split_space(cleaned[j])) ascii &= cleaned[j++] < 128;
    if (j == i) break;
    std::u32string_view token(cleaned.data() + i, j - i);
    i = j;
    if (lowercase) {
      folded.clear();
      if (ascii) {  // no decompositions or marks in ASCII
        for (char32_t c : token) folded.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
      } else {
        for (char32_t c : unicode::nfd(unicode::to_lower(token))) {
          if (unicode::category_class(c) != CategoryClass::kNonspacingMark) folded.push_back(c);
        }
      }
      token = folded;
    }
    // Each punctuation character is a word of its own; whitespace here still splits (Python
    // re-splits the joined result).
    size_t start = 0;
    for (size_t k = 0; k < token.size(); ++k) {
      const char32_t c = token[k];
      const bool punct = flags(c) & kPunct;
      if (punct || is_split_space(c)) {
        if (k > start) word(token.substr(start, k - start));
        if (punct) word(token.substr(k, 1));
        start = k + 1;
      }
    }
    if (token.size() > start) word(token.substr(start));
  }
}

}  // namespace nalar::pipeline
