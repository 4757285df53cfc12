// The gRPC codec: ModelInferRequest (raw and typed contents) -> InferRequest, InferResponse ->
// raw_output_contents, and the version string rule.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>

#include "serving/grpc/grpc_codec.h"

namespace nalar::serving::kserve_grpc {
namespace {

std::string le32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

inference::ModelInferRequest::InferInputTensor* add_input(inference::ModelInferRequest* r,
                                                          const std::string& name,
                                                          const std::string& dtype,
                                                          std::initializer_list<int64_t> shape) {
  auto* in = r->add_inputs();
  in->set_name(name);
  in->set_datatype(dtype);
  for (int64_t d : shape) in->add_shape(d);
  return in;
}

TEST(GrpcCodec, RawInputsOfEveryKind) {
  inference::ModelInferRequest r;
  r.set_id("x");
  add_input(&r, "F", "FP32", {1, 2});
  const float f[2] = {1.5f, -2.0f};
  r.add_raw_input_contents(std::string(reinterpret_cast<const char*>(f), sizeof f));
  add_input(&r, "B", "BOOL", {3});
  r.add_raw_input_contents(std::string("\x00\x02\x01", 3));  // any non-zero byte is true
  add_input(&r, "S", "BYTES", {2});
  r.add_raw_input_contents(le32(2) + "hi" + le32(0));
  add_input(&r, "H", "FP16", {1});
  r.add_raw_input_contents(std::string("\x00\x3c", 2));  // 1.0
  auto d = decode_infer_request(r);
  ASSERT_TRUE(d.is_ok()) << d.status().message();
  EXPECT_EQ(d->id, "x");
  ASSERT_EQ(d->inputs.size(), 4u);
  EXPECT_EQ(d->inputs[0].second.data<float>()[1], -2.0f);
  const bool* b = d->inputs[1].second.data<bool>();
  EXPECT_FALSE(b[0]);
  EXPECT_TRUE(b[1]);
  EXPECT_TRUE(b[2]);
  EXPECT_EQ(d->inputs[2].second.data<std::string>()[0], "hi");
  EXPECT_EQ(d->inputs[2].second.data<std::string>()[1], "");
  EXPECT_EQ(static_cast<float>(d->inputs[3].second.data<Float16>()[0]), 1.0f);
}

TEST(GrpcCodec, TypedContentsAreRangeChecked) {
  inference::ModelInferRequest r;
  auto* in = add_input(&r, "A", "UINT8", {2});
  in->mutable_contents()->add_uint_contents(255);
  in->mutable_contents()->add_uint_contents(0);
  auto ok = decode_infer_request(r);
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  EXPECT_EQ(ok->inputs[0].second.data<uint8_t>()[0], 255);
  in->mutable_contents()->set_uint_contents(1, 256);
  auto bad = decode_infer_request(r);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("out of range for UINT8"), std::string::npos);

  inference::ModelInferRequest s;
  auto* i8 = add_input(&s, "A", "INT16", {1});
  i8->mutable_contents()->add_int_contents(-32769);
  EXPECT_FALSE(decode_infer_request(s).is_ok());
  i8->mutable_contents()->set_int_contents(0, -32768);
  EXPECT_TRUE(decode_infer_request(s).is_ok());
}

TEST(GrpcCodec, RejectsInconsistentRequests) {
  auto message_of = [](const inference::ModelInferRequest& r) {
    auto d = decode_infer_request(r);
    EXPECT_FALSE(d.is_ok());
    return d.is_ok() ? std::string() : d.status().message();
  };
  {  // typed data for a raw-only type
    inference::ModelInferRequest r;
    add_input(&r, "H", "BF16", {1})->mutable_contents()->add_fp32_contents(1);
    EXPECT_NE(message_of(r).find("raw_input_contents"), std::string::npos);
  }
  {  // raw BYTES whose length prefix runs past the data
    inference::ModelInferRequest r;
    add_input(&r, "S", "BYTES", {1});
    r.add_raw_input_contents(le32(100) + "abc");
    EXPECT_NE(message_of(r).find("overruns"), std::string::npos);
  }
  {  // a huge BYTES shape cannot allocate more than the bytes sent allow
    inference::ModelInferRequest r;
    add_input(&r, "S", "BYTES", {int64_t{1} << 40});
    r.add_raw_input_contents(le32(0));
    EXPECT_NE(message_of(r).find("cannot hold"), std::string::npos);
  }
  {  // shape product overflow
    inference::ModelInferRequest r;
    add_input(&r, "F", "FP32", {int64_t{1} << 40, int64_t{1} << 40});
    r.add_raw_input_contents("");
    EXPECT_NE(message_of(r).find("overflows"), std::string::npos);
  }
  {  // the wrong typed field
    inference::ModelInferRequest r;
    add_input(&r, "F", "FP64", {1})->mutable_contents()->add_fp32_contents(1);
    EXPECT_NE(message_of(r).find("fp64_contents"), std::string::npos);
  }
  {  // priority beyond uint32
    inference::ModelInferRequest r;
    (*r.mutable_parameters())["priority"].set_uint64_param(uint64_t{1} << 33);
    EXPECT_NE(message_of(r).find("priority"), std::string::npos);
  }
}

TEST(GrpcCodec, ParametersAndOutputs) {
  inference::ModelInferRequest r;
  (*r.mutable_parameters())["priority"].set_int64_param(2);
  (*r.mutable_parameters())["timeout"].set_uint64_param(std::numeric_limits<uint64_t>::max());
  auto* o = r.add_outputs();
  o->set_name("OUT");
  (*o->mutable_parameters())["classification"].set_int64_param(3);
  auto d = decode_infer_request(r);
  ASSERT_TRUE(d.is_ok()) << d.status().message();
  EXPECT_EQ(d->priority, 2u);
  EXPECT_EQ(d->timeout_us, uint64_t{365} * 24 * 3600 * 1000000);  // clamped to a year
  ASSERT_EQ(d->outputs.size(), 1u);
  EXPECT_EQ(d->outputs[0].classification, 3);
}

TEST(GrpcCodec, EncodesRawOutputs) {
  InferResponse resp;
  resp.model_name = "m";
  resp.model_version = 4;
  resp.id = "r";
  resp.outputs.emplace_back("F", Tensor::from_vector<int32_t>({7, -1}, {2, 1}));
  resp.outputs.emplace_back("S", Tensor::from_vector<std::string>({"ab", ""}, {2}));
  inference::ModelInferResponse out;
  encode_infer_response(resp, &out);
  EXPECT_EQ(out.model_version(), "4");
  EXPECT_EQ(out.id(), "r");
  ASSERT_EQ(out.outputs_size(), 2);
  ASSERT_EQ(out.raw_output_contents_size(), 2);
  EXPECT_EQ(out.outputs(0).datatype(), "INT32");
  EXPECT_EQ(out.outputs(0).shape_size(), 2);
  int32_t v[2];
  ASSERT_EQ(out.raw_output_contents(0).size(), sizeof v);
  std::memcpy(v, out.raw_output_contents(0).data(), sizeof v);
  EXPECT_EQ(v[1], -1);
  EXPECT_EQ(out.outputs(1).datatype(), "BYTES");
  EXPECT_EQ(out.raw_output_contents(1), le32(2) + "ab" + le32(0));
}

TEST(GrpcCodec, ModelVersions) {
  EXPECT_EQ(parse_model_version("").value(), -1);
  EXPECT_EQ(parse_model_version("12").value(), 12);
  for (const char* bad : {"0", "01", "-1", "1.0", "abc", "9999999999999999999"})
    EXPECT_EQ(parse_model_version(bad).status().code(), StatusCode::kNotFound) << bad;
}

}  // namespace
}  // namespace nalar::serving::kserve_grpc
