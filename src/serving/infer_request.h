// The protocol-neutral inference request and response. The HTTP front-end (and later gRPC)
// translates its wire format into these, so validation, batching and post-processing live once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nalar/session.h"
#include "nalar/status.h"
#include "nalar/tensor.h"

namespace nalar::serving {

// Request timeouts beyond a year mean "no limit" in practice; capping them keeps the scheduler's
// clock arithmetic in range whatever a client sends.
inline constexpr uint64_t kMaxTimeoutUs = uint64_t{365} * 24 * 3600 * 1000000;

struct RequestedOutput {
  std::string name;
  bool binary = false;     // binary tensor extension: raw bytes after the JSON header
  int classification = 0;  // > 0: top-k "value:index[:label]" strings instead of the tensor
};

struct InferRequest {
  std::string model_name;
  int64_t model_version = -1;  // -1: the latest ready version
  std::string id;
  NamedTensors inputs;                   // full shapes, batch dim included when batching
  std::vector<RequestedOutput> outputs;  // empty: every output
  bool binary_data_output = false;       // default for outputs that do not say
  uint32_t priority = 0;                 // 0: the model's default level; 1 is highest
  uint64_t timeout_us = 0;               // 0: the model's default
};

struct InferResponse {
  std::string model_name;
  int64_t model_version = 0;
  std::string id;
  NamedTensors outputs;
  std::vector<bool> binary;  // per output: send as binary tensor data
};

using InferCallback = std::function<void(Result<InferResponse>)>;

}  // namespace nalar::serving
