// Unit tests of nalar-loadgen's request encoding (REST JSON, binary extension, gRPC wire
// format), response framing, percentiles and the open-loop arrival process.
#include <gtest/gtest.h>

#include <cstring>

#include "loadgen/arrivals.h"
#include "loadgen/grpc_request.h"
#include "loadgen/http_body.h"
#include "loadgen/http_driver.h"
#include "loadgen/report.h"

namespace nalar::loadgen {
namespace {

InputTensor fp32(const std::string& name, std::vector<int64_t> shape, std::vector<float> v) {
  InputTensor t{name, "FP32", std::move(shape), std::string(v.size() * 4, '\0')};
  std::memcpy(t.raw.data(), v.data(), t.raw.size());
  return t;
}

TEST(TensorSpec, GeneratesShapeAndBytesDeterministically) {
  auto a = generate_input("input:FP32:2x64", 7);
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  EXPECT_EQ(a->name, "input");
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 64}));
  EXPECT_EQ(a->raw.size(), 2u * 64u * 4u);
  auto b = generate_input("input:FP32:2x64", 7);
  EXPECT_EQ(a->raw, b->raw);
  auto c = generate_input("ids:INT64:1x8", 1);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->raw.size(), 64u);
}

TEST(TensorSpec, RejectsMalformedSpecs) {
  for (const char* bad : {"input", "input:FP32", "input:FLOAT:1x2", ":FP32:1", "x:FP32:1xx2",
                          "x:FP32:-1", "x:BYTES:1", "x:FP32:99999x99999x99"}) {
    auto r = generate_input(bad, 1);
    EXPECT_FALSE(r.is_ok()) << bad;
  }
}

TEST(HttpBody, JsonTensors) {
  auto b = encode_json_body({fp32("x", {1, 2}, {1.5f, -2.0f})});
  EXPECT_EQ(b.bytes,
            R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1.5,-2]}]})");
  EXPECT_EQ(b.header_length, 0u);
  EXPECT_EQ(b.content_type, "application/json");
}

TEST(HttpBody, BinaryExtensionLayout) {
  auto x = fp32("x", {1, 2}, {1.5f, -2.0f});
  auto y = fp32("y", {1, 1}, {3.0f});
  auto b = encode_binary_body({x, y}, true);
  const std::string header = b.bytes.substr(0, b.header_length);
  EXPECT_EQ(header,
            R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"parameters":)"
            R"({"binary_data_size":8}},{"name":"y","datatype":"FP32","shape":[1,1],)"
            R"("parameters":{"binary_data_size":4}}],"parameters":{"binary_data_output":true}})");
  EXPECT_EQ(b.bytes.substr(b.header_length), x.raw + y.raw);
  const std::string req = build_http_request("h:1", "/v2/models/m/infer", b);
  EXPECT_NE(
      req.find("Inference-Header-Content-Length: " + std::to_string(b.header_length) + "\r\n"),
      std::string::npos);
  EXPECT_NE(req.find("Content-Length: " + std::to_string(b.bytes.size()) + "\r\n\r\n"),
            std::string::npos);
  EXPECT_EQ(req.rfind("POST /v2/models/m/infer HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(req.substr(req.size() - b.bytes.size()), b.bytes);
}

TEST(HttpResponse, ParsesHead) {
  size_t head = 0;
  int status = 0;
  long len = 0;
  bool close = true;
  EXPECT_FALSE(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", &head, &status, &len,
                                   &close));
  const std::string r =
      "HTTP/1.1 503 Service Unavailable\r\ncontent-LENGTH: 12\r\n"
      "Connection: close\r\n\r\n{\"error\":1}";
  ASSERT_TRUE(parse_response_head(r, &head, &status, &len, &close));
  EXPECT_EQ(status, 503);
  EXPECT_EQ(len, 12);
  EXPECT_TRUE(close);
  EXPECT_EQ(r.substr(head), "{\"error\":1}");
  ASSERT_TRUE(parse_response_head("HTTP/1.1 200 OK\r\nX: y\r\n\r\n", &head, &status, &len, &close));
  EXPECT_EQ(len, -1);
  EXPECT_FALSE(close);
}

// Reads a protobuf varint at p.
uint64_t varint(const std::string& s, size_t& p) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<uint8_t>(s[p++]);
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
}

TEST(GrpcRequest, RawInputContentsOnTritonsFieldNumbers) {
  auto x = fp32("x", {1, 2}, {1.5f, -2.0f});
  auto y = fp32("y", {1, 1}, {3.0f});
  const auto req = encode_grpc_request("mlp", "2", {x, y});
  std::string wire;
  ASSERT_TRUE(req.SerializeToString(&wire));
  // Walk the top-level fields by hand: Triton's numbers, not just our generated code's.
  std::vector<std::pair<int, std::string>> fields;
  for (size_t p = 0; p < wire.size();) {
    const uint64_t key = varint(wire, p);
    ASSERT_EQ(key & 7, 2u);  // every top-level field here is length-delimited
    const size_t n = varint(wire, p);
    fields.emplace_back(static_cast<int>(key >> 3), wire.substr(p, n));
    p += n;
  }
  std::vector<std::pair<int, std::string>> raw;
  for (const auto& f : fields)
    if (f.first == 7) raw.push_back(f);
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0].second, x.raw);
  EXPECT_EQ(raw[1].second, y.raw);
  EXPECT_EQ(fields[0], std::make_pair(1, std::string("mlp")));  // model_name = 1
  EXPECT_EQ(fields[1], std::make_pair(2, std::string("2")));    // model_version = 2
  int inputs = 0;
  for (const auto& f : fields) inputs += f.first == 5;  // inputs = 5
  EXPECT_EQ(inputs, 2);
  inference::ModelInferRequest back;
  ASSERT_TRUE(back.ParseFromString(wire));
  ASSERT_EQ(back.inputs_size(), 2);
  EXPECT_EQ(back.inputs(0).name(), "x");
  EXPECT_EQ(back.inputs(0).datatype(), "FP32");
  EXPECT_EQ(back.inputs(0).shape_size(), 2);
  EXPECT_EQ(back.inputs(0).shape(1), 2);
  EXPECT_EQ(back.inputs(0).contents().fp32_contents_size(), 0);  // bytes go raw only
}

TEST(Report, PercentilesAndWindow) {
  const auto t0 = Clock::now();
  Recorder r(t0, t0 + std::chrono::seconds(2));
  for (int i = 1; i <= 1000; ++i) r.success(t0, t0 + std::chrono::microseconds(i));
  r.success(t0 - std::chrono::seconds(1), t0);  // warm-up: not counted
  r.success(t0 + std::chrono::seconds(3), t0);  // after the window: not counted
  r.error(t0 + std::chrono::milliseconds(1), "HTTP 503");
  Summary s = summarize(r);
  EXPECT_EQ(s.requests, 1000u);
  EXPECT_EQ(s.errors, 1u);
  EXPECT_EQ(s.first_error, "HTTP 503");
  EXPECT_DOUBLE_EQ(s.p50_us, 500);
  EXPECT_DOUBLE_EQ(s.p99_us, 990);
  EXPECT_DOUBLE_EQ(s.p999_us, 999);
  EXPECT_DOUBLE_EQ(s.max_us, 1000);
  EXPECT_DOUBLE_EQ(s.rps, 500);
  EXPECT_NE(format_json(s, "a\"b").find("\"label\": \"a\\\"b\""), std::string::npos);
}

TEST(Arrivals, PoissonMeanRate) {
  const auto t0 = Clock::now();
  PoissonArrivals a(10000, t0, 3);
  Clock::time_point last = t0;
  int cv_gaps_below_mean = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const auto t = a.next();
    ASSERT_GT(t, last);
    if (t - last < std::chrono::microseconds(100)) ++cv_gaps_below_mean;
    last = t;
  }
  const double secs = std::chrono::duration<double>(last - t0).count();
  EXPECT_NEAR(n / secs, 10000, 200);
  // Exponential gaps: P(gap < mean) = 1 - 1/e = 0.632.
  EXPECT_NEAR(cv_gaps_below_mean / double(n), 0.632, 0.01);
}

}  // namespace
}  // namespace nalar::loadgen
