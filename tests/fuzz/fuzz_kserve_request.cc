// libFuzzer target for the REST request parsers: HTTP/1.1 framing, then the KServe v2 inference
// body (JSON tensors, and the binary extension when the first byte asks for it). Anything may
// fail; nothing may crash, hang, leak or allocate beyond what the bytes justify.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "serving/http/http_parser.h"
#include "serving/http/kserve_codec.h"
#include "core/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nalar::serving;
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode & 1) {
    // HTTP framing, as the server loop calls it, with a small body limit.
    http::HttpRequest req;
    size_t pos = 0;
    while (pos < bytes.size()) {
      auto r = http::parse_request(bytes.substr(pos), 1 << 16, &req);
      if (r.state != http::ParseState::kComplete || r.consumed == 0) break;
      pos += r.consumed;
    }
    return 0;
  }
  // Inference body; bit 1 selects the binary extension with the header length in byte 1.
  std::optional<size_t> header_length;
  if ((mode & 2) && !bytes.empty()) {
    size_t n = static_cast<uint8_t>(bytes[0]);
    bytes.remove_prefix(1);
    if (n <= bytes.size()) header_length = n;
  }
  auto req = kserve::parse_infer_request(bytes, header_length);
  if (req.is_ok()) {
    InferResponse resp;
    resp.outputs = req->inputs;
    resp.binary.assign(resp.outputs.size(), (mode & 4) != 0);
    (void)kserve::encode_infer_response(resp);
  }
  return 0;
}
