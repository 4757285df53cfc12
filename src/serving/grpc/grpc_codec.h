// KServe v2 gRPC messages <-> the protocol-neutral InferRequest / InferResponse. Inputs come as
// raw_input_contents (one entry per input, in `inputs` order; BYTES elements are a 4-byte
// little-endian length and the bytes) or as typed `contents` (FP16/BF16 only raw); outputs go
// back as raw_output_contents, like Triton. Untrusted input: every malformed or inconsistent
// request is an invalid_argument Status, and allocations are bounded by the message's own size.
#pragma once

#include <cstdint>
#include <string>

#include "nalar/status.h"
#include "serving/grpc/grpc_service.pb.h"
#include "serving/infer_request.h"

namespace nalar::serving::kserve_grpc {

// Inputs, requested outputs (classification), id and the priority / timeout parameters; the
// model name and version are left to the caller (see parse_model_version).
Result<InferRequest> decode_infer_request(const inference::ModelInferRequest& request);

// Fills `out` (expected empty) with the outputs as raw_output_contents.
void encode_infer_response(const InferResponse& response, inference::ModelInferResponse* out);

// "" -> -1 (the latest version); "3" -> 3; anything else is an unknown version (not_found).
Result<int64_t> parse_model_version(const std::string& version);

}  // namespace nalar::serving::kserve_grpc
