// SentencePiece's precompiled normalisation rules (NormalizerSpec.precompiled_charsmap): a
// Darts-clone double-array trie over UTF-8 byte strings whose values are offsets into a blob of
// NUL-terminated replacement strings. nmt_nfkc, nfkc, ... are all stored this way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nalar/status.h"

namespace nalar::pipeline {

class PrecompiledCharsmap {
 public:
  PrecompiledCharsmap() = default;  // identity: no rules
  // Layout: <uint32 LE trie byte size><trie units><replacement strings>. Empty = identity.
  static Result<PrecompiledCharsmap> parse(std::string_view blob);

  bool empty() const { return units_.empty(); }

  struct Match {
    std::string_view replacement;
    size_t consumed = 0;  // 0: no rule applies to any prefix of the input
  };
  // The longest rule matching a prefix of `input` (among the first 32 prefixes that match, as
  // SentencePiece does).
  Match longest_prefix(std::string_view input) const;

 private:
  std::vector<uint32_t> units_;
  std::string replacements_;
};

}  // namespace nalar::pipeline
