// KServe v2 REST inference bodies <-> InferRequest / InferResponse: JSON tensors and Triton's
// binary tensor extension (Inference-Header-Content-Length). Untrusted input: every malformed,
// inconsistent or oversized request is an invalid_argument Status; allocations are bounded by
// the body's own size.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "nalar/status.h"
#include "serving/infer_request.h"

namespace nalar::serving::kserve {

// `header_length`: the Inference-Header-Content-Length value, when the header was sent; the
// JSON is body[0, header_length) and binary tensor data follows it.
Result<InferRequest> parse_infer_request(std::string_view body,
                                         std::optional<size_t> header_length);

// Parses the Inference-Header-Content-Length header value.
Result<size_t> parse_header_length(std::string_view value, size_t body_size);

struct EncodedResponse {
  std::string body;
  size_t json_size = 0;     // bytes of JSON at the start of `body`
  bool has_binary = false;  // then send Inference-Header-Content-Length: json_size
};

EncodedResponse encode_infer_response(const InferResponse& response);

// Standard or URL-safe base64, padding optional, line breaks ignored. BYTES inputs in JSON whose
// "parameters" say {"content_type": "base64"} are decoded with it (raw image bytes in JSON).
Result<std::string> decode_base64(std::string_view text);

}  // namespace nalar::serving::kserve
