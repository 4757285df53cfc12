#include "loadgen/http_body.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace nalar::loadgen {

namespace {

void append_header_fields(std::string& s, const InputTensor& t) {
  s += "{\"name\":\"" + t.name + "\",\"datatype\":\"" + t.datatype + "\",\"shape\":[";
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(t.shape[i]);
  }
  s += ']';
}

template <class T>
T load(const std::string& raw, size_t i) {
  T v;
  std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
  return v;
}

void append_json_data(std::string& s, const InputTensor& t) {
  const size_t n = t.raw.size() / kserve_element_size(t.datatype);
  char buf[40];
  const std::string& d = t.datatype;
  for (size_t i = 0; i < n; ++i) {
    if (i) s += ',';
    int len;
    if (d == "FP32")
      len = std::snprintf(buf, sizeof buf, "%.7g", double(load<float>(t.raw, i)));
    else if (d == "FP64")
      len = std::snprintf(buf, sizeof buf, "%.17g", load<double>(t.raw, i));
    else if (d == "BOOL")
      len = std::snprintf(buf, sizeof buf, "%s", load<uint8_t>(t.raw, i) ? "true" : "false");
    else if (d == "INT8")
      len = std::snprintf(buf, sizeof buf, "%d", int(load<int8_t>(t.raw, i)));
    else if (d == "UINT8")
      len = std::snprintf(buf, sizeof buf, "%u", unsigned(load<uint8_t>(t.raw, i)));
    else if (d == "INT16")
      len = std::snprintf(buf, sizeof buf, "%d", int(load<int16_t>(t.raw, i)));
    else if (d == "UINT16")
      len = std::snprintf(buf, sizeof buf, "%u", unsigned(load<uint16_t>(t.raw, i)));
    else if (d == "INT32")
      len = std::snprintf(buf, sizeof buf, "%" PRId32, load<int32_t>(t.raw, i));
    else if (d == "UINT32")
      len = std::snprintf(buf, sizeof buf, "%" PRIu32, load<uint32_t>(t.raw, i));
    else if (d == "INT64")
      len = std::snprintf(buf, sizeof buf, "%" PRId64, load<int64_t>(t.raw, i));
    else
      len = std::snprintf(buf, sizeof buf, "%" PRIu64, load<uint64_t>(t.raw, i));
    s.append(buf, static_cast<size_t>(len));
  }
}

}  // namespace

HttpBody encode_json_body(const std::vector<InputTensor>& inputs) {
  HttpBody b;
  b.bytes = "{\"inputs\":[";
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i) b.bytes += ',';
    append_header_fields(b.bytes, inputs[i]);
    b.bytes += ",\"data\":[";
    append_json_data(b.bytes, inputs[i]);
    b.bytes += "]}";
  }
  b.bytes += "]}";
  return b;
}

HttpBody encode_binary_body(const std::vector<InputTensor>& inputs, bool binary_output) {
  HttpBody b;
  std::string& s = b.bytes;
  s = "{\"inputs\":[";
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i) s += ',';
    append_header_fields(s, inputs[i]);
    s += ",\"parameters\":{\"binary_data_size\":" + std::to_string(inputs[i].raw.size()) + "}}";
  }
  s += "],\"parameters\":{\"binary_data_output\":";
  s += binary_output ? "true" : "false";
  s += "}}";
  b.header_length = s.size();
  for (const auto& t : inputs) s += t.raw;
  b.content_type = "application/octet-stream";
  return b;
}

std::string build_http_request(const std::string& host, const std::string& path,
                               const HttpBody& body) {
  std::string r = "POST " + path + " HTTP/1.1\r\nHost: " + host +
                  "\r\nContent-Type: " + body.content_type + "\r\n";
  if (body.header_length > 0)
    r += "Inference-Header-Content-Length: " + std::to_string(body.header_length) + "\r\n";
  r += "Content-Length: " + std::to_string(body.bytes.size()) + "\r\n\r\n";
  r += body.bytes;
  return r;
}

}  // namespace nalar::loadgen
