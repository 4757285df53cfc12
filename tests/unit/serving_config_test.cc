// config.pbtxt parsing and completion against a model (Triton's auto-complete rules).
#include <gtest/gtest.h>

#include "serving/model_config.h"
#include "test_models.h"

namespace nalar::serving {
namespace {

std::unique_ptr<Session> identity_session(const std::vector<int64_t>& dims) {
  std::string bytes = testmodels::serialize(testmodels::single_op_model("Identity", "", dims));
  auto s = Session::load_from_bytes(bytes.data(), bytes.size());
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  return std::move(s).value();
}

TEST(ServingConfig, ParsesTritonFieldsAndWarnsOnUnknownOnes) {
  std::vector<std::string> warnings;
  auto c = parse_model_config(R"(
    name: "m"
    platform: "onnxruntime_onnx"
    max_batch_size: 16
    input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
    output [ { name: "y" data_type: TYPE_FP32 dims: [ -1 ] label_filename: "labels.txt" } ]
    version_policy: { specific: { versions: [ 1, 3 ] } }
    dynamic_batching {
      preferred_batch_size: [ 4, 8 ]
      max_queue_delay_microseconds: 100
      default_queue_policy { max_queue_size: 7 default_timeout_microseconds: 5000 }
      priority_levels: 2
      default_priority_level: 1
    }
    instance_group [ { count: 2 kind: KIND_CPU } ]
    parameters { key: "k" value: { string_value: "v" } }
    optimization { graph { level: 1 } }
    future_thing: "x"
  )",
                              &warnings);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->name(), "m");
  EXPECT_EQ(c->max_batch_size(), 16);
  EXPECT_EQ(c->input(0).dims(0), 4);
  EXPECT_EQ(c->output(0).dims(0), -1);
  EXPECT_EQ(c->version_policy().specific().versions_size(), 2);
  EXPECT_EQ(c->dynamic_batching().default_queue_policy().max_queue_size(), 7u);
  EXPECT_EQ(c->dynamic_batching().priority_levels(), 2u);
  EXPECT_EQ(c->instance_group(0).count(), 2);
  EXPECT_EQ(c->parameters().at("k").string_value(), "v");
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("optimization"), std::string::npos);
  EXPECT_NE(warnings[1].find("future_thing"), std::string::npos);
}

TEST(ServingConfig, SyntaxErrorsNameTheLine) {
  auto c = parse_model_config("name: \"m\"\nmax_batch_size: \"eight\"\n", nullptr);
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("line 2"), std::string::npos) << c.status().message();
  EXPECT_FALSE(parse_model_config("input [ { name: \"x\" ", nullptr).is_ok());
}

TEST(ServingConfig, GeneratedFromModelWithSymbolicBatch) {
  auto s = identity_session({-1, 4});
  ModelConfig c;
  std::vector<std::string> w;
  ASSERT_TRUE(complete_model_config(*s, true, &c, &w).is_ok());
  EXPECT_EQ(c.max_batch_size(), kDefaultMaxBatchSize);
  EXPECT_TRUE(c.has_dynamic_batching());
  EXPECT_EQ(c.platform(), "onnxruntime_onnx");
  ASSERT_EQ(c.input_size(), 1);
  EXPECT_EQ(c.input(0).name(), "x");
  EXPECT_EQ(c.input(0).data_type(), inference::TYPE_FP32);
  ASSERT_EQ(c.input(0).dims_size(), 1);
  EXPECT_EQ(c.input(0).dims(0), 4);
  EXPECT_EQ(c.output(0).name(), "y");
  EXPECT_EQ(c.instance_group(0).count(), 1);
  EXPECT_NE(model_config_to_json(c).find("\"max_batch_size\":8"), std::string::npos);
}

TEST(ServingConfig, GeneratedFromFixedShapeModelDoesNotBatch) {
  auto s = identity_session({2, 4});
  ModelConfig c;
  std::vector<std::string> w;
  ASSERT_TRUE(complete_model_config(*s, true, &c, &w).is_ok());
  EXPECT_EQ(c.max_batch_size(), 0);
  ASSERT_EQ(c.input(0).dims_size(), 2);
  EXPECT_EQ(c.input(0).dims(0), 2);
}

TEST(ServingConfig, PartialConfigIsCompletedAndChecked) {
  auto s = identity_session({-1, 4});
  std::vector<std::string> w;
  {
    auto c = parse_model_config("max_batch_size: 4\ninput [ { name: \"x\" } ]\n", &w);
    ASSERT_TRUE(c.is_ok());
    ASSERT_TRUE(complete_model_config(*s, false, &*c, &w).is_ok());
    EXPECT_EQ(c->input(0).data_type(), inference::TYPE_FP32);
    EXPECT_EQ(c->output_size(), 1);
    EXPECT_FALSE(c->has_dynamic_batching());  // only generated configs get a batcher
  }
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    auto c = parse_model_config(text, &w);
    ASSERT_TRUE(c.is_ok());
    Status st = complete_model_config(*s, false, &*c, &w);
    ASSERT_FALSE(st.is_ok()) << text;
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
  };
  expect_error("input [ { name: \"nope\" } ]", "not an input of the model");
  expect_error("input [ { name: \"x\" data_type: TYPE_INT32 } ]", "TYPE_INT32");
  expect_error("max_batch_size: 4\ninput [ { name: \"x\" dims: [ 5 ] } ]", "disagree");
  expect_error("input [ { name: \"x\" dims: [ 4 ] } ]", "rank");
  expect_error("platform: \"tensorflow_savedmodel\"", "not supported");
  expect_error("max_batch_size: 2\ndynamic_batching { preferred_batch_size: [ 4 ] }",
               "preferred_batch_size");
  expect_error("sequence_batching { }", "sequence_batching");
  auto fixed = identity_session({2, 4});
  auto c = parse_model_config("max_batch_size: 4", &w);
  ASSERT_TRUE(c.is_ok());
  EXPECT_FALSE(complete_model_config(*fixed, false, &*c, &w).is_ok());
}

TEST(ServingConfig, DatatypeNames) {
  EXPECT_STREQ(kserve_dtype_name(DataType::kFloat), "FP32");
  EXPECT_STREQ(kserve_dtype_name(DataType::kString), "BYTES");
  EXPECT_EQ(dtype_from_kserve("BF16"), DataType::kBFloat16);
  EXPECT_EQ(dtype_from_kserve("fp32"), DataType::kUndefined);
  EXPECT_EQ(dtype_from_config(dtype_to_config(DataType::kFloat16)), DataType::kFloat16);
}

}  // namespace
}  // namespace nalar::serving
