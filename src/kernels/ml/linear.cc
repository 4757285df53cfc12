// LinearClassifier and LinearRegressor (ai.onnx.ml 1): scores = X * W^T + b, then the post
// transform. Dot products accumulate in double.
#include <algorithm>

#include "kernels/common.h"
#include "kernels/ml/ml_util.h"

namespace nalar::ml {
namespace {

// out[r * k + j] = sum_f x[r, f] * w[j, f] + b[j], rows split across threads.
void linear_scores(const double* x, int64_t n, int64_t f, const std::vector<double>& w,
                   const std::vector<double>& b, int64_t k, double* out) {
  parallel_for(n, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, f * k)),
               [&](int64_t r0, int64_t r1) {
                 for (int64_t r = r0; r < r1; ++r) {
                   const double* xr = x + r * f;
                   for (int64_t j = 0; j < k; ++j) {
                     const double* wj = w.data() + j * f;
                     double s = b.empty() ? 0.0 : b[static_cast<size_t>(j)];
                     for (int64_t i = 0; i < f; ++i) s += xr[i] * wj[i];
                     out[r * k + j] = s;
                   }
                 }
               });
}

class LinearClassifierKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Node& node = cfg.node;
    const char* op = "LinearClassifier";
    auto labels = read_class_labels(node, "classlabels_ints", op);
    if (!labels.is_ok()) return labels.status();
    labels_ = *labels;
    auto pt = parse_post_transform(node.get_string("post_transform", "NONE"), op);
    if (!pt.is_ok()) return pt.status();
    post_ = *pt;
    const auto c = node.get_floats("coefficients");
    const auto b = node.get_floats("intercepts");
    w_.assign(c.begin(), c.end());
    b_.assign(b.begin(), b.end());
    k_ = b_.empty() ? std::max<int64_t>(1, labels_.size()) : static_cast<int64_t>(b_.size());
    if (w_.empty() || static_cast<int64_t>(w_.size()) % k_ != 0)
      return invalid_argument("LinearClassifier: " + std::to_string(w_.size()) +
                              " coefficients do not split into " + std::to_string(k_) + " classes");
    f_ = static_cast<int64_t>(w_.size()) / k_;
    if (labels_.size() == 0) {  // no labels: classes are 0..k-1 (0/1 when binary)
      for (int64_t i = 0; i < std::max<int64_t>(k_, 2); ++i) labels_.ints.push_back(i);
    }
    if (k_ != 1 && labels_.size() != k_)
      return invalid_argument("LinearClassifier: " + std::to_string(labels_.size()) +
                              " class labels for " + std::to_string(k_) + " score rows");
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("LinearClassifier: missing input X");
    std::vector<double> holder;
    int64_t n = 0, f = 0;
    auto xr = input_as<double>(*x, holder, n, f, "LinearClassifier");
    if (!xr.is_ok()) return xr.status();
    if (f != f_)
      return invalid_argument("LinearClassifier: X has " + std::to_string(f) +
                              " features, the coefficients expect " + std::to_string(f_));
    std::vector<double> s(static_cast<size_t>(n * k_));
    linear_scores(*xr, n, f, w_, b_, k_, s.data());
    // One score row with two labels is the binary case: a second column is derived.
    const bool binary = k_ == 1 && labels_.size() >= 2;
    const int64_t cols = binary ? 2 : k_;
    Tensor z = Tensor::create(DataType::kFloat, {n, cols});
    float* zo = z.data<float>();
    std::vector<int64_t> label(static_cast<size_t>(n));
    std::vector<double> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < n; ++r) {
      const double* sr = s.data() + r * k_;
      if (binary) {
        const double v = sr[0];
        label[static_cast<size_t>(r)] = v > 0 ? 1 : 0;
        // Like ONNX Runtime: the second column is the score (or its logistic/probit), the first
        // 1 minus it; SOFTMAX variants do not apply to a single score.
        if (post_ == PostTransform::kLogistic) {
          row[1] = sigmoid(v);
        } else if (post_ == PostTransform::kProbit) {
          row[1] = probit(v);
        } else {
          row[1] = v;
        }
        row[0] = 1 - row[1];
      } else {
        std::copy(sr, sr + k_, row.begin());
        label[static_cast<size_t>(r)] = std::max_element(sr, sr + k_) - sr;
        apply_post_transform(post_, row.data(), k_);
      }
      for (int64_t j = 0; j < cols; ++j)
        zo[r * cols + j] = static_cast<float>(row[static_cast<size_t>(j)]);
    }
    ctx.output(0) = labels_.make(label, {n});
    if (ctx.num_outputs() > 1) ctx.output(1) = z;
    return Status::ok();
  }

 private:
  ClassLabels labels_;
  PostTransform post_ = PostTransform::kNone;
  std::vector<double> w_, b_;
  int64_t k_ = 1, f_ = 0;
};

class LinearRegressorKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Node& node = cfg.node;
    auto pt = parse_post_transform(node.get_string("post_transform", "NONE"), "LinearRegressor");
    if (!pt.is_ok()) return pt.status();
    post_ = *pt;
    const auto c = node.get_floats("coefficients");
    const auto b = node.get_floats("intercepts");
    w_.assign(c.begin(), c.end());
    b_.assign(b.begin(), b.end());
    k_ = node.get_int("targets", 1);
    if (k_ <= 0 || w_.empty() || static_cast<int64_t>(w_.size()) % k_ != 0)
      return invalid_argument("LinearRegressor: " + std::to_string(w_.size()) +
                              " coefficients do not split into " + std::to_string(k_) + " targets");
    if (!b_.empty() && static_cast<int64_t>(b_.size()) != k_)
      return invalid_argument("LinearRegressor: intercepts must have one entry per target");
    f_ = static_cast<int64_t>(w_.size()) / k_;
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("LinearRegressor: missing input X");
    std::vector<double> holder;
    int64_t n = 0, f = 0;
    auto xr = input_as<double>(*x, holder, n, f, "LinearRegressor");
    if (!xr.is_ok()) return xr.status();
    if (f != f_)
      return invalid_argument("LinearRegressor: X has " + std::to_string(f) +
                              " features, the coefficients expect " + std::to_string(f_));
    std::vector<double> s(static_cast<size_t>(n * k_));
    linear_scores(*xr, n, f, w_, b_, k_, s.data());
    Tensor y = Tensor::create(DataType::kFloat, {n, k_});
    float* yo = y.data<float>();
    for (int64_t r = 0; r < n; ++r) {
      apply_post_transform(post_, s.data() + r * k_, k_);
      for (int64_t j = 0; j < k_; ++j)
        yo[r * k_ + j] = static_cast<float>(s[static_cast<size_t>(r * k_ + j)]);
    }
    ctx.output(0) = y;
    return Status::ok();
  }

 private:
  PostTransform post_ = PostTransform::kNone;
  std::vector<double> w_, b_;
  int64_t k_ = 1, f_ = 0;
};

}  // namespace

NALAR_REGISTER_KERNEL(kDomain, "LinearClassifier", 1, kMaxOpset, LinearClassifierKernel);
NALAR_REGISTER_KERNEL(kDomain, "LinearRegressor", 1, kMaxOpset, LinearRegressorKernel);

}  // namespace nalar::ml
