// Einsum equation parsing, kept separate from the kernel so it can be unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nalar/status.h"

namespace nalar {

// Labels: 'a'..'z' -> 0..25, 'A'..'Z' -> 26..51, ellipsis dimension j -> kEinsumEllipsisBase + j
// (j counts the broadcast ellipsis dims left to right, right-aligned across operands).
inline constexpr int kEinsumEllipsisBase = 52;

struct EinsumEquation {
  std::vector<std::vector<int>> inputs;  // one label per dimension of each operand
  std::vector<int> output;               // one label per output dimension
  int ellipsis_rank = 0;                 // dims covered by "..." after broadcasting
};

// Parses `equation` (spaces allowed, "->" optional) for operands of the given ranks. Without
// "->" the output is the ellipsis dims followed by the labels used once, in ASCII order.
Result<EinsumEquation> parse_einsum(const std::string& equation, const std::vector<int64_t>& ranks);

}  // namespace nalar
