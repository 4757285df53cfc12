#include "pipeline/text/unicode_data.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace nalar::pipeline::unicode {
namespace {

struct CategoryRange {
  char32_t first, last;
  uint8_t value;
};
struct CodePointPair {
  char32_t from, to;
};
struct MultiMapping {
  char32_t from;
  uint8_t size;
  char32_t to[3];
};
struct Decomposition {
  char32_t cp;
  uint16_t offset;
  uint8_t size;
};

#include "pipeline/text/unicode_tables.inc"

template <size_t N>
uint8_t range_value(const CategoryRange (&table)[N], char32_t cp) {
  auto it = std::upper_bound(std::begin(table), std::end(table), cp,
                             [](char32_t c, const CategoryRange& r) { return c < r.first; });
  if (it == std::begin(table)) return 0;
  --it;
  return cp <= it->last ? it->value : 0;
}

constexpr char32_t kCapitalSigma = 0x3A3, kSmallSigma = 0x3C3, kFinalSigma = 0x3C2;
constexpr uint8_t kCaseIgnorable = 1, kCased = 2;

// Python's rule: the nearest non-case-ignorable character before is cased, and the nearest one
// after is not (or there is none).
bool is_final_sigma(std::u32string_view text, size_t i) {
  size_t j = i;
  while (j > 0 && range_value(kCaseRanges, text[j - 1]) == kCaseIgnorable) --j;
  if (j == 0 || range_value(kCaseRanges, text[j - 1]) != kCased) return false;
  size_t k = i + 1;
  while (k < text.size() && range_value(kCaseRanges, text[k]) == kCaseIgnorable) ++k;
  return k == text.size() || range_value(kCaseRanges, text[k]) != kCased;
}

// Hangul syllable decomposition constants (Unicode chapter 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = 11172;

}  // namespace

CategoryClass category_class(char32_t cp) {
  // ASCII is nearly all text: answer it without the search.
  if (cp < 0x80) {
    if (cp < 0x20 || cp == 0x7F) return CategoryClass::kControl;
    if (cp == ' ') return CategoryClass::kSpaceSeparator;
    if ((cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z')) {
      return CategoryClass::kOther;
    }
  }
  return static_cast<CategoryClass>(range_value(kCategoryRanges, cp));
}

std::u32string to_lower(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t cp = text[i];
    if (cp < 0x80) {
      out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
      continue;
    }
    if (cp == kCapitalSigma) {
      out.push_back(is_final_sigma(text, i) ? kFinalSigma : kSmallSigma);
      continue;
    }
    auto it = std::lower_bound(std::begin(kLowercase), std::end(kLowercase), cp,
                               [](const CodePointPair& p, char32_t c) { return p.from < c; });
    if (it != std::end(kLowercase) && it->from == cp) {
      out.push_back(it->to);
      continue;
    }
    bool multi = false;
    for (const MultiMapping& m : kLowercaseMulti) {
      if (m.from == cp) {
        out.append(m.to, m.size);
        multi = true;
        break;
      }
    }
    if (!multi) out.push_back(cp);
  }
  return out;
}

std::u32string nfd(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (cp < 0xC0) {
      out.push_back(cp);
    } else if (cp >= kSBase && cp < kSBase + kSCount) {
      const char32_t s = cp - kSBase;
      out.push_back(kLBase + s / kNCount);
      out.push_back(kVBase + (s % kNCount) / kTCount);
      if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    } else {
      auto it = std::lower_bound(std::begin(kDecompositions), std::end(kDecompositions), cp,
                                 [](const Decomposition& d, char32_t c) { return d.cp < c; });
      if (it != std::end(kDecompositions) && it->cp == cp) {
        out.append(kDecompositionData + it->offset, it->size);
      } else {
        out.push_back(cp);
      }
    }
  }
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  size_t i = 0;
  while (i < out.size()) {
    if (out[i] < 0x300 || range_value(kCombiningClassRanges, out[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && range_value(kCombiningClassRanges, out[j]) != 0) ++j;
    if (j - i > 1) {
      std::stable_sort(out.begin() + i, out.begin() + j, [](char32_t a, char32_t b) {
        return range_value(kCombiningClassRanges, a) < range_value(kCombiningClassRanges, b);
      });
    }
    i = j;
  }
  return out;
}

}  // namespace nalar::pipeline::unicode
