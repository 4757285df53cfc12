// Normalisations: BatchNormalization (inference and training_mode), InstanceNormalization,
// LayerNormalization, LRN and MeanVarianceNormalization. They are memory-bound, so plain
// OpenMP loops over contiguous rows beat calling oneDNN (no reorders, no primitive state).
#include <cmath>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

// Any float tensor's values as doubles.
Result<std::vector<double>> to_doubles(const Tensor& t, const char* op) {
  std::vector<double> v(static_cast<size_t>(t.size()));
  Status st = dispatch_float(t.dtype(), op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    for (int64_t i = 0; i < t.size(); ++i) v[static_cast<size_t>(i)] = static_cast<double>(p[i]);
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return v;
}

// Writes doubles into a new tensor of `dtype` and `shape`.
Result<Tensor> from_doubles(const std::vector<double>& v, DataType dtype, const Shape& shape,
                            const char* op) {
  Tensor t = Tensor::create(dtype, shape);
  Status st = dispatch_float(dtype, op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) p[i] = static_cast<T>(v[i]);
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return t;
}

template <class T>
using AccOf = std::conditional_t<std::is_same_v<T, double>, double, float>;

// y[n, c, s] = x[n, c, s] * a[c] + b[c]
Status channel_affine(const Tensor& x, const std::vector<double>& a, const std::vector<double>& b,
                      Tensor& y, const char* op) {
  const int64_t n = x.dim(0), c = x.dim(1);
  const int64_t sp = n * c > 0 ? x.size() / (n * c) : 0;
  y = Tensor::create(x.dtype(), x.shape());
  return dispatch_float(x.dtype(), op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    using Acc = AccOf<T>;
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    parallel_for(n * c, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const Acc ai = static_cast<Acc>(a[static_cast<size_t>(i % c)]);
        const Acc bi = static_cast<Acc>(b[static_cast<size_t>(i % c)]);
        const T* xr = xp + i * sp;
        T* yr = yp + i * sp;
        if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
#pragma omp simd
          for (int64_t j = 0; j < sp; ++j) yr[j] = xr[j] * ai + bi;
        } else {
          for (int64_t j = 0; j < sp; ++j)
            yr[j] = static_cast<T>(static_cast<Acc>(xr[j]) * ai + bi);
        }
      }
    });
    return Status::ok();
  });
}

// Per-channel mean and population variance over every axis but 1.
Status channel_stats(const Tensor& x, std::vector<double>& mean, std::vector<double>& var,
                     bool per_instance, const char* op) {
  const int64_t n = x.dim(0), c = x.dim(1);
  const int64_t sp = n * c > 0 ? x.size() / (n * c) : 0;
  const int64_t groups = per_instance ? n * c : c;
  mean.assign(static_cast<size_t>(groups), 0.0);
  var.assign(static_cast<size_t>(groups), 0.0);
  return dispatch_float(x.dtype(), op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* xp = x.data<T>();
    const int64_t rows_per_group = per_instance ? 1 : n;
    const double count = static_cast<double>(sp * rows_per_group);
    parallel_for(groups, 1, [&](int64_t begin, int64_t end) {
      for (int64_t g = begin; g < end; ++g) {
        double s = 0;
        for (int64_t r = 0; r < rows_per_group; ++r) {
          const T* row = xp + (per_instance ? g : r * c + g) * sp;
          for (int64_t j = 0; j < sp; ++j) s += static_cast<double>(row[j]);
        }
        const double mu = count > 0 ? s / count : 0.0;
        double v = 0;
        for (int64_t r = 0; r < rows_per_group; ++r) {
          const T* row = xp + (per_instance ? g : r * c + g) * sp;
          for (int64_t j = 0; j < sp; ++j) {
            const double d = static_cast<double>(row[j]) - mu;
            v += d * d;
          }
        }
        mean[static_cast<size_t>(g)] = mu;
        var[static_cast<size_t>(g)] = count > 0 ? v / count : 0.0;
      }
    });
    return Status::ok();
  });
}

Status check_channel_vec(const Tensor* t, int64_t c, const char* op, const char* what) {
  if (!t) return invalid_argument(std::string(op) + ": missing input " + what);
  if (t->size() != c)
    return invalid_argument(std::string(op) + ": " + what + " must have " + std::to_string(c) +
                            " elements, got " + shape_to_string(t->shape()));
  if (!dtype_is_float(t->dtype()))
    return invalid_argument(std::string(op) + ": " + what + " must be a float tensor");
  return Status::ok();
}

class BatchNormKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    epsilon_ = cfg.node.get_float("epsilon", 1e-5f);
    momentum_ = cfg.node.get_float("momentum", 0.9f);
    training_ = cfg.opset >= 14 && cfg.node.get_int("training_mode", 0) != 0;
    if (cfg.opset < 9 && cfg.node.get_int("spatial", 1) == 0)
      return unimplemented("BatchNormalization: spatial=0 is not supported");
    // Constant statistics (the usual inference graph): fold into one multiply-add per channel.
    if (!training_ && cfg.constant(1) && cfg.constant(2) && cfg.constant(3) && cfg.constant(4)) {
      auto r = fold(*cfg.constant(1), *cfg.constant(2), *cfg.constant(3), *cfg.constant(4));
      if (r.is_ok()) {
        folded_ = true;
        a_ = std::move(r->first);
        b_ = std::move(r->second);
      }
    }
    return Status::ok();
  }

  Result<std::pair<std::vector<double>, std::vector<double>>> fold(const Tensor& scale,
                                                                   const Tensor& bias,
                                                                   const Tensor& mean,
                                                                   const Tensor& var) const {
    NALAR_ASSIGN_OR_RETURN(auto s, to_doubles(scale, kOp));
    NALAR_ASSIGN_OR_RETURN(auto b, to_doubles(bias, kOp));
    NALAR_ASSIGN_OR_RETURN(auto m, to_doubles(mean, kOp));
    NALAR_ASSIGN_OR_RETURN(auto v, to_doubles(var, kOp));
    if (b.size() != s.size() || m.size() != s.size() || v.size() != s.size())
      return invalid_argument("BatchNormalization: scale, B, mean and var differ in size");
    std::vector<double> a(s.size()), c(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      a[i] = s[i] / std::sqrt(v[i] + static_cast<double>(epsilon_));
      c[i] = b[i] - m[i] * a[i];
    }
    return std::make_pair(std::move(a), std::move(c));
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("BatchNormalization: missing input X");
    if (x->rank() < 2)
      return invalid_argument("BatchNormalization: X must have rank >= 2, got " +
                              shape_to_string(x->shape()));
    const int64_t c = x->dim(1);
    const char* names[] = {"scale", "B", "input_mean", "input_var"};
    for (int i = 1; i <= 4; ++i)
      NALAR_RETURN_IF_ERROR(check_channel_vec(ctx.input(i), c, kOp, names[i - 1]));
    if (!training_) {
      if (folded_ && static_cast<int64_t>(a_.size()) == c)
        return channel_affine(*x, a_, b_, ctx.output(0), kOp);
      NALAR_ASSIGN_OR_RETURN(auto ab,
                             fold(*ctx.input(1), *ctx.input(2), *ctx.input(3), *ctx.input(4)));
      return channel_affine(*x, ab.first, ab.second, ctx.output(0), kOp);
    }
    std::vector<double> mean, var;
    NALAR_RETURN_IF_ERROR(channel_stats(*x, mean, var, false, kOp));
    NALAR_ASSIGN_OR_RETURN(auto s, to_doubles(*ctx.input(1), kOp));
    NALAR_ASSIGN_OR_RETURN(auto b, to_doubles(*ctx.input(2), kOp));
    NALAR_ASSIGN_OR_RETURN(auto rm, to_doubles(*ctx.input(3), kOp));
    NALAR_ASSIGN_OR_RETURN(auto rv, to_doubles(*ctx.input(4), kOp));
    std::vector<double> a(static_cast<size_t>(c)), sh(static_cast<size_t>(c));
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = s[i] / std::sqrt(var[i] + static_cast<double>(epsilon_));
      sh[i] = b[i] - mean[i] * a[i];
      rm[i] = rm[i] * momentum_ + mean[i] * (1.0 - momentum_);
      rv[i] = rv[i] * momentum_ + var[i] * (1.0 - momentum_);
    }
    NALAR_RETURN_IF_ERROR(channel_affine(*x, a, sh, ctx.output(0), kOp));
    const Tensor* mt = ctx.input(3);
    if (ctx.num_outputs() > 1) {
      NALAR_ASSIGN_OR_RETURN(ctx.output(1), from_doubles(rm, mt->dtype(), mt->shape(), kOp));
    }
    if (ctx.num_outputs() > 2) {
      NALAR_ASSIGN_OR_RETURN(ctx.output(2), from_doubles(rv, mt->dtype(), mt->shape(), kOp));
    }
    return Status::ok();
  }

 private:
  static constexpr const char* kOp = "BatchNormalization";
  float epsilon_ = 1e-5f, momentum_ = 0.9f;
  bool training_ = false, folded_ = false;
  std::vector<double> a_, b_;
};

class InstanceNormKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    epsilon_ = cfg.node.get_float("epsilon", 1e-5f);
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("InstanceNormalization: missing input");
    if (x->rank() < 3)
      return invalid_argument("InstanceNormalization: X must have rank >= 3, got " +
                              shape_to_string(x->shape()));
    const int64_t n = x->dim(0), c = x->dim(1);
    NALAR_RETURN_IF_ERROR(check_channel_vec(ctx.input(1), c, kOp, "scale"));
    NALAR_RETURN_IF_ERROR(check_channel_vec(ctx.input(2), c, kOp, "B"));
    NALAR_ASSIGN_OR_RETURN(auto s, to_doubles(*ctx.input(1), kOp));
    NALAR_ASSIGN_OR_RETURN(auto b, to_doubles(*ctx.input(2), kOp));
    std::vector<double> mean, var;
    NALAR_RETURN_IF_ERROR(channel_stats(*x, mean, var, true, kOp));
    // channel_affine indexes a/b by (row % C); per-instance rows need N*C entries.
    std::vector<double> a(static_cast<size_t>(n * c)), sh(static_cast<size_t>(n * c));
    for (int64_t i = 0; i < n * c; ++i) {
      const size_t ch = static_cast<size_t>(i % c), k = static_cast<size_t>(i);
      a[k] = s[ch] / std::sqrt(var[k] + static_cast<double>(epsilon_));
      sh[k] = b[ch] - mean[k] * a[k];
    }
    Tensor flat = x->reshaped({1, n * c, x->size() / std::max<int64_t>(1, n * c)});
    NALAR_RETURN_IF_ERROR(channel_affine(flat, a, sh, ctx.output(0), kOp));
    ctx.output(0) = ctx.output(0).reshaped(x->shape());
    return Status::ok();
  }

 private:
  static constexpr const char* kOp = "InstanceNormalization";
  float epsilon_ = 1e-5f;
};

class LayerNormKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    axis_ = cfg.node.get_int("axis", -1);
    epsilon_ = cfg.node.get_float("epsilon", 1e-5f);
    stash_double_ = cfg.node.get_int("stash_type", 1) == static_cast<int>(DataType::kDouble);
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* scale = ctx.input(1);
    const Tensor* bias = ctx.input(2);
    if (!x || !scale) return invalid_argument("LayerNormalization: missing input X or Scale");
    if (scale->dtype() != x->dtype() || (bias && bias->dtype() != x->dtype()))
      return invalid_argument("LayerNormalization: X, Scale and B must share one element type");
    NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, x->rank(), kOp));
    Shape norm_shape(x->shape().begin() + axis, x->shape().end());
    const int64_t inner = shape_size(norm_shape);
    const int64_t outer = inner > 0 ? x->size() / inner : 0;
    for (const Tensor* t : {scale, bias}) {
      if (!t) continue;
      auto bs = broadcast_shapes(t->shape(), norm_shape, kOp);
      if (!bs.is_ok() || *bs != norm_shape)
        return invalid_argument("LayerNormalization: " + shape_to_string(t->shape()) +
                                " does not broadcast to " + shape_to_string(norm_shape));
    }
    Shape stat_shape(x->shape().begin(), x->shape().begin() + axis);
    stat_shape.resize(static_cast<size_t>(x->rank()), 1);
    Tensor& y = ctx.output(0);
    y = Tensor::create(x->dtype(), x->shape());
    const DataType stat_type = stash_double_ ? DataType::kDouble : DataType::kFloat;
    Tensor mean_t = Tensor::create(stat_type, stat_shape);
    Tensor inv_t = Tensor::create(stat_type, stat_shape);
    Status st = dispatch_float(x->dtype(), kOp, [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      using Acc = AccOf<T>;
      // Scale and B expanded to the full normalised shape once per call when broadcast.
      auto expand = [&](const Tensor* t, std::vector<Acc>& buf) -> const T* {
        if (!t) return nullptr;
        if (t->size() == inner) return t->data<T>();
        auto strides = broadcast_strides(t->shape(), norm_shape);
        buf.resize(static_cast<size_t>(inner));
        std::vector<int64_t> idx(norm_shape.size(), 0);
        for (int64_t i = 0; i < inner; ++i) {
          int64_t rem = i, off = 0;
          for (size_t d = norm_shape.size(); d-- > 0;) {
            off += (rem % norm_shape[d]) * strides[d];
            rem /= norm_shape[d];
          }
          buf[static_cast<size_t>(i)] = static_cast<Acc>(t->data<T>()[off]);
        }
        return nullptr;
      };
      std::vector<Acc> sbuf, bbuf;
      const T* sp = expand(scale, sbuf);
      const T* bp = expand(bias, bbuf);
      const T* xp = x->data<T>();
      T* yp = y.data<T>();
      const double eps = epsilon_;
      parallel_for(outer, 4, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const T* xr = xp + r * inner;
          T* yr = yp + r * inner;
          double s = 0;
          for (int64_t j = 0; j < inner; ++j) s += static_cast<double>(xr[j]);
          const double mu = s / static_cast<double>(inner);
          double v = 0;
          for (int64_t j = 0; j < inner; ++j) {
            const double d = static_cast<double>(xr[j]) - mu;
            v += d * d;
          }
          const double inv = 1.0 / std::sqrt(v / static_cast<double>(inner) + eps);
          const Acc mu_a = static_cast<Acc>(mu), inv_a = static_cast<Acc>(inv);
          for (int64_t j = 0; j < inner; ++j) {
            const Acc sv = sp ? static_cast<Acc>(sp[j]) : sbuf[static_cast<size_t>(j)];
            Acc bv = 0;
            if (bias) bv = bp ? static_cast<Acc>(bp[j]) : bbuf[static_cast<size_t>(j)];
            yr[j] = static_cast<T>((static_cast<Acc>(xr[j]) - mu_a) * inv_a * sv + bv);
          }
          if (stash_double_) {
            mean_t.data<double>()[r] = mu;
            inv_t.data<double>()[r] = inv;
          } else {
            mean_t.data<float>()[r] = static_cast<float>(mu);
            inv_t.data<float>()[r] = static_cast<float>(inv);
          }
        }
      });
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(st);
    if (ctx.num_outputs() > 1) ctx.output(1) = mean_t;
    if (ctx.num_outputs() > 2) ctx.output(2) = inv_t;
    return Status::ok();
  }

 private:
  static constexpr const char* kOp = "LayerNormalization";
  int64_t axis_ = -1;
  float epsilon_ = 1e-5f;
  bool stash_double_ = false;
};

class LrnKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    alpha_ = cfg.node.get_float("alpha", 1e-4f);
    beta_ = cfg.node.get_float("beta", 0.75f);
    bias_ = cfg.node.get_float("bias", 1.0f);
    size_ = cfg.node.get_int("size", 0);
    if (size_ <= 0) return invalid_argument("LRN: size must be a positive integer");
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("LRN: missing input");
    if (x->rank() < 2)
      return invalid_argument("LRN: X must have rank >= 2, got " + shape_to_string(x->shape()));
    const int64_t n = x->dim(0), c = x->dim(1);
    const int64_t sp = n * c > 0 ? x->size() / (n * c) : 0;
    const int64_t lo = (size_ - 1) / 2, hi = size_ - 1 - lo;  // floor and ceil of (size-1)/2
    Tensor& y = ctx.output(0);
    y = Tensor::create(x->dtype(), x->shape());
    return dispatch_float(x->dtype(), "LRN", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      using Acc = AccOf<T>;
      const T* xp = x->data<T>();
      T* yp = y.data<T>();
      const Acc scale = static_cast<Acc>(alpha_) / static_cast<Acc>(size_);
      parallel_for(n * c, 1, [&](int64_t begin, int64_t end) {
        std::vector<Acc> sum(static_cast<size_t>(sp));
        for (int64_t i = begin; i < end; ++i) {
          const int64_t b = i / c, ch = i % c;
          std::fill(sum.begin(), sum.end(), Acc(0));
          for (int64_t k = std::max<int64_t>(0, ch - lo); k <= std::min(c - 1, ch + hi); ++k) {
            const T* xr = xp + (b * c + k) * sp;
            for (int64_t j = 0; j < sp; ++j) {
              const Acc v = static_cast<Acc>(xr[j]);
              sum[static_cast<size_t>(j)] += v * v;
            }
          }
          const T* xr = xp + i * sp;
          T* yr = yp + i * sp;
          for (int64_t j = 0; j < sp; ++j)
            yr[j] = static_cast<T>(
                static_cast<Acc>(xr[j]) /
                std::pow(static_cast<Acc>(bias_) + scale * sum[static_cast<size_t>(j)],
                         static_cast<Acc>(beta_)));
        }
      });
      return Status::ok();
    });
  }

 private:
  float alpha_ = 1e-4f, beta_ = 0.75f, bias_ = 1.0f;
  int64_t size_ = 0;
};

class MvnKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    axes_ = cfg.node.get_ints("axes", {0, 2, 3});
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("MeanVarianceNormalization: missing input");
    Shape kept = x->shape();
    for (int64_t a : axes_) {
      NALAR_ASSIGN_OR_RETURN(int64_t ax, normalize_axis(a, x->rank(), "MeanVarianceNormalization"));
      kept[static_cast<size_t>(ax)] = 1;
    }
    const int64_t groups = shape_size(kept);
    const int64_t count = groups > 0 ? x->size() / groups : 0;
    auto kstr = broadcast_strides(kept, x->shape());
    Tensor& y = ctx.output(0);
    y = Tensor::create(x->dtype(), x->shape());
    if (x->size() == 0) return Status::ok();
    // Group of every element, walked with an odometer over x's shape.
    std::vector<int64_t> group(static_cast<size_t>(x->size()));
    {
      const Shape& s = x->shape();
      std::vector<int64_t> idx(s.size(), 0);
      int64_t key = 0;
      for (int64_t i = 0; i < x->size(); ++i) {
        group[static_cast<size_t>(i)] = key;
        for (size_t d = s.size(); d-- > 0;) {
          ++idx[d];
          key += kstr[d];
          if (idx[d] < s[d]) break;
          key -= kstr[d] * idx[d];
          idx[d] = 0;
        }
      }
    }
    return dispatch_float(x->dtype(), "MeanVarianceNormalization", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      const T* xp = x->data<T>();
      T* yp = y.data<T>();
      std::vector<double> sum(static_cast<size_t>(groups)), sq(static_cast<size_t>(groups));
      for (int64_t i = 0; i < x->size(); ++i) {
        const double v = static_cast<double>(xp[i]);
        sum[static_cast<size_t>(group[static_cast<size_t>(i)])] += v;
        sq[static_cast<size_t>(group[static_cast<size_t>(i)])] += v * v;
      }
      for (int64_t g = 0; g < groups; ++g) {
        sum[static_cast<size_t>(g)] /= static_cast<double>(count);
        const double m = sum[static_cast<size_t>(g)];
        const double var =
            std::max(0.0, sq[static_cast<size_t>(g)] / static_cast<double>(count) - m * m);
        sq[static_cast<size_t>(g)] = 1.0 / (std::sqrt(var) + 1e-9);
      }
      for (int64_t i = 0; i < x->size(); ++i) {
        const size_t g = static_cast<size_t>(group[static_cast<size_t>(i)]);
        yp[i] = static_cast<T>((static_cast<double>(xp[i]) - sum[g]) * sq[g]);
      }
      return Status::ok();
    });
  }

 private:
  std::vector<int64_t> axes_;
};

// com.nalar SkipLayerNormalization: LayerNormalization(A + B) over the last axis, with Scale
// and B of that axis' size: the residual Add and the LayerNorm after it in one pass over the
// rows (what the transformer fusion emits for post-LN encoders).
class SkipLayerNormKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    epsilon_ = cfg.node.get_float("epsilon", 1e-5f);
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* a = ctx.input(0);
    const Tensor* b = ctx.input(1);
    const Tensor* scale = ctx.input(2);
    const Tensor* bias = ctx.input(3);
    if (!a || !b || !scale) return invalid_argument("SkipLayerNormalization: missing input");
    for (const Tensor* t : {a, b, scale, bias})
      if (t && t->dtype() != DataType::kFloat)
        return invalid_argument("SkipLayerNormalization: float tensors only");
    NALAR_ASSIGN_OR_RETURN(Shape shape, broadcast_shapes(a->shape(), b->shape(), kOp));
    if (shape.empty()) return invalid_argument("SkipLayerNormalization: scalar input");
    const int64_t inner = shape.back();
    if (scale->size() != inner || (bias && bias->size() != inner) || scale->rank() != 1 ||
        (bias && bias->rank() != 1))
      return invalid_argument("SkipLayerNormalization: Scale and B must have " +
                              std::to_string(inner) + " elements");
    Tensor& y = ctx.output(0);
    y = Tensor::create(DataType::kFloat, shape);
    if (y.size() == 0) return Status::ok();
    const int64_t rows = y.size() / inner;
    float* yp = y.data<float>();
    // y holds A + B first (broadcast when the shapes differ), then is normalised in place.
    const bool same = a->shape() == shape && b->shape() == shape;
    std::vector<int64_t> sa, sb;
    if (!same) {
      sa = broadcast_strides(a->shape(), shape);
      sb = broadcast_strides(b->shape(), shape);
    }
    const float* ap = a->data<float>();
    const float* bp = b->data<float>();
    const float* gp = scale->data<float>();
    const float* betap = bias ? bias->data<float>() : nullptr;
    const float eps = epsilon_;
    parallel_for(rows, 8, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        float* yr = yp + r * inner;
        if (same) {
          const float* ar = ap + r * inner;
          const float* br = bp + r * inner;
#pragma omp simd
          for (int64_t j = 0; j < inner; ++j) yr[j] = ar[j] + br[j];
        } else {
          for (int64_t j = 0; j < inner; ++j) {
            int64_t rem = r * inner + j, ao = 0, bo = 0;
            for (size_t d = shape.size(); d-- > 0;) {
              const int64_t v = rem % shape[d];
              rem /= shape[d];
              ao += v * sa[d];
              bo += v * sb[d];
            }
            yr[j] = ap[ao] + bp[bo];
          }
        }
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < inner; ++j) s += yr[j];
        const float mu = s / static_cast<float>(inner);
        float v = 0;
#pragma omp simd reduction(+ : v)
        for (int64_t j = 0; j < inner; ++j) v += (yr[j] - mu) * (yr[j] - mu);
        const float inv = 1.0f / std::sqrt(v / static_cast<float>(inner) + eps);
#pragma omp simd
        for (int64_t j = 0; j < inner; ++j)
          yr[j] = (yr[j] - mu) * inv * gp[j] + (betap ? betap[j] : 0.0f);
      }
    });
    return Status::ok();
  }

 private:
  static constexpr const char* kOp = "SkipLayerNormalization";
  float epsilon_ = 1e-5f;
};

}  // namespace

NALAR_REGISTER_KERNEL("com.nalar", "SkipLayerNormalization", 1, kMaxOpset, SkipLayerNormKernel);
NALAR_REGISTER_KERNEL("", "BatchNormalization", 1, kMaxOpset, BatchNormKernel);
NALAR_REGISTER_KERNEL("", "InstanceNormalization", 1, kMaxOpset, InstanceNormKernel);
NALAR_REGISTER_KERNEL("", "LayerNormalization", 17, kMaxOpset, LayerNormKernel);
// The LayerNorm fusion's node, runnable whatever ai.onnx opset the model imports.
NALAR_REGISTER_KERNEL("com.nalar", "LayerNormalization", 1, kMaxOpset, LayerNormKernel);
NALAR_REGISTER_KERNEL("", "LRN", 1, kMaxOpset, LrnKernel);
NALAR_REGISTER_KERNEL("", "MeanVarianceNormalization", 9, kMaxOpset, MvnKernel);

}  // namespace nalar
