// The output stage (activations, top-k with labels, thresholds, ai.onnx.ml classifier outputs,
// regression) with hand-computed expectations, and Pipeline's checks of a config against a model.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "pipeline/output_stage.h"
#include "pipeline/pipeline.h"
#include "pipeline/tabular_stage.h"
#include "test_models.h"

namespace nalar::pipeline {
namespace {

Record rj(std::string_view text) {
  auto r = record_from_json_text(text);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? std::move(r).value() : Record{};
}

NamedTensors one(const std::string& name, Tensor t) {
  NamedTensors n;
  n.emplace_back(name, std::move(t));
  return n;
}

TEST(PipelineOutput, SoftmaxTopKWithLabels) {
  OutputConfig c;
  c.output = "logits";
  c.activation = Activation::kSoftmax;
  c.top_k = 2;
  // Row 0: softmax(1, 2, 3) = (0.0900306, 0.2447285, 0.6652410); row 1 ties go to the lower index.
  auto out = one("logits", Tensor::from_vector<float>({1, 2, 3, 5, 5, 0}, {2, 3}));
  auto p = interpret_outputs(c, {"cat", "dog", "bird"}, out, 2);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  ASSERT_EQ(p->size(), 2u);
  const Prediction& a = (*p)[0];
  ASSERT_EQ(a.top.size(), 2u);
  EXPECT_EQ(a.top[0].label, "bird");
  EXPECT_EQ(a.top[0].index, 2);
  EXPECT_NEAR(a.top[0].score, 0.6652410, 1e-6);
  EXPECT_EQ(a.top[1].label, "dog");
  EXPECT_NEAR(a.top[1].score, 0.2447285, 1e-6);
  ASSERT_EQ(a.probabilities.size(), 3u);
  EXPECT_NEAR(a.probabilities[0], 0.0900306, 1e-6);
  EXPECT_FALSE(a.decision.has_value());
  EXPECT_TRUE(a.values.empty());
  const Prediction& b = (*p)[1];
  EXPECT_EQ(b.top[0].index, 0);
  EXPECT_EQ(b.top[1].index, 1);
  EXPECT_NEAR(b.top[0].score, 0.4983212, 1e-6);  // e^5 / (2 e^5 + 1)

  // top_k override, larger than the class count: every class; no labels: indices as text.
  p = interpret_outputs(c, {}, out, 2, 10);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ((*p)[0].top.size(), 3u);
  EXPECT_EQ((*p)[0].top[2].label, "0");
}

TEST(PipelineOutput, SigmoidScoreThresholdDecision) {
  OutputConfig c;
  c.output = "score";
  c.activation = Activation::kSigmoid;
  c.threshold = 0.8f;
  // One score per row: the threshold applies to it (positive_index 1 is ignored).
  auto out = one("score", Tensor::from_vector<float>({2.0f, 0.0f, -30.0f}, {3, 1}));
  auto p = interpret_outputs(c, {}, out, 3);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_NEAR((*p)[0].top[0].score, 0.8807971, 1e-6);
  EXPECT_TRUE(*(*p)[0].decision);
  EXPECT_NEAR((*p)[1].top[0].score, 0.5, 1e-7);
  EXPECT_FALSE(*(*p)[1].decision);
  EXPECT_NEAR((*p)[2].top[0].score, 9.357623e-14, 1e-18);
  EXPECT_FALSE(*(*p)[2].decision);
}

TEST(PipelineOutput, ThresholdOnPositiveClassOfProbabilities) {
  OutputConfig c;
  c.output = "p";
  c.threshold = 0.3f;
  c.positive_index = 1;
  auto out = one("p", Tensor::from_vector<double>({0.75, 0.25, 0.6, 0.4}, {2, 2}));
  auto p = interpret_outputs(c, {"legit", "fraud"}, out, 2);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_EQ((*p)[0].top[0].label, "legit");  // argmax
  EXPECT_FALSE(*(*p)[0].decision);           // 0.25 < 0.3
  EXPECT_TRUE(*(*p)[1].decision);            // 0.4 >= 0.3
  c.positive_index = 2;
  EXPECT_FALSE(interpret_outputs(c, {}, out, 2).is_ok());
}

TEST(PipelineOutput, ClassifierLabelTensorNamesClasses) {
  OutputConfig c;
  c.output = "probabilities";
  c.label_output = "label";
  c.top_k = 2;
  NamedTensors out;
  Tensor labels = Tensor::create(DataType::kString, {2});
  labels.data<std::string>()[0] = "setosa";
  labels.data<std::string>()[1] = "virginica";
  out.emplace_back("label", labels);
  out.emplace_back("probabilities",
                   Tensor::from_vector<float>({0.7f, 0.2f, 0.1f, 0.1f, 0.3f, 0.6f}, {2, 3}));
  auto p = interpret_outputs(c, {}, out, 2);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_EQ((*p)[0].top[0].label, "setosa");
  EXPECT_EQ((*p)[0].top[1].label, "1");  // class 1 never was a row's label here
  EXPECT_EQ((*p)[1].top[0].label, "virginica");
  EXPECT_EQ((*p)[1].top[1].label, "1");
  // Row 0's second class is class 2, named by row 1's label.
  c.top_k = 3;
  p = interpret_outputs(c, {}, out, 2);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ((*p)[0].top[2].label, "virginica");
  EXPECT_EQ((*p)[1].top[2].label, "setosa");
  EXPECT_FLOAT_EQ((*p)[0].probabilities[2], 0.1f);

  // int64 labels.
  out[0].second = Tensor::from_vector<int64_t>({7, 9}, {2});
  p = interpret_outputs(c, {}, out, 2);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ((*p)[0].top[0].label, "7");
  EXPECT_EQ((*p)[1].top[0].label, "9");
}

TEST(PipelineOutput, RegressionValuesAndRowCheck) {
  OutputConfig c;
  c.output = "y";
  c.regression = true;
  c.threshold = 10.0f;
  auto out = one("y", Tensor::from_vector<float>({12.5f, -3.0f}, {2}));
  auto p = interpret_outputs(c, {}, out, 2);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_EQ((*p)[0].values, std::vector<float>{12.5f});
  EXPECT_TRUE((*p)[0].top.empty());
  EXPECT_TRUE(*(*p)[0].decision);
  EXPECT_FALSE(*(*p)[1].decision);
  auto bad = interpret_outputs(c, {}, out, 3);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("expected 3 rows"), std::string::npos);
  Tensor s = Tensor::create(DataType::kString, {2});
  EXPECT_FALSE(interpret_outputs(c, {}, one("y", s), 2).is_ok());
}

TEST(PipelineOutput, PredictionsToJson) {
  Prediction a;
  a.top = {{7, "seven", 0.5f}};
  a.decision = true;
  Prediction b;
  b.values = {1.5f, -2.0f};
  std::vector<Prediction> ps{a, b};
  EXPECT_EQ(predictions_to_json(ps),
            R"([{"top":[{"label":"seven","index":7,"probability":0.5}],"decision":true},)"
            R"({"values":[1.5,-2]}])");
}

// Pipeline::from_json against a real session: x [batch, n] -> Identity -> y.
std::unique_ptr<Session> identity(std::vector<int64_t> dims) {
  std::string bytes = testmodels::serialize(testmodels::single_op_model("Identity", "", dims));
  auto s = Session::load_from_bytes(bytes.data(), bytes.size());
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  return std::move(s).value();
}

TEST(PipelineLoad, TabularChecksFeatureCountAndRuns) {
  auto session = identity({-1, 4});
  const std::string json = R"({"input": {"kind": "tabular", "columns": [
      {"name": "a"}, {"name": "c", "type": "category", "vocabulary": ["x", "y", "z"],
       "encoding": "onehot"}]}, "output": {"activation": "softmax"}})";
  auto p = Pipeline::from_json(json, "/nonexistent", *session);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_EQ((*p)->input_kind(), InputKind::kTabular);
  EXPECT_EQ((*p)->config().tabular.input, "x");
  EXPECT_EQ((*p)->config().output->output, "y");

  Record r1 = rj(R"({"a": 2, "c": "y"})");
  Record r2 = rj(R"({"a": 0, "c": "z"})");
  std::vector<Example> ex(2);
  ex[0].record = &r1;
  ex[1].record = &r2;
  auto in = (*p)->prepare(ex);
  ASSERT_TRUE(in.is_ok()) << in.status().message();
  ASSERT_EQ((*in)[0].second.shape(), (Shape{2, 4}));
  auto out = session->run(*in);
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  auto preds = (*p)->interpret(*out, 2);
  ASSERT_TRUE(preds.is_ok()) << preds.status().message();
  // Row 0 = (2, 0, 1, 0): softmax -> index 0 (e^2 / (e^2 + e + 2)).
  EXPECT_EQ((*preds)[0].top[0].index, 0);
  EXPECT_NEAR((*preds)[0].top[0].score, std::exp(2.0) / (std::exp(2.0) + std::exp(1.0) + 2), 1e-6);
  EXPECT_EQ((*preds)[1].top[0].index, 3);

  Record bad = rj(R"({"a": 1, "c": "w"})");
  ex[1].record = &bad;
  auto err = (*p)->prepare(ex);
  ASSERT_FALSE(err.is_ok());
  EXPECT_EQ(err.status().message(),
            "example 1: column 'c': unknown category 'w' (vocabulary: x, y, z)");

  // Five features against a model of four.
  auto wrong = Pipeline::from_json(R"({"input": {"kind": "tabular", "columns": [
      {"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}, {"name": "e"}]}})",
                                   "/nonexistent", *session);
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("make 5 features but model input 'x'"), std::string::npos)
      << wrong.status().message();
}

TEST(PipelineLoad, ErrorsAgainstTheModel) {
  auto session = identity({-1, 2});
  auto p = Pipeline::from_json(R"({"input": {"kind": "tabular", "input": "nope",
      "columns": [{"name": "a"}, {"name": "b"}]}})",
                               "/nonexistent", *session);
  ASSERT_FALSE(p.is_ok());
  EXPECT_NE(p.status().message().find("no input 'nope'"), std::string::npos);
  p = Pipeline::from_json(R"({"input": {"kind": "tabular", "dtype": "int64",
      "columns": [{"name": "a"}, {"name": "b"}]}})",
                          "/nonexistent", *session);
  ASSERT_FALSE(p.is_ok());
  EXPECT_NE(p.status().message().find("input.dtype is int64 but model input 'x' is float"),
            std::string::npos)
      << p.status().message();
  p = Pipeline::from_json(R"({"output": {"output": "z"}})", "/nonexistent", *session);
  ASSERT_FALSE(p.is_ok());
  EXPECT_NE(p.status().message().find("no output 'z'"), std::string::npos);
  p = Pipeline::from_json(R"({"output": {"threshold": 0.5, "positive_index": 2}})", "/nonexistent",
                          *session);
  ASSERT_FALSE(p.is_ok());
  EXPECT_NE(p.status().message().find("positive_index 2 is outside the 2 classes"),
            std::string::npos);
  // Image: a 2-D input cannot take images.
  p = Pipeline::from_json(R"({"input": {"kind": "image"}})", "/nonexistent", *session);
  ASSERT_FALSE(p.is_ok());
  // Tensor kind: nothing to prepare, outputs pass through as values.
  p = Pipeline::from_json("{}", "/nonexistent", *session);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  Example e;
  EXPECT_FALSE((*p)->prepare(std::span<const Example>(&e, 1)).is_ok());
  auto v = (*p)->interpret(one("y", Tensor::from_vector<float>({1, 2}, {1, 2})), 1);
  ASSERT_TRUE(v.is_ok());
  EXPECT_EQ((*v)[0].values, (std::vector<float>{1, 2}));
}

TEST(PipelineLoad, LabelsFileFromModelDir) {
  const auto dir = std::filesystem::temp_directory_path() / "nalar_pipeline_labels_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "pipeline.json") << R"({"output": {"activation": "softmax"}})";
  std::ofstream(dir / "labels.txt") << "no\r\nyes\n\n";
  auto session = identity({-1, 2});
  auto p = Pipeline::load(dir.string(), *session);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_EQ((*p)->labels(), (std::vector<std::string>{"no", "yes"}));
  auto preds = (*p)->interpret(one("y", Tensor::from_vector<float>({0, 1}, {1, 2})), 1);
  ASSERT_TRUE(preds.is_ok());
  EXPECT_EQ((*preds)[0].top[0].label, "yes");
  std::ofstream(dir / "pipeline.json") << R"({"output": {"top_k": "x"}})";
  auto bad = Pipeline::load(dir.string(), *session);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("pipeline.json: output.top_k"), std::string::npos)
      << bad.status().message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nalar::pipeline
