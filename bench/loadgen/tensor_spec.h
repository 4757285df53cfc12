// What one request carries: named input tensors (datatype, shape, raw little-endian bytes),
// either generated from "NAME:DATATYPE:DIMS" specs or read from .npy-free raw files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nalar/status.h"

namespace nalar::loadgen {

struct InputTensor {
  std::string name;
  std::string datatype;  // KServe name: FP32, INT64, ...
  std::vector<int64_t> shape;
  std::string raw;  // element bytes, row-major, little-endian
};

// Bytes per element of a KServe datatype; 0 for an unknown or variable-size one (BYTES).
size_t kserve_element_size(const std::string& datatype);

// "input:FP32:1x64" -> a tensor of that shape filled with seeded random values.
Result<InputTensor> generate_input(const std::string& spec, uint64_t seed);

}  // namespace nalar::loadgen
