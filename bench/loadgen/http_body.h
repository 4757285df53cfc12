// KServe v2 REST request bodies: JSON tensors, or Triton's binary tensor extension (a JSON
// header followed by the raw tensor bytes, its length in Inference-Header-Content-Length).
#pragma once

#include <string>
#include <vector>

#include "loadgen/tensor_spec.h"

namespace nalar::loadgen {

struct HttpBody {
  std::string bytes;
  size_t header_length = 0;  // 0: plain JSON (no Inference-Header-Content-Length)
  std::string content_type = "application/json";
};

// {"inputs":[{"name","shape","datatype","data":[...]}]}; `binary_output` asks for binary outputs.
HttpBody encode_json_body(const std::vector<InputTensor>& inputs);
HttpBody encode_binary_body(const std::vector<InputTensor>& inputs, bool binary_output);

// The full HTTP/1.1 request (keep-alive) for POSTing `body` to `path` on `host`.
std::string build_http_request(const std::string& host, const std::string& path,
                               const HttpBody& body);

}  // namespace nalar::loadgen
