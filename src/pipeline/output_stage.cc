#include "pipeline/output_stage.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace nalar::pipeline {

namespace {

const Tensor* find_output(const NamedTensors& outputs, const std::string& name) {
  for (const auto& [n, t] : outputs)
    if (n == name) return &t;
  return nullptr;
}

// Element i of a numeric tensor as float; false for strings and complex types.
bool numeric_to_floats(const Tensor& t, std::vector<float>* out) {
  const int64_t n = t.size();
  out->resize(static_cast<size_t>(n));
  float* d = out->data();
  switch (t.dtype()) {
    case DataType::kFloat:
      std::copy_n(t.data<float>(), n, d);
      return true;
    case DataType::kDouble:
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(t.data<double>()[i]);
      return true;
    case DataType::kFloat16:
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(t.data<Float16>()[i]);
      return true;
    case DataType::kBFloat16:
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(t.data<BFloat16>()[i]);
      return true;
    case DataType::kInt64:
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(t.data<int64_t>()[i]);
      return true;
    case DataType::kInt32:
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(t.data<int32_t>()[i]);
      return true;
    case DataType::kInt8:
      for (int64_t i = 0; i < n; ++i) d[i] = t.data<int8_t>()[i];
      return true;
    case DataType::kUint8:
      for (int64_t i = 0; i < n; ++i) d[i] = t.data<uint8_t>()[i];
      return true;
    case DataType::kBool:
      for (int64_t i = 0; i < n; ++i) d[i] = t.data<bool>()[i] ? 1.f : 0.f;
      return true;
    default:
      return false;
  }
}

// The classifier's label of row r as text (int64 or string label tensors).
std::string label_text(const Tensor& labels, int64_t r) {
  if (labels.dtype() == DataType::kString) return labels.data<std::string>()[r];
  if (labels.dtype() == DataType::kInt64) return std::to_string(labels.data<int64_t>()[r]);
  if (labels.dtype() == DataType::kInt32) return std::to_string(labels.data<int32_t>()[r]);
  std::vector<float> v;
  numeric_to_floats(labels, &v);
  return std::to_string(static_cast<int64_t>(v[static_cast<size_t>(r)]));
}

Status check_rows(const Tensor& t, const std::string& name, size_t rows) {
  if (rows == 0) return Status::ok();
  if (t.rank() == 0 || t.dim(0) != static_cast<int64_t>(rows))
    return invalid_argument("output '" + name + "' has shape " + shape_to_string(t.shape()) +
                            ", expected " + std::to_string(rows) + " rows along dim 0");
  return Status::ok();
}

}  // namespace

void softmax(float* v, size_t n) {
  if (n == 0) return;
  const float m = *std::max_element(v, v + n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    v[i] = std::exp(v[i] - m);
    sum += v[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (size_t i = 0; i < n; ++i) v[i] *= inv;
}

void sigmoid(float* v, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    // Two forms so that exp never overflows.
    if (v[i] >= 0) {
      v[i] = 1.f / (1.f + std::exp(-v[i]));
    } else {
      const float e = std::exp(v[i]);
      v[i] = e / (1.f + e);
    }
  }
}

Result<std::vector<Prediction>> interpret_outputs(const OutputConfig& config,
                                                  const std::vector<std::string>& labels,
                                                  const NamedTensors& outputs, size_t rows,
                                                  int top_k) {
  const Tensor* scores = find_output(outputs, config.output);
  if (!scores) return internal_error("the model did not produce output '" + config.output + "'");
  NALAR_RETURN_IF_ERROR(check_rows(*scores, config.output, rows));
  std::vector<float> values;
  if (!numeric_to_floats(*scores, &values))
    return invalid_argument("output '" + config.output + "' is " + scores->describe() +
                            "; the output stage needs numbers");
  const Tensor* label_tensor = nullptr;
  if (!config.label_output.empty()) {
    label_tensor = find_output(outputs, config.label_output);
    if (!label_tensor)
      return internal_error("the model did not produce output '" + config.label_output + "'");
    NALAR_RETURN_IF_ERROR(check_rows(*label_tensor, config.label_output, rows));
    if (rows > 0 && label_tensor->size() != static_cast<int64_t>(rows))
      return invalid_argument("label output '" + config.label_output + "' has shape " +
                              shape_to_string(label_tensor->shape()) +
                              ", expected one label per row");
  }
  std::vector<Prediction> preds(rows);
  if (rows == 0) return preds;
  const size_t classes = values.size() / rows;
  if (classes == 0) return invalid_argument("output '" + config.output + "' has no values per row");
  const size_t k = std::min<size_t>(
      top_k > 0 ? static_cast<size_t>(top_k) : static_cast<size_t>(std::max(1, config.top_k)),
      classes);
  // With one score the threshold applies to it, whatever positive_index says.
  const size_t positive = classes == 1 ? 0 : static_cast<size_t>(config.positive_index);
  if (config.threshold && positive >= classes)
    return invalid_argument("output.positive_index " + std::to_string(config.positive_index) +
                            " is outside the " + std::to_string(classes) + " values of output '" +
                            config.output + "'");

  // ai.onnx.ml classifiers name their classes only through the label tensor: learn which index
  // each label belongs to from the rows of this batch (the label is the argmax class).
  std::map<size_t, std::string> classifier_labels;
  std::vector<size_t> argmax(rows, 0);
  for (size_t r = 0; r < rows; ++r) {
    float* row = values.data() + r * classes;
    if (!config.regression) {
      if (config.activation == Activation::kSoftmax) softmax(row, classes);
      if (config.activation == Activation::kSigmoid) sigmoid(row, classes);
    }
    argmax[r] = static_cast<size_t>(std::max_element(row, row + classes) - row);
    if (label_tensor)
      classifier_labels.emplace(argmax[r], label_text(*label_tensor, static_cast<int64_t>(r)));
  }

  std::vector<size_t> order(classes);
  for (size_t r = 0; r < rows; ++r) {
    const float* row = values.data() + r * classes;
    Prediction& p = preds[r];
    if (config.threshold) p.decision = row[positive] >= *config.threshold;
    if (config.regression) {
      p.values.assign(row, row + classes);
      continue;
    }
    p.probabilities.assign(row, row + classes);
    std::iota(order.begin(), order.end(), size_t{0});
    // Highest first; ties go to the lower index, like argmax.
    std::partial_sort(
        order.begin(), order.begin() + static_cast<ptrdiff_t>(k), order.end(),
        [row](size_t a, size_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    for (size_t j = 0; j < k; ++j) {
      const size_t i = order[j];
      ClassScore cs;
      cs.index = static_cast<int64_t>(i);
      cs.score = row[i];
      if (i < labels.size()) {
        cs.label = labels[i];
      } else if (label_tensor && i == argmax[r]) {
        cs.label = label_text(*label_tensor, static_cast<int64_t>(r));
      } else if (auto it = classifier_labels.find(i); it != classifier_labels.end()) {
        cs.label = it->second;
      } else {
        cs.label = std::to_string(i);
      }
      p.top.push_back(std::move(cs));
    }
  }
  return preds;
}

}  // namespace nalar::pipeline
