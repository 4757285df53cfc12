// Puts tokenised segments together with the special tokens, truncating to max_length (longest
// segment first for pairs) or refusing when truncation is off. Shared by both tokenisers.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "nalar/status.h"
#include "pipeline/text/tokenizer.h"

namespace nalar::pipeline {

// Where special tokens go: begin A after_first [B after_second]. All empty when
// add_special_tokens is off.
struct SpecialTokenLayout {
  std::vector<int64_t> begin, after_first, after_second;
};

struct LengthPolicy {
  int64_t max_length = 0;  // tokens, special tokens included
  bool truncation = true;
};

Result<Encoding> assemble_encoding(std::vector<int64_t> first,
                                   std::optional<std::vector<int64_t>> second,
                                   const SpecialTokenLayout& layout, const LengthPolicy& policy);

}  // namespace nalar::pipeline
