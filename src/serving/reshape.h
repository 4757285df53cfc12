// Triton's `reshape` on a config input or output: clients see `dims`, the model sees
// `reshape.shape` (the batch dimension, when batching, stays in front of both). The element
// count is the same, so a reshape is a zero-copy view; one -1 in a shape is inferred from it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nalar/session.h"
#include "nalar/status.h"
#include "nalar/tensor.h"

namespace nalar::serving {

struct TensorReshapes {
  // Input name -> the model's dims (without the batch dimension).
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputs;
  // Output name -> the dims clients see (without the batch dimension).
  std::vector<std::pair<std::string, std::vector<int64_t>>> outputs;
  bool empty() const { return inputs.empty() && outputs.empty(); }
};

// `t` viewed as `dims` (after its batch dimension when `batched`).
Result<Tensor> reshape_to(const std::string& name, const Tensor& t,
                          const std::vector<int64_t>& dims, bool batched);

// Applies the reshapes listed for the tensors in `tensors` (others pass through).
Result<NamedTensors> apply_reshapes(
    const NamedTensors& tensors,
    const std::vector<std::pair<std::string, std::vector<int64_t>>>& reshapes, bool batched);

}  // namespace nalar::serving
