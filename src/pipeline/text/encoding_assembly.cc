#include "pipeline/text/encoding_assembly.h"

#include <string>

namespace nalar::pipeline {

Result<Encoding> assemble_encoding(std::vector<int64_t> first,
                                   std::optional<std::vector<int64_t>> second,
                                   const SpecialTokenLayout& layout, const LengthPolicy& policy) {
  const size_t specials =
      layout.begin.size() + layout.after_first.size() + (second ? layout.after_second.size() : 0);
  const size_t content = first.size() + (second ? second->size() : 0);
  const auto max_length = static_cast<size_t>(policy.max_length);
  if (specials > max_length) {
    return invalid_argument("max_length " + std::to_string(policy.max_length) +
                            " leaves no room for the " + std::to_string(specials) +
                            " special tokens");
  }
  if (specials + content > max_length) {
    if (!policy.truncation) {
      return invalid_argument("text is " + std::to_string(specials + content) +
                              " tokens (special tokens included), longer than max_length " +
                              std::to_string(policy.max_length) + " and truncation is off");
    }
    const size_t budget = max_length - specials;
    if (!second) {
      first.resize(budget);
    } else {
      // Longest first: drop the last token of the longer segment (of the second on a tie).
      size_t a = first.size(), b = second->size();
      while (a + b > budget) {
        if (a > b) {
          --a;
        } else {
          --b;
        }
      }
      first.resize(a);
      second->resize(b);
    }
  }
  Encoding e;
  const auto append = [&](const std::vector<int64_t>& ids, int64_t type) {
    e.ids.insert(e.ids.end(), ids.begin(), ids.end());
    e.type_ids.insert(e.type_ids.end(), ids.size(), type);
  };
  append(layout.begin, 0);
  append(first, 0);
  append(layout.after_first, 0);
  if (second) {
    append(*second, 1);
    append(layout.after_second, 1);
  }
  e.attention_mask.assign(e.ids.size(), 1);
  return e;
}

}  // namespace nalar::pipeline
