// The Unicode facts BERT's basic tokenizer needs, from tables generated out of Python's
// unicodedata by scripts/gen-unicode-tables.py (BERT's reference implementation is Python).
#pragma once

#include <string>

namespace nalar::pipeline::unicode {

enum class CategoryClass {
  kOther = 0,
  kControl = 1,         // general category C* (Cc, Cf, Cn, Co, Cs)
  kSpaceSeparator = 2,  // Zs
  kLineSeparator = 3,   // Zl, Zp
  kPunctuation = 4,     // P*
  kNonspacingMark = 5,  // Mn
};

CategoryClass category_class(char32_t cp);

// Python's str.lower() of a whole string, final sigma included.
std::u32string to_lower(std::u32string_view text);

// Unicode NFD (canonical decomposition, Hangul included, then canonical ordering).
std::u32string nfd(std::u32string_view text);

}  // namespace nalar::pipeline::unicode
