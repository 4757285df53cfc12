// Element-wise and row-wise ai.onnx.ml preprocessing: Scaler, Normalizer, Binarizer, Imputer.
#include <cmath>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/ml/ml_util.h"

namespace nalar::ml {
namespace {

// The last dimension of X (1 for scalars): the axis per-feature attributes index.
int64_t last_dim(const Tensor& x) { return x.rank() == 0 ? 1 : x.dim(x.rank() - 1); }

Status check_input(const Tensor* x, const char* op) {
  if (!x) return invalid_argument(std::string(op) + ": missing input X");
  switch (x->dtype()) {
    case DataType::kFloat:
    case DataType::kDouble:
    case DataType::kInt64:
    case DataType::kInt32:
      return Status::ok();
    default:
      return unsupported_dtype(op, x->dtype());
  }
}

// Scaler: Y = (X - offset) * scale, per feature (or one value for all), as float.
class ScalerKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const auto o = cfg.node.get_floats("offset");
    const auto s = cfg.node.get_floats("scale");
    offset_.assign(o.begin(), o.end());
    scale_.assign(s.begin(), s.end());
    if (offset_.empty()) offset_.push_back(0.0);
    if (scale_.empty()) scale_.push_back(1.0);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    NALAR_RETURN_IF_ERROR(check_input(x, "Scaler"));
    const int64_t c = last_dim(*x);
    for (const auto* v : {&offset_, &scale_})
      if (v->size() != 1 && static_cast<int64_t>(v->size()) != c)
        return invalid_argument("Scaler: offset/scale have " + std::to_string(v->size()) +
                                " entries but X has " + std::to_string(c) + " features");
    Tensor y = Tensor::create(DataType::kFloat, x->shape());
    float* out = y.data<float>();
    return dispatch_numeric(x->dtype(), "Scaler", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      const T* in = x->data<T>();
      const bool one_o = offset_.size() == 1, one_s = scale_.size() == 1;
      for (int64_t i = 0; i < x->size(); ++i) {
        const size_t j = c ? static_cast<size_t>(i % c) : 0;
        out[i] = static_cast<float>((static_cast<double>(in[i]) - offset_[one_o ? 0 : j]) *
                                    scale_[one_s ? 0 : j]);
      }
      ctx.output(0) = y;
      return Status::ok();
    });
  }

 private:
  std::vector<double> offset_, scale_;
};

// Normalizer: each row of a [N, C] (or [C]) input divided by its MAX, L1 or L2 norm, as float.
// A row whose norm is zero is left as it is.
class NormalizerKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    norm_ = cfg.node.get_string("norm", "MAX");
    if (norm_ != "MAX" && norm_ != "L1" && norm_ != "L2")
      return invalid_argument("Normalizer: norm must be MAX, L1 or L2, got '" + norm_ + "'");
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    NALAR_RETURN_IF_ERROR(check_input(x, "Normalizer"));
    if (x->rank() > 2)
      return invalid_argument("Normalizer: input must have rank 1 or 2, got " +
                              shape_to_string(x->shape()));
    std::vector<double> holder;
    int64_t n = 0, c = 0;
    auto xr = input_as<double>(*x, holder, n, c, "Normalizer");
    if (!xr.is_ok()) return xr.status();
    Tensor y = Tensor::create(DataType::kFloat, x->shape());
    float* out = y.data<float>();
    for (int64_t r = 0; r < n; ++r) {
      const double* row = *xr + r * c;
      double norm = 0;
      if (norm_ == "MAX") {
        norm = c ? row[0] : 0;
        for (int64_t j = 1; j < c; ++j) norm = std::max(norm, row[j]);
      } else if (norm_ == "L1") {
        for (int64_t j = 0; j < c; ++j) norm += std::fabs(row[j]);
      } else {
        for (int64_t j = 0; j < c; ++j) norm += row[j] * row[j];
        norm = std::sqrt(norm);
      }
      if (norm == 0) norm = 1;
      for (int64_t j = 0; j < c; ++j) out[r * c + j] = static_cast<float>(row[j] / norm);
    }
    ctx.output(0) = y;
    return Status::ok();
  }

 private:
  std::string norm_;
};

// Binarizer: 1 where X > threshold, else 0; same element type as X.
class BinarizerKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    threshold_ = cfg.node.get_float("threshold", 0.0f);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    NALAR_RETURN_IF_ERROR(check_input(x, "Binarizer"));
    return dispatch_numeric(x->dtype(), "Binarizer", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      Tensor y = Tensor::create(x->dtype(), x->shape());
      const T* in = x->data<T>();
      T* out = y.data<T>();
      for (int64_t i = 0; i < x->size(); ++i)
        out[i] = static_cast<double>(in[i]) > static_cast<double>(threshold_) ? T(1) : T(0);
      ctx.output(0) = y;
      return Status::ok();
    });
  }

 private:
  float threshold_ = 0;
};

// Imputer: replaces entries equal to the replaced value (NaN matches NaN) with the imputed value
// of their feature (or the one imputed value).
class ImputerKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Node& node = cfg.node;
    const auto f = node.get_floats("imputed_value_floats");
    fvals_.assign(f.begin(), f.end());
    ivals_ = node.get_ints("imputed_value_int64s");
    freplace_ = node.get_float("replaced_value_float", 0.0f);
    ireplace_ = node.get_int("replaced_value_int64", 0);
    if (fvals_.empty() && ivals_.empty())
      return invalid_argument("Imputer: imputed_value_floats or imputed_value_int64s is required");
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    NALAR_RETURN_IF_ERROR(check_input(x, "Imputer"));
    const int64_t c = last_dim(*x);
    const bool is_float = dtype_is_float(x->dtype());
    const size_t nv = is_float ? fvals_.size() : ivals_.size();
    if (nv == 0)
      return invalid_argument(std::string("Imputer: no imputed values for ") +
                              dtype_name(x->dtype()) + " input");
    if (nv != 1 && static_cast<int64_t>(nv) != c)
      return invalid_argument("Imputer: " + std::to_string(nv) + " imputed values but X has " +
                              std::to_string(c) + " features");
    return dispatch_numeric(x->dtype(), "Imputer", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      Tensor y = Tensor::create(x->dtype(), x->shape());
      const T* in = x->data<T>();
      T* out = y.data<T>();
      for (int64_t i = 0; i < x->size(); ++i) {
        const size_t j = nv == 1 ? 0 : static_cast<size_t>(i % c);
        if constexpr (std::is_floating_point_v<T>) {
          const bool hit =
              std::isnan(freplace_) ? std::isnan(in[i]) : static_cast<float>(in[i]) == freplace_;
          out[i] = hit ? static_cast<T>(fvals_[j]) : in[i];
        } else {
          out[i] = static_cast<int64_t>(in[i]) == ireplace_ ? static_cast<T>(ivals_[j]) : in[i];
        }
      }
      ctx.output(0) = y;
      return Status::ok();
    });
  }

 private:
  std::vector<double> fvals_;
  std::vector<int64_t> ivals_;
  float freplace_ = 0;
  int64_t ireplace_ = 0;
};

}  // namespace

NALAR_REGISTER_KERNEL(kDomain, "Scaler", 1, kMaxOpset, ScalerKernel);
NALAR_REGISTER_KERNEL(kDomain, "Normalizer", 1, kMaxOpset, NormalizerKernel);
NALAR_REGISTER_KERNEL(kDomain, "Binarizer", 1, kMaxOpset, BinarizerKernel);
NALAR_REGISTER_KERNEL(kDomain, "Imputer", 1, kMaxOpset, ImputerKernel);

}  // namespace nalar::ml
