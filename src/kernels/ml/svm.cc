// SVMClassifier and SVMRegressor (ai.onnx.ml 1), with libsvm's semantics: one-vs-one voting over
// class pairs, Platt scaling (prob_a/prob_b) and pairwise coupling for probabilities. Kernel
// values and sums are computed in double.
#include <algorithm>
#include <cmath>

#include "kernels/common.h"
#include "kernels/ml/ml_util.h"

namespace nalar::ml {
namespace {

enum class KernelType { kLinear, kPoly, kRbf, kSigmoid };

Result<KernelType> parse_kernel(const std::string& s, const char* op) {
  if (s == "LINEAR") return KernelType::kLinear;
  if (s == "POLY") return KernelType::kPoly;
  if (s == "RBF") return KernelType::kRbf;
  if (s == "SIGMOID") return KernelType::kSigmoid;
  return invalid_argument(std::string(op) + ": unknown kernel_type '" + s + "'");
}

struct SvmKernel {
  KernelType type = KernelType::kLinear;
  double gamma = 0, coef0 = 0, degree = 0;

  Status read(const Node& node, const char* op) {
    auto k = parse_kernel(node.get_string("kernel_type", "LINEAR"), op);
    if (!k.is_ok()) return k.status();
    type = *k;
    const auto p = node.get_floats("kernel_params");
    if (p.size() > 0) gamma = p[0];
    if (p.size() > 1) coef0 = p[1];
    if (p.size() > 2) degree = p[2];
    return Status::ok();
  }

  double eval(const double* a, const double* b, int64_t f) const {
    if (type == KernelType::kRbf) {
      double d = 0;
      for (int64_t i = 0; i < f; ++i) {
        const double t = a[i] - b[i];
        d += t * t;
      }
      return std::exp(-gamma * d);
    }
    double dot = 0;
    for (int64_t i = 0; i < f; ++i) dot += a[i] * b[i];
    switch (type) {
      case KernelType::kPoly:
        return std::pow(gamma * dot + coef0, degree);
      case KernelType::kSigmoid:
        return std::tanh(gamma * dot + coef0);
      default:
        return dot;
    }
  }
};

// libsvm's sigmoid_predict: 1 / (1 + exp(dec * A + B)), written to avoid overflow.
double platt(double dec, double a, double b) {
  const double t = dec * a + b;
  if (t >= 0) return std::exp(-t) / (1.0 + std::exp(-t));
  return 1.0 / (1.0 + std::exp(t));
}

// libsvm's multiclass_probability (Wu, Lin and Weng's second method): class probabilities p[k]
// from pairwise probabilities r[i * k + j].
void pairwise_coupling(int64_t k, const std::vector<double>& r, double* p) {
  const int64_t max_iter = std::max<int64_t>(100, k);
  const double eps = 0.005 / static_cast<double>(k);
  std::vector<double> q(static_cast<size_t>(k * k)), qp(static_cast<size_t>(k));
  auto Q = [&](int64_t a, int64_t b) -> double& { return q[static_cast<size_t>(a * k + b)]; };
  auto R = [&](int64_t a, int64_t b) { return r[static_cast<size_t>(a * k + b)]; };
  for (int64_t t = 0; t < k; ++t) {
    p[t] = 1.0 / static_cast<double>(k);
    Q(t, t) = 0;
    for (int64_t j = 0; j < t; ++j) {
      Q(t, t) += R(j, t) * R(j, t);
      Q(t, j) = Q(j, t);
    }
    for (int64_t j = t + 1; j < k; ++j) {
      Q(t, t) += R(j, t) * R(j, t);
      Q(t, j) = -R(j, t) * R(t, j);
    }
  }
  for (int64_t iter = 0; iter < max_iter; ++iter) {
    double pqp = 0;
    for (int64_t t = 0; t < k; ++t) {
      qp[static_cast<size_t>(t)] = 0;
      for (int64_t j = 0; j < k; ++j) qp[static_cast<size_t>(t)] += Q(t, j) * p[j];
      pqp += p[t] * qp[static_cast<size_t>(t)];
    }
    double max_error = 0;
    for (int64_t t = 0; t < k; ++t)
      max_error = std::max(max_error, std::fabs(qp[static_cast<size_t>(t)] - pqp));
    if (max_error < eps) break;
    for (int64_t t = 0; t < k; ++t) {
      const double diff = (-qp[static_cast<size_t>(t)] + pqp) / Q(t, t);
      p[t] += diff;
      pqp = (pqp + diff * (diff * Q(t, t) + 2 * qp[static_cast<size_t>(t)])) / (1 + diff) /
            (1 + diff);
      for (int64_t j = 0; j < k; ++j) {
        qp[static_cast<size_t>(j)] = (qp[static_cast<size_t>(j)] + diff * Q(t, j)) / (1 + diff);
        p[j] /= (1 + diff);
      }
    }
  }
}

class SVMClassifierKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Node& node = cfg.node;
    const char* op = "SVMClassifier";
    auto labels = read_class_labels(node, "classlabels_ints", op);
    if (!labels.is_ok()) return labels.status();
    labels_ = *labels;
    k_ = labels_.size();
    if (k_ < 1) return invalid_argument("SVMClassifier: no class labels");
    auto pt = parse_post_transform(node.get_string("post_transform", "NONE"), op);
    if (!pt.is_ok()) return pt.status();
    post_ = *pt;
    NALAR_RETURN_IF_ERROR(kernel_.read(node, op));
    const auto coef = node.get_floats("coefficients");
    const auto sv = node.get_floats("support_vectors");
    const auto rho = node.get_floats("rho");
    const auto pa = node.get_floats("prob_a");
    const auto pb = node.get_floats("prob_b");
    coef_.assign(coef.begin(), coef.end());
    sv_.assign(sv.begin(), sv.end());
    rho_.assign(rho.begin(), rho.end());
    prob_a_.assign(pa.begin(), pa.end());
    prob_b_.assign(pb.begin(), pb.end());
    per_class_ = node.get_ints("vectors_per_class");
    n_sv_ = 0;
    for (int64_t v : per_class_) {
      if (v < 0) return invalid_argument("SVMClassifier: negative vectors_per_class");
      n_sv_ += v;
    }
    svc_ = n_sv_ > 0;
    if (svc_) {
      if (static_cast<int64_t>(per_class_.size()) != k_)
        return invalid_argument("SVMClassifier: vectors_per_class must have one entry per class");
      if (sv_.empty() || static_cast<int64_t>(sv_.size()) % n_sv_ != 0)
        return invalid_argument("SVMClassifier: support_vectors do not split into " +
                                std::to_string(n_sv_) + " vectors");
      f_ = static_cast<int64_t>(sv_.size()) / n_sv_;
      const int64_t pairs = k_ * (k_ - 1) / 2;
      if (static_cast<int64_t>(coef_.size()) != (k_ - 1) * n_sv_)
        return invalid_argument("SVMClassifier: coefficients must have (classes - 1) * vectors = " +
                                std::to_string((k_ - 1) * n_sv_) + " entries");
      if (static_cast<int64_t>(rho_.size()) < pairs)
        return invalid_argument("SVMClassifier: rho must have one entry per class pair");
      if (!prob_a_.empty() && (static_cast<int64_t>(prob_a_.size()) < pairs ||
                               static_cast<int64_t>(prob_b_.size()) < pairs))
        return invalid_argument("SVMClassifier: prob_a/prob_b must have one entry per class pair");
      start_.assign(1, 0);
      for (int64_t v : per_class_) start_.push_back(start_.back() + v);
    } else {
      // Linear mode: one coefficient row per class and rho[class] as the intercept.
      if (coef_.empty() || static_cast<int64_t>(coef_.size()) % k_ != 0)
        return invalid_argument("SVMClassifier: coefficients do not split into classes");
      f_ = static_cast<int64_t>(coef_.size()) / k_;
      if (rho_.empty()) return invalid_argument("SVMClassifier: rho is empty");
    }
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("SVMClassifier: missing input X");
    std::vector<double> holder;
    int64_t n = 0, f = 0;
    auto xr = input_as<double>(*x, holder, n, f, "SVMClassifier");
    if (!xr.is_ok()) return xr.status();
    if (f != f_)
      return invalid_argument("SVMClassifier: X has " + std::to_string(f) +
                              " features, the model expects " + std::to_string(f_));
    const double* xd = *xr;
    const bool proba = svc_ && !prob_a_.empty();
    const int64_t pairs = k_ * (k_ - 1) / 2;
    const int64_t cols = (svc_ && !proba) ? (k_ > 2 ? pairs : 2) : k_;
    Tensor z = Tensor::create(DataType::kFloat, {n, cols});
    float* zo = z.data<float>();
    std::vector<int64_t> label(static_cast<size_t>(n));
    parallel_for(n, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n_sv_ * f_ + k_ * f_)),
                 [&](int64_t r0, int64_t r1) {
                   std::vector<double> kv(static_cast<size_t>(n_sv_)),
                       dec(static_cast<size_t>(pairs)),
                       scores(static_cast<size_t>(std::max(k_, pairs) + 1));
                   std::vector<int64_t> votes(static_cast<size_t>(k_));
                   std::vector<double> r(static_cast<size_t>(k_ * k_));
                   for (int64_t row = r0; row < r1; ++row)
                     compute_row(xd + row * f_, kv, dec, votes, r, scores, zo + row * cols, cols,
                                 label[static_cast<size_t>(row)]);
                 });
    ctx.output(0) = labels_.make(label, {n});
    if (ctx.num_outputs() > 1) ctx.output(1) = z;
    return Status::ok();
  }

 private:
  void compute_row(const double* x, std::vector<double>& kv, std::vector<double>& dec,
                   std::vector<int64_t>& votes, std::vector<double>& r, std::vector<double>& s,
                   float* z, int64_t cols, int64_t& label) const {
    if (!svc_) {
      for (int64_t j = 0; j < k_; ++j) {
        double v = rho_[0];
        for (int64_t i = 0; i < f_; ++i) v += x[i] * coef_[static_cast<size_t>(j * f_ + i)];
        s[static_cast<size_t>(j)] = v;
      }
      label = std::max_element(s.begin(), s.begin() + k_) - s.begin();
      if (k_ == 2 && labels_.size() == 2) label = s[1] > s[0] ? 1 : 0;
      apply_post_transform(post_, s.data(), k_);
      for (int64_t j = 0; j < cols; ++j) z[j] = static_cast<float>(s[static_cast<size_t>(j)]);
      return;
    }
    for (int64_t v = 0; v < n_sv_; ++v)
      kv[static_cast<size_t>(v)] = kernel_.eval(x, sv_.data() + v * f_, f_);
    std::fill(votes.begin(), votes.end(), 0);
    int64_t p = 0;
    for (int64_t i = 0; i < k_; ++i) {
      for (int64_t j = i + 1; j < k_; ++j, ++p) {
        double sum = 0;
        // Class i's vectors use coefficient row j - 1; class j's vectors use row i.
        for (int64_t v = start_[static_cast<size_t>(i)]; v < start_[static_cast<size_t>(i + 1)];
             ++v)
          sum += coef_[static_cast<size_t>((j - 1) * n_sv_ + v)] * kv[static_cast<size_t>(v)];
        for (int64_t v = start_[static_cast<size_t>(j)]; v < start_[static_cast<size_t>(j + 1)];
             ++v)
          sum += coef_[static_cast<size_t>(i * n_sv_ + v)] * kv[static_cast<size_t>(v)];
        sum += rho_[static_cast<size_t>(p)];
        dec[static_cast<size_t>(p)] = sum;
        ++votes[static_cast<size_t>(sum > 0 ? i : j)];
      }
    }
    label = std::max_element(votes.begin(), votes.end()) - votes.begin();
    if (!prob_a_.empty()) {
      constexpr double kMinProb = 1e-7;
      p = 0;
      for (int64_t i = 0; i < k_; ++i)
        for (int64_t j = i + 1; j < k_; ++j, ++p) {
          double v = platt(dec[static_cast<size_t>(p)], prob_a_[static_cast<size_t>(p)],
                           prob_b_[static_cast<size_t>(p)]);
          v = std::min(std::max(v, kMinProb), 1 - kMinProb);
          r[static_cast<size_t>(i * k_ + j)] = v;
          r[static_cast<size_t>(j * k_ + i)] = 1 - v;
        }
      // Two classes go through the coupling too (its early stop makes them differ slightly
      // from r[0][1]), as in scikit-learn's libsvm and ONNX Runtime.
      pairwise_coupling(k_, r, s.data());
      apply_post_transform(post_, s.data(), k_);
      for (int64_t j = 0; j < cols; ++j) z[j] = static_cast<float>(s[static_cast<size_t>(j)]);
      return;
    }
    if (k_ <= 2) {  // one decision value: written as [-d, d] (or transformed [1 - t(d), t(d)])
      const double d = dec.empty() ? 0.0 : dec[0];
      if (post_ == PostTransform::kNone) {
        z[0] = static_cast<float>(-d);
        z[1] = static_cast<float>(d);
      } else {
        s[0] = d;
        apply_post_transform(post_, s.data(), 1);
        z[0] = static_cast<float>(1 - s[0]);
        z[1] = static_cast<float>(s[0]);
      }
      return;
    }
    for (int64_t j = 0; j < cols; ++j) s[static_cast<size_t>(j)] = dec[static_cast<size_t>(j)];
    apply_post_transform(post_, s.data(), cols);
    for (int64_t j = 0; j < cols; ++j) z[j] = static_cast<float>(s[static_cast<size_t>(j)]);
  }

  ClassLabels labels_;
  int64_t k_ = 0, f_ = 0, n_sv_ = 0;
  bool svc_ = false;
  PostTransform post_ = PostTransform::kNone;
  SvmKernel kernel_;
  std::vector<double> coef_, sv_, rho_, prob_a_, prob_b_;
  std::vector<int64_t> per_class_, start_;
};

class SVMRegressorKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Node& node = cfg.node;
    const char* op = "SVMRegressor";
    auto pt = parse_post_transform(node.get_string("post_transform", "NONE"), op);
    if (!pt.is_ok()) return pt.status();
    post_ = *pt;
    NALAR_RETURN_IF_ERROR(kernel_.read(node, op));
    const auto coef = node.get_floats("coefficients");
    const auto sv = node.get_floats("support_vectors");
    const auto rho = node.get_floats("rho");
    coef_.assign(coef.begin(), coef.end());
    sv_.assign(sv.begin(), sv.end());
    rho_ = rho.empty() ? 0.0 : rho[0];
    n_sv_ = node.get_int("n_supports", 0);
    one_class_ = node.get_int("one_class", 0) != 0;
    if (n_sv_ < 0) return invalid_argument("SVMRegressor: negative n_supports");
    if (n_sv_ > 0) {
      if (sv_.empty() || static_cast<int64_t>(sv_.size()) % n_sv_ != 0)
        return invalid_argument(
            "SVMRegressor: support_vectors do not split into n_supports vectors");
      if (static_cast<int64_t>(coef_.size()) != n_sv_)
        return invalid_argument("SVMRegressor: coefficients must have n_supports entries");
      f_ = static_cast<int64_t>(sv_.size()) / n_sv_;
    } else {
      if (coef_.empty()) return invalid_argument("SVMRegressor: no coefficients");
      f_ = static_cast<int64_t>(coef_.size());
    }
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("SVMRegressor: missing input X");
    std::vector<double> holder;
    int64_t n = 0, f = 0;
    auto xr = input_as<double>(*x, holder, n, f, "SVMRegressor");
    if (!xr.is_ok()) return xr.status();
    if (f != f_)
      return invalid_argument("SVMRegressor: X has " + std::to_string(f) +
                              " features, the model expects " + std::to_string(f_));
    const double* xd = *xr;
    Tensor y = Tensor::create(DataType::kFloat, {n, 1});
    float* yo = y.data<float>();
    parallel_for(n, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, (n_sv_ + 1) * f_)),
                 [&](int64_t r0, int64_t r1) {
                   for (int64_t r = r0; r < r1; ++r) {
                     const double* xrow = xd + r * f_;
                     double s = rho_;
                     if (n_sv_ > 0) {
                       for (int64_t v = 0; v < n_sv_; ++v)
                         s += coef_[static_cast<size_t>(v)] *
                              kernel_.eval(xrow, sv_.data() + v * f_, f_);
                     } else {
                       for (int64_t i = 0; i < f_; ++i)
                         s += coef_[static_cast<size_t>(i)] * xrow[i];
                     }
                     if (one_class_) s = s > 0 ? 1.0 : -1.0;
                     apply_post_transform(post_, &s, 1);
                     yo[r] = static_cast<float>(s);
                   }
                 });
    ctx.output(0) = y;
    return Status::ok();
  }

 private:
  PostTransform post_ = PostTransform::kNone;
  SvmKernel kernel_;
  std::vector<double> coef_, sv_;
  double rho_ = 0;
  int64_t n_sv_ = 0, f_ = 0;
  bool one_class_ = false;
};

}  // namespace

NALAR_REGISTER_KERNEL(kDomain, "SVMClassifier", 1, kMaxOpset, SVMClassifierKernel);
NALAR_REGISTER_KERNEL(kDomain, "SVMRegressor", 1, kMaxOpset, SVMRegressorKernel);

}  // namespace nalar::ml
