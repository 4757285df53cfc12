// HTTP/1.1 request framing over a byte buffer: request line, headers, Content-Length body.
// Pure (no sockets) so the fuzz target can drive it. Limits are enforced before any body is
// buffered: a declared body over the limit is refused with 413 from the headers alone.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nalar::serving::http {

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: path plus optional "?query"
  std::string path;    // target without the query
  std::string query;
  int version_minor = 1;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  bool keep_alive = true;

  const std::string* header(std::string_view lower_name) const;
};

enum class ParseState { kIncomplete, kComplete, kError };

struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  size_t consumed = 0;        // kComplete: bytes of this request (headers + body)
  bool headers_done = false;  // kIncomplete: headers parsed, body still arriving
  bool expect_continue = false;
  size_t total_needed = 0;  // headers_done: bytes the whole request will take
  int status = 0;           // kError: the HTTP status to answer with (400, 411, 413, 431, 501, 505)
  std::string error;
};

inline constexpr size_t kMaxHeaderBytes = 64 * 1024;

// Parses one request at the start of `buf`. On kComplete, `out` is filled.
ParseResult parse_request(std::string_view buf, size_t max_body, HttpRequest* out);

const char* status_reason(int status);

}  // namespace nalar::serving::http
