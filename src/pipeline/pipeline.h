// A model's pipeline: how raw examples (an image file's bytes, a record of named fields, a text)
// become the model's input tensors, and how its output tensors become answers people can act on
// (labels with probabilities, a yes/no decision, a value). Declared per model in
// <model dir>/pipeline.json; `run`, `serve` and `batch` all go through this one class.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nalar/session.h"
#include "nalar/status.h"
#include "nalar/tensor.h"
#include "pipeline/pipeline_config.h"

namespace nalar::pipeline {

// One value of a named field, as a JSON object or a CSV row gives it.
struct FieldValue {
  enum class Kind { kMissing, kNumber, kString, kBool };
  Kind kind = Kind::kMissing;
  double number = 0;
  std::string text;  // kString: the text (a CSV cell is always kString; the stage parses it)
  bool flag = false;

  static FieldValue missing() { return {}; }
  static FieldValue of_number(double v) { return {Kind::kNumber, v, {}, false}; }
  static FieldValue of_string(std::string s) { return {Kind::kString, 0, std::move(s), false}; }
  static FieldValue of_bool(bool b) { return {Kind::kBool, 0, {}, b}; }
};

// A tabular record: named fields in any order. Unknown names are ignored by the tabular stage.
struct Record {
  std::vector<std::string> names;
  std::vector<FieldValue> values;

  const FieldValue* find(std::string_view name) const {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return &values[i];
    return nullptr;
  }
};

// One example as it arrives. The pipeline's input kind says which part is read:
// kImage: `bytes` holds an encoded JPEG or PNG; kText: `bytes` holds UTF-8 text;
// kTabular: `record` holds the named fields.
struct Example {
  std::string_view bytes;
  const Record* record = nullptr;
};

struct ClassScore {
  int64_t index = 0;
  std::string label;  // from labels.txt, or the classifier's own label, or the index as text
  float score = 0;    // probability after the configured activation
};

// What the output stage makes of one example's outputs.
struct Prediction {
  std::vector<ClassScore> top;       // classification: best first, top_k of them
  std::vector<float> probabilities;  // classification: every class, in index order
  std::optional<bool> decision;      // with a threshold: the yes/no answer
  std::vector<float> values;         // no classification (regression): the output row as floats
};

class Pipeline {
 public:
  // Reads <model_dir>/pipeline.json (and the labels and vocabulary files it names) and checks it
  // against the session's inputs and outputs. Without pipeline.json: a pass-through pipeline
  // (kind kTensor), still with labels.txt for classification if present.
  static Result<std::unique_ptr<Pipeline>> load(const std::string& model_dir,
                                                const Session& session);
  // The same from the JSON text; files are relative to `model_dir`.
  static Result<std::unique_ptr<Pipeline>> from_json(std::string_view json,
                                                     const std::string& model_dir,
                                                     const Session& session);
  ~Pipeline();

  const PipelineConfig& config() const { return config_; }
  InputKind input_kind() const { return config_.kind; }
  bool has_output_stage() const { return config_.output.has_value(); }
  const std::vector<std::string>& labels() const { return labels_; }

  // Prepares a batch of examples into the model's input tensors, stacked along dim 0. Fails on
  // the first bad example with a message that starts "example <i>: " and names the problem
  // (a corrupt image, a missing column, an unknown category, a text too long ...). Callers that
  // must keep going (batch jobs) prepare the examples of a failed batch one by one.
  // `threads` > 1 lets image examples be decoded on up to that many threads at once (a server
  // answering one batched request on otherwise idle cores); callers that already run many
  // prepare() calls side by side (batch jobs) keep the default.
  Result<NamedTensors> prepare(std::span<const Example> examples, int threads = 1) const;

  // Turns the model's outputs for `rows` examples (dim 0) into one Prediction per example.
  Result<std::vector<Prediction>> interpret(const NamedTensors& outputs, size_t rows) const;
  // The same with `top_k` classes per example instead of the configured number (0: configured).
  // Without an output stage each Prediction holds the first output's row as `values`.
  Result<std::vector<Prediction>> interpret(const NamedTensors& outputs, size_t rows,
                                            int top_k) const;

 private:
  Pipeline() = default;
  struct Impl;
  PipelineConfig config_;
  std::vector<std::string> labels_;
  std::unique_ptr<Impl> impl_;  // stage state: tokenizer, input shapes, output indices
};

// Predictions as JSON for programs: one object per example,
// {"top": [{"label": "7", "index": 7, "probability": 0.97}, ...], "decision": true, "values":
// [...]} (members present when they apply).
std::string predictions_to_json(std::span<const Prediction> predictions);

}  // namespace nalar::pipeline
