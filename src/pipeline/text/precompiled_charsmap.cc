#include "pipeline/text/precompiled_charsmap.h"

#include <cstring>

namespace nalar::pipeline {
namespace {

// Darts-clone's unit encoding: bit 8 = has a leaf child, bit 9 = offset scale, bits 10.. =
// offset; a leaf unit holds its value in bits 0..30; a non-leaf's label is bits 0..7 (bit 31
// set marks a leaf, which then never equals a byte label).
bool has_leaf(uint32_t u) { return ((u >> 8) & 1) == 1; }
uint32_t value(uint32_t u) { return u & ((1U << 31) - 1); }
uint32_t label(uint32_t u) { return u & ((1U << 31) | 0xFF); }
uint32_t offset(uint32_t u) { return (u >> 10) << ((u & (1U << 9)) >> 6); }

constexpr size_t kMaxResults = 32;  // SentencePiece's Normalizer::kMaxTrieResultsSize

}  // namespace

Result<PrecompiledCharsmap> PrecompiledCharsmap::parse(std::string_view blob) {
  PrecompiledCharsmap map;
  if (blob.empty()) return map;
  if (blob.size() <= 4) {
    return invalid_argument("SentencePiece precompiled_charsmap is truncated (" +
                            std::to_string(blob.size()) + " bytes, expected more than 4)");
  }
  const auto* b = reinterpret_cast<const unsigned char*>(blob.data());
  const uint32_t trie_size = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t{b[3]} << 24);
  if (trie_size == 0 || trie_size % 4 != 0 || trie_size > blob.size() - 4) {
    return invalid_argument("SentencePiece precompiled_charsmap has a bad trie size " +
                            std::to_string(trie_size) + " for a blob of " +
                            std::to_string(blob.size()) + " bytes");
  }
  map.units_.resize(trie_size / 4);
  for (size_t i = 0; i < map.units_.size(); ++i) {
    const unsigned char* p = b + 4 + 4 * i;
    map.units_[i] = p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t{p[3]} << 24);
  }
  map.replacements_.assign(blob.substr(4 + trie_size));
  return map;
}

PrecompiledCharsmap::Match PrecompiledCharsmap::longest_prefix(std::string_view input) const {
  Match best;
  if (units_.empty()) return best;
  size_t found = 0;
  uint32_t id = offset(units_[0]);
  for (size_t i = 0; i < input.size(); ++i) {
    const auto c = static_cast<unsigned char>(input[i]);
    id ^= c;
    if (id >= units_.size()) break;
    const uint32_t unit = units_[id];
    if (label(unit) != c) break;
    id ^= offset(unit);
    if (id >= units_.size()) break;
    if (has_leaf(unit)) {
      if (found < kMaxResults) {
        const uint32_t at = value(units_[id]);
        // A value past the blob is a broken model; such a rule is ignored.
        if (at < replacements_.size()) {
          const char* s = replacements_.data() + at;
          best.replacement = std::string_view(s, strnlen(s, replacements_.size() - at));
          best.consumed = i + 1;
        }
      }
      ++found;
    }
  }
  return best;
}

}  // namespace nalar::pipeline
