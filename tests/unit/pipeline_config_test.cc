// pipeline.json parsing: defaults, every kind's members, and errors that name the member.
#include <gtest/gtest.h>

#include "pipeline/pipeline_json.h"

namespace nalar::pipeline {
namespace {

std::string error_of(const std::string& json) {
  auto c = parse_pipeline_config(json);
  EXPECT_FALSE(c.is_ok()) << json;
  return c.is_ok() ? "" : c.status().message();
}

TEST(PipelineConfig, EmptyObjectIsTensorPassThrough) {
  auto c = parse_pipeline_config("{}");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->kind, InputKind::kTensor);
  EXPECT_FALSE(c->output.has_value());
}

TEST(PipelineConfig, TabularColumns) {
  auto c = parse_pipeline_config(R"({
    "input": {"kind": "tabular", "dtype": "float64", "columns": [
      {"name": "amount", "type": "number", "missing": 0.5},
      {"name": "merchant", "type": "category", "vocabulary": ["grocery", "travel"],
       "encoding": "onehot", "unknown": -1, "missing": "travel"},
      {"name": "card_present", "type": "bool", "missing": true},
      {"name": "hour"}]},
    "output": {"activation": "softmax", "top_k": 3, "threshold": 0.7, "positive_index": 0}})");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->kind, InputKind::kTabular);
  EXPECT_EQ(c->tabular.dtype, DataType::kDouble);
  ASSERT_EQ(c->tabular.columns.size(), 4u);
  EXPECT_EQ(*c->tabular.columns[0].missing_default, 0.5);
  const ColumnConfig& m = c->tabular.columns[1];
  EXPECT_EQ(m.type, ColumnType::kCategory);
  EXPECT_EQ(m.encoding, CategoryEncoding::kOneHot);
  EXPECT_EQ(*m.unknown_index, -1);
  EXPECT_EQ(*m.missing_default, 1.0);  // "travel" is index 1
  EXPECT_EQ(*c->tabular.columns[2].missing_default, 1.0);
  EXPECT_EQ(c->tabular.columns[3].type, ColumnType::kNumber);
  EXPECT_FALSE(c->tabular.columns[3].missing_default.has_value());
  ASSERT_TRUE(c->output.has_value());
  EXPECT_EQ(c->output->activation, Activation::kSoftmax);
  EXPECT_EQ(c->output->top_k, 3);
  EXPECT_FLOAT_EQ(*c->output->threshold, 0.7f);
  EXPECT_EQ(c->output->positive_index, 0);
  EXPECT_FALSE(c->output->regression);
}

TEST(PipelineConfig, ImageAndTextMembers) {
  auto c = parse_pipeline_config(R"({"input": {"kind": "image", "color": "bgr",
      "resize": "shorter_side", "shorter_side": 256, "interpolation": "area", "height": 224,
      "width": 224, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
      "layout": "NHWC", "dtype": "uint8", "max_pixels": 1000}})");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->image.color, ColorMode::kBGR);
  EXPECT_EQ(c->image.resize, ResizeMode::kShorterSide);
  EXPECT_EQ(c->image.interpolation, Interpolation::kArea);
  EXPECT_EQ(c->image.shorter_side, 256);
  EXPECT_EQ(c->image.layout, Layout::kNHWC);
  EXPECT_EQ(c->image.dtype, DataType::kUint8);
  EXPECT_EQ(c->image.max_pixels, 1000);
  ASSERT_EQ(c->image.std.size(), 3u);

  auto t = parse_pipeline_config(R"({"input": {"kind": "text", "max_length": 64,
      "padding": "longest", "truncation": false, "inputs": {"token_type_ids": ""}}})");
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ(t->text.max_length, 64);
  EXPECT_EQ(t->text.padding, Padding::kLongest);
  EXPECT_FALSE(t->text.truncation);
  EXPECT_EQ(t->text.vocab_file, "vocab.txt");
  EXPECT_EQ(t->text.input_ids, "input_ids");
  EXPECT_EQ(t->text.token_type_ids, "");
}

TEST(PipelineConfig, ErrorsNameTheMember) {
  EXPECT_NE(error_of("[1]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(error_of("{\"input\": {").find("pipeline.json"), std::string::npos);
  EXPECT_NE(error_of(R"({"inptu": {}})").find("inptu: unknown member"), std::string::npos);
  EXPECT_NE(error_of(R"({"input": {}})").find("input.kind: required"), std::string::npos);
  EXPECT_NE(error_of(R"({"input": {"kind": "audio"}})").find("input.kind: \"audio\" is not one of"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"input": {"kind": "tabular"}})").find("input.columns: required"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"input": {"kind": "tabular", "columns": [{"name": "a", "typ": "x"}]}})")
                .find("input.columns[0].typ: unknown member"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"input": {"kind": "tabular", "columns": [{"type": "number"}]}})")
                .find("input.columns[0].name: required"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"input": {"kind": "tabular", "columns": [{"name": "m", "type": "category"}]}})")
          .find("input.columns[0].vocabulary: required"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"input": {"kind": "tabular", "columns": [{"name": "m", "type": "category",
                "vocabulary": ["a"], "missing": "b"}]}})")
                .find("input.columns[0].missing: \"b\" is not in the vocabulary"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"input": {"kind": "tabular", "columns": [{"name": "a"}, {"name": "a"}]}})")
                .find("named twice"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"input": {"kind": "tabular", "columns": [{"name": "a", "missing": "x"}]}})")
          .find("input.columns[0].missing: must be a number"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"input": {"kind": "image", "std": [1, 0, 1]}})").find("input.std"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"input": {"kind": "image", "mean": [1, 2]}})").find("input.mean: has 2 values"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"input": {"kind": "image", "pad_value": 300}})").find("input.pad_value"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"input": {"kind": "text", "max_length": 0}})").find("input.max_length"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"input": {"kind": "text", "tokenizer": "sentencepiece"}})")
                .find("input.vocab: required"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"output": {"top_k": 0}})").find("output.top_k"), std::string::npos);
  EXPECT_NE(error_of(R"({"output": {"activation": "relu"}})").find("output.activation"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"output": {"threshold": "high"}})").find("output.threshold"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"input": {"kind": "tabular", "dtype": "string", "columns": [{"name": "a"}]}})")
          .find("input.dtype"),
      std::string::npos);
}

}  // namespace
}  // namespace nalar::pipeline
