// The REST parsers: JSON, HTTP framing and KServe v2 inference bodies (JSON and binary).
#include <gtest/gtest.h>

#include <cstring>

#include "serving/http/http_parser.h"
#include "serving/http/kserve_codec.h"
#include "core/json.h"

namespace nalar::serving {
namespace {

TEST(ServingJson, ParsesAndEscapes) {
  auto v =
      json::parse(R"({"a": [1, -2.5e3, true, null], "s": "x\"\u00e9\ud83d\ude00\n", "o": {}})");
  ASSERT_TRUE(v.is_ok()) << v.status().message();
  const json::Value* a = v->find("a");
  ASSERT_TRUE(a && a->is_array());
  EXPECT_EQ(a->items[1].number, -2500);
  int64_t i;
  EXPECT_TRUE(a->items[0].get_int64(&i));
  EXPECT_FALSE(a->items[1].get_int64(&i));
  EXPECT_EQ(v->find("s")->str, "x\"\xc3\xa9\xf0\x9f\x98\x80\n");
  json::Writer w;
  w.begin_object().key("s").string(v->find("s")->str).key("n").float32(0.1f).end_object();
  EXPECT_EQ(w.str(), "{\"s\":\"x\\\"\xc3\xa9\xf0\x9f\x98\x80\\n\",\"n\":0.1}");
}

TEST(ServingJson, RejectsMalformedInput) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\ud800\"", "[1] x",
                          "\"a\x01\"", "tru", "{\"a\":1,}", "-"}) {
    EXPECT_FALSE(json::parse(bad).is_ok()) << bad;
  }
  std::string deep(1000, '[');
  EXPECT_FALSE(json::parse(deep + std::string(1000, ']')).is_ok());
}

TEST(ServingJson, RawKeysAndFlatScalars) {
  json::ParseOptions o;
  o.raw_keys = {"data"};
  auto v = json::parse(R"({"data": [[1, 2], [3, [4]]], "x": 1})", o);
  ASSERT_TRUE(v.is_ok());
  EXPECT_EQ(v->find("data")->type, json::Type::kRaw);
  json::FlatScalars f(v->find("data")->raw);
  json::FlatScalars::Token t;
  std::string seen;
  while (f.next(&t)) seen += std::string(t.number) + ",";
  EXPECT_TRUE(f.status().is_ok());
  EXPECT_EQ(seen, "1,2,3,4,");
  json::FlatScalars bad("[1, 2");
  while (bad.next(&t)) {
  }
  EXPECT_FALSE(bad.status().is_ok());
}

TEST(ServingHttpParser, FramesRequests) {
  using namespace http;
  HttpRequest r;
  std::string raw =
      "POST /v2/models/m/infer?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbodyGET";
  ParseResult p = parse_request(raw, 100, &r);
  ASSERT_EQ(p.state, ParseState::kComplete);
  EXPECT_EQ(p.consumed, raw.size() - 3);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/v2/models/m/infer");
  EXPECT_EQ(r.query, "x=1");
  EXPECT_EQ(r.body, "body");
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(*r.header("host"), "a");

  p = parse_request("GET / HTTP/1.1\r\nHost: a\r\n", 100, &r);
  EXPECT_EQ(p.state, ParseState::kIncomplete);
  p = parse_request("POST / HTTP/1.1\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\nab", 100,
                    &r);
  EXPECT_EQ(p.state, ParseState::kIncomplete);
  EXPECT_TRUE(p.headers_done);
  EXPECT_TRUE(p.expect_continue);
  EXPECT_EQ(p.total_needed, 71u);
  p = parse_request("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 100, &r);
  EXPECT_EQ(p.state, ParseState::kError);
  EXPECT_EQ(p.status, 413);
  p = parse_request("GET / HTTP/1.0\r\n\r\n", 100, &r);
  ASSERT_EQ(p.state, ParseState::kComplete);
  EXPECT_FALSE(r.keep_alive);
  p = parse_request("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 100, &r);
  EXPECT_FALSE(r.keep_alive);
  for (const char* bad : {"GET\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n",
                          "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                          "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
                          "GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
                          "GET / HTTP/1.1\r\nno colon\r\n\r\n"}) {
    EXPECT_EQ(parse_request(bad, 100, &r).state, ParseState::kError) << bad;
  }
  EXPECT_EQ(parse_request(std::string(70000, 'a'), 100, &r).status, 431);
}

TEST(ServingHttpParser, ChunkedBodies) {
  using namespace http;
  HttpRequest r;
  const std::string head = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\n";
  ParseResult p = parse_request(head + body + "GET", 100, &r);
  ASSERT_EQ(p.state, ParseState::kComplete) << p.error;
  EXPECT_EQ(r.body, "Wikipedia");
  EXPECT_EQ(p.consumed, head.size() + body.size());
  for (size_t cut = 0; cut < body.size(); ++cut) {
    p = parse_request(head + body.substr(0, cut), 100, &r);
    EXPECT_EQ(p.state, ParseState::kIncomplete) << cut;
    EXPECT_GT(p.total_needed, head.size() + cut) << cut;
  }
  EXPECT_EQ(parse_request(head + "zz\r\n", 100, &r).status, 400);
  EXPECT_EQ(parse_request(head + "4\r\nWikiXX", 100, &r).status, 400);
  EXPECT_EQ(parse_request(head + "65\r\n", 100, &r).status, 413);
  EXPECT_EQ(parse_request(head + "ffffffffffffffff\r\n", 100, &r).status, 400);
}

TEST(ServingKServe, ParsesJsonTensorsOfEveryType) {
  auto r = kserve::parse_infer_request(R"({
    "id": "r1",
    "parameters": {"priority": 2, "timeout": 500, "binary_data_output": true},
    "inputs": [
      {"name": "f", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2.5], [-3, 4e2]]},
      {"name": "i8", "shape": [3], "datatype": "INT8", "data": [-128, 127, 3.0]},
      {"name": "u64", "shape": [1], "datatype": "UINT64", "data": [18446744073709551615]},
      {"name": "b", "shape": [2], "datatype": "BOOL", "data": [true, false]},
      {"name": "s", "shape": [1, 2], "datatype": "BYTES", "data": ["a", "\u00e9"]},
      {"name": "h", "shape": [1], "datatype": "FP16", "data": [1.5]},
      {"name": "e", "shape": [0, 3], "datatype": "INT32", "data": []}
    ],
    "outputs": [{"name": "y", "parameters": {"classification": 3, "binary_data": false}}]
  })",
                                       std::nullopt);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->id, "r1");
  EXPECT_EQ(r->priority, 2u);
  EXPECT_EQ(r->timeout_us, 500u);
  ASSERT_EQ(r->inputs.size(), 7u);
  EXPECT_EQ(r->inputs[0].second.data<float>()[3], 400.0f);
  EXPECT_EQ(r->inputs[1].second.data<int8_t>()[0], -128);
  EXPECT_EQ(r->inputs[1].second.data<int8_t>()[2], 3);
  EXPECT_EQ(r->inputs[2].second.data<uint64_t>()[0], 18446744073709551615ull);
  EXPECT_FALSE(r->inputs[3].second.data<bool>()[1]);
  EXPECT_EQ(r->inputs[4].second.data<std::string>()[1], "\xc3\xa9");
  EXPECT_EQ(static_cast<float>(r->inputs[5].second.data<Float16>()[0]), 1.5f);
  EXPECT_EQ(r->inputs[6].second.shape(), (Shape{0, 3}));
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(r->outputs[0].classification, 3);
  EXPECT_FALSE(r->outputs[0].binary);
}

TEST(ServingKServe, RejectsBadRequests) {
  const char* bad[] = {
      R"([])",
      R"({"inputs": []})",
      R"({"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP99", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1, 2]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "data": [128]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1.5]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "UINT8", "data": [-1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "BOOL", "data": [2]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1.5], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [4294967296, 4294967296], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [100000000], "datatype": "FP32", "data": [1]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [[1]]]}]})",
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}], "outputs": [{}]})",
      R"({"id": 5, "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]})",
  };
  for (const char* b : bad) {
    auto r = kserve::parse_infer_request(b, std::nullopt);
    EXPECT_FALSE(r.is_ok()) << b;
    if (!r.is_ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << b;
    }
  }
}

TEST(ServingKServe, BinaryTensorsInAndOut) {
  std::string header =
      R"({"inputs": [{"name": "f", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},)"
      R"({"name": "s", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 11}}]})";
  std::string body = header;
  float f[2] = {1.5f, -2};
  body.append(reinterpret_cast<const char*>(f), 8);
  uint32_t n = 3;
  body.append(reinterpret_cast<const char*>(&n), 4).append("abc");
  n = 0;
  body.append(reinterpret_cast<const char*>(&n), 4);
  auto r = kserve::parse_infer_request(body, header.size());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->inputs[0].second.data<float>()[1], -2.0f);
  EXPECT_EQ(r->inputs[1].second.data<std::string>()[0], "abc");
  EXPECT_EQ(r->inputs[1].second.data<std::string>()[1], "");
  // Truncated, oversized or unclaimed binary data.
  EXPECT_FALSE(kserve::parse_infer_request(body.substr(0, body.size() - 1), header.size()).is_ok());
  EXPECT_FALSE(kserve::parse_infer_request(body + "x", header.size()).is_ok());
  EXPECT_FALSE(kserve::parse_header_length("12x", 100).is_ok());
  EXPECT_FALSE(kserve::parse_header_length("101", 100).is_ok());

  InferResponse resp;
  resp.model_name = "m";
  resp.model_version = 2;
  resp.outputs = {{"a", r->inputs[0].second}, {"b", r->inputs[1].second}};
  resp.binary = {true, false};
  auto enc = kserve::encode_infer_response(resp);
  EXPECT_TRUE(enc.has_binary);
  EXPECT_EQ(enc.body.substr(0, enc.json_size),
            R"({"model_name":"m","model_version":"2","outputs":[{"name":"a","datatype":"FP32",)"
            R"("shape":[2],"parameters":{"binary_data_size":8}},{"name":"b","datatype":"BYTES",)"
            R"("shape":[2],"data":["abc",""]}]})");
  EXPECT_EQ(enc.body.size(), enc.json_size + 8);
  EXPECT_EQ(std::memcmp(enc.body.data() + enc.json_size, f, 8), 0);
}

}  // namespace
}  // namespace nalar::serving
