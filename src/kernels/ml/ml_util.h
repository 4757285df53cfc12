// Shared pieces of the ai.onnx.ml kernels: post transforms, label outputs, reading the numeric
// input X (float/double/int64/int32) as a dense [N, C] array of one element type.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace nalar::ml {

inline constexpr const char* kDomain = "ai.onnx.ml";

enum class PostTransform { kNone, kSoftmax, kLogistic, kSoftmaxZero, kProbit };

Result<PostTransform> parse_post_transform(const std::string& s, const char* op);

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// sqrt(2) * erfinv(2p - 1): the inverse of the standard normal CDF.
double probit(double p);

// Applies `t` in place to one row of `n` scores (softmax variants work across the row).
void apply_post_transform(PostTransform t, double* v, int64_t n);

// The class labels of a classifier: int64s or strings (exactly one is used).
struct ClassLabels {
  bool strings = false;
  std::vector<int64_t> ints;
  std::vector<std::string> strs;
  int64_t size() const {
    return strings ? static_cast<int64_t>(strs.size()) : static_cast<int64_t>(ints.size());
  }
  // A [n] tensor of labels whose class index per row comes from `idx`.
  Tensor make(const std::vector<int64_t>& idx, Shape shape) const;
};

// Reads classlabels_<int_name>/classlabels_strings; errors if neither or both are given.
Result<ClassLabels> read_class_labels(const Node& node, const char* int_name, const char* op);

// X as a row-major [N, C] array of T (converted when the element type differs). Rank 1 input is
// one row. `holder` keeps converted data alive; the returned pointer is valid while it lives.
template <class T>
Result<const T*> input_as(const Tensor& x, std::vector<T>& holder, int64_t& n, int64_t& c,
                          const char* op);

// Reads a float list attribute or its *_as_tensor twin as doubles. `present` tells which was set.
std::vector<double> read_doubles(const Node& node, const std::string& name, bool* present = nullptr,
                                 bool* is_double = nullptr);

}  // namespace nalar::ml
