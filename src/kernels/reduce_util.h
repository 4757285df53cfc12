// Shape bookkeeping shared by the Reduce* family: which axes are reduced, the output shape, and a
// compact "blocks" view of the input that lets kernels pick a fast loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "nalar/status.h"
#include "nalar/tensor.h"

namespace nalar {

// Marks the reduced axes of a rank-`rank` tensor. Empty `axes` means every axis. Negative axes
// count from the end; duplicates are an error, as ONNX requires unique axes.
inline Result<std::vector<bool>> reduction_mask(const std::vector<int64_t>& axes, int64_t rank,
                                                const char* op) {
  std::vector<bool> mask(static_cast<size_t>(rank), axes.empty());
  for (int64_t a : axes) {
    NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(a, rank, op));
    if (rank == 0) continue;  // a scalar has nothing to reduce; axis 0/-1 is tolerated
    if (mask[static_cast<size_t>(axis)])
      return invalid_argument(std::string(op) + ": axis " + std::to_string(a) +
                              " is repeated in 'axes'");
    mask[static_cast<size_t>(axis)] = true;
  }
  return mask;
}

// Output shape: reduced dims become 1 (keepdims) or disappear.
inline Shape reduced_shape(const Shape& in, const std::vector<bool>& mask, bool keepdims) {
  Shape out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!mask[i])
      out.push_back(in[i]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

// A run of adjacent dims of the same kind, merged into one extent.
struct ReduceBlock {
  int64_t extent;
  bool reduced;
};

// Merges adjacent kept/reduced dims and drops size-1 dims (they do not change the element order).
// E.g. [2,3,4,5] reducing axes {2,3} gives {6 kept, 20 reduced}. Empty for a one-element tensor.
inline std::vector<ReduceBlock> merge_reduce_blocks(const Shape& in,
                                                    const std::vector<bool>& mask) {
  std::vector<ReduceBlock> blocks;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == 1) continue;
    if (!blocks.empty() && blocks.back().reduced == mask[i])
      blocks.back().extent *= in[i];
    else
      blocks.push_back({in[i], static_cast<bool>(mask[i])});
  }
  return blocks;
}

}  // namespace nalar
