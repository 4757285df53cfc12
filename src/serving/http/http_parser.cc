#include "serving/http/http_parser.h"

#include <algorithm>
#include <cctype>

namespace nalar::serving::http {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

ParseResult error(int status, std::string message) {
  ParseResult r;
  r.state = ParseState::kError;
  r.status = status;
  r.error = std::move(message);
  return r;
}

// Whether a comma-separated header value lists `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  std::string v = lower(value);
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = v.find(',', pos);
    if (comma == std::string::npos) comma = v.size();
    if (trim(std::string_view(v).substr(pos, comma - pos)) == token) return true;
    pos = comma + 1;
  }
  return false;
}

// The chunked body starting at `pos`. Sizes are scanned first; bytes are copied once, when
// the last chunk has arrived. While incomplete, total_needed is a lower bound on what it takes.
ParseResult parse_chunked(std::string_view buf, size_t pos, size_t max_body, HttpRequest req,
                          ParseResult r, HttpRequest* out) {
  std::vector<std::pair<size_t, size_t>> pieces;
  size_t total = 0;
  auto incomplete = [&](size_t needed) {
    r.state = ParseState::kIncomplete;
    r.headers_done = true;
    r.total_needed = needed;
    return r;
  };
  while (true) {
    size_t le = buf.find("\r\n", pos);
    if (le == std::string_view::npos) {
      if (buf.size() - pos > 1024) return error(400, "malformed chunk size line");
      return incomplete(buf.size() + 1);
    }
    std::string_view line = buf.substr(pos, le - pos);
    line = line.substr(0, line.find(';'));  // chunk extensions are ignored
    line = trim(line);
    if (line.empty() || line.size() > 15) return error(400, "malformed chunk size");
    size_t size = 0;
    for (char c : line) {
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) return error(400, "malformed chunk size");
      size = size * 16 + static_cast<size_t>(d);
    }
    pos = le + 2;
    if (size == 0) {
      // Optional trailer lines, then an empty line.
      while (true) {
        size_t te = buf.find("\r\n", pos);
        if (te == std::string_view::npos) {
          if (buf.size() - pos > kMaxHeaderBytes) return error(431, "chunked trailers too large");
          return incomplete(buf.size() + 1);
        }
        const bool last = te == pos;
        pos = te + 2;
        if (last) break;
      }
      break;
    }
    if (size > max_body - total)
      return error(
          413, "chunked request body exceeds the limit of " + std::to_string(max_body) + " bytes");
    if (buf.size() - pos < size + 2) return incomplete(pos + size + 2);
    if (buf.substr(pos + size, 2) != "\r\n") return error(400, "chunk data not followed by CRLF");
    pieces.emplace_back(pos, size);
    total += size;
    pos += size + 2;
  }
  req.body.reserve(total);
  for (const auto& [p, n] : pieces) req.body.append(buf.substr(p, n));
  *out = std::move(req);
  r.state = ParseState::kComplete;
  r.consumed = pos;
  r.headers_done = false;
  return r;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return &v;
  return nullptr;
}

ParseResult parse_request(std::string_view buf, size_t max_body, HttpRequest* out) {
  // Tolerate blank lines before a request (RFC 9112 2.2).
  size_t start = 0;
  while (start + 1 < buf.size() && buf[start] == '\r' && buf[start + 1] == '\n') start += 2;
  size_t end = buf.find("\r\n\r\n", start);
  if (end == std::string_view::npos) {
    if (buf.size() - start > kMaxHeaderBytes)
      return error(431, "request headers exceed " + std::to_string(kMaxHeaderBytes) + " bytes");
    return {};
  }
  if (end - start > kMaxHeaderBytes)
    return error(431, "request headers exceed " + std::to_string(kMaxHeaderBytes) + " bytes");
  std::string_view head = buf.substr(start, end - start);
  const size_t body_start = end + 4;

  HttpRequest req;
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1)
    return error(400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!std::all_of(method.begin(), method.end(), is_token_char))
    return error(400, "malformed request method");
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return error(400, "malformed request target");
  if (version == "HTTP/1.1") {
    req.version_minor = 1;
  } else if (version == "HTTP/1.0") {
    req.version_minor = 0;
    req.keep_alive = false;
  } else {
    return error(505, "only HTTP/1.0 and HTTP/1.1 are supported");
  }
  req.method.assign(method);
  req.target.assign(target);
  size_t q = target.find('?');
  req.path.assign(target.substr(0, q));
  if (q != std::string_view::npos) req.query.assign(target.substr(q + 1));

  size_t content_length = 0;
  bool have_length = false;
  bool chunked = false;
  ParseResult r;
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) e = head.size();
    std::string_view h = head.substr(pos, e - pos);
    pos = e + 2;
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return error(400, "malformed header line");
    std::string_view name = h.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char))
      return error(400, "malformed header name");
    std::string_view value = trim(h.substr(colon + 1));
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
        return error(400, "control character in header value");
    std::string lname = lower(name);
    if (lname == "content-length") {
      if (value.empty() || value.size() > 19 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return error(400, "invalid Content-Length");
      size_t v = std::stoull(std::string(value));
      if (have_length && v != content_length) return error(400, "conflicting Content-Length");
      content_length = v;
      have_length = true;
    } else if (lname == "transfer-encoding") {
      if (lower(value) != "chunked")
        return error(501, "unsupported Transfer-Encoding '" + std::string(value) + "'");
      chunked = true;
    } else if (lname == "connection") {
      if (has_token(value, "close")) req.keep_alive = false;
      if (has_token(value, "keep-alive") && req.version_minor == 0) req.keep_alive = true;
    } else if (lname == "expect") {
      if (lower(value) != "100-continue") return error(417, "unsupported Expect header");
      r.expect_continue = true;
    }
    req.headers.emplace_back(std::move(lname), std::string(value));
  }
  if (chunked) {
    if (have_length) return error(400, "both Content-Length and Transfer-Encoding");
    return parse_chunked(buf, body_start, max_body, std::move(req), std::move(r), out);
  }
  if (content_length > max_body)
    return error(413, "request body of " + std::to_string(content_length) +
                          " bytes exceeds the limit of " + std::to_string(max_body) + " bytes");
  if (buf.size() - body_start < content_length) {
    r.headers_done = true;
    r.total_needed = body_start + content_length;
    return r;
  }
  req.body.assign(buf.substr(body_start, content_length));
  *out = std::move(req);
  r.state = ParseState::kComplete;
  r.consumed = body_start + content_length;
  return r;
}

const char* status_reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace nalar::serving::http
