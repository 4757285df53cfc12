// Optimizer steps from ai.onnx.preview.training: Adagrad, Momentum (standard and Nesterov) and
// Adam. Inputs are R (learning rate), T (step count), then groups of same-shaped tensors
// (X..., G..., and one or two state groups); outputs are the updated X... then the states.
#include <cmath>

#include "core/dispatch.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

constexpr const char* kDomain = "ai.onnx.preview.training";

// Reads R and T and checks the tensor groups: `groups` groups of `count` tensors after R, T.
Status read_common(const KernelContext& ctx, const char* op, size_t groups, double* r, int64_t* t,
                   size_t* count) {
  const std::string name(op);
  if (ctx.num_inputs() < 2 + groups || (ctx.num_inputs() - 2) % groups != 0)
    return invalid_argument(name + ": expected R, T and " + std::to_string(groups) +
                            " equal groups of tensors, got " + std::to_string(ctx.num_inputs()) +
                            " inputs");
  *count = (ctx.num_inputs() - 2) / groups;
  if (ctx.num_outputs() > (groups - 1) * *count)
    return invalid_argument(name + ": too many outputs");
  const Tensor* rt = ctx.input(0);
  const Tensor* tt = ctx.input(1);
  if (!rt || !tt || rt->size() != 1 || tt->size() != 1 || tt->dtype() != DataType::kInt64)
    return invalid_argument(name + ": R must be a float scalar and T an int64 scalar");
  if (rt->dtype() == DataType::kFloat)
    *r = rt->data<float>()[0];
  else if (rt->dtype() == DataType::kDouble)
    *r = rt->data<double>()[0];
  else
    return unsupported_dtype(op, rt->dtype());
  *t = tt->data<int64_t>()[0];
  for (size_t i = 2; i < ctx.num_inputs(); ++i) {
    const Tensor* v = ctx.input(i);
    const Tensor* x = ctx.input(2 + (i - 2) % *count);
    if (!v || !v->defined() || v->shape() != x->shape() || v->dtype() != x->dtype())
      return invalid_argument(name + ": input " + std::to_string(i) + " must match X's shape " +
                              "and type " + x->describe());
    if (v->dtype() != DataType::kFloat && v->dtype() != DataType::kDouble)
      return unsupported_dtype(op, v->dtype());
  }
  return Status::ok();
}

// Runs fn(T*, const T* inputs[groups]...) with the element type of the X tensors.
template <class Fn>
Status with_float_type(DataType t, const char* op, Fn&& fn) {
  if (t == DataType::kFloat) return fn(TypeTag<float>{});
  if (t == DataType::kDouble) return fn(TypeTag<double>{});
  return unsupported_dtype(op, t);
}

void set_output(KernelContext& ctx, size_t i, Tensor t) {
  if (i < ctx.num_outputs()) ctx.output(i) = std::move(t);
}

class AdagradKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    decay_ = cfg.node.get_float("decay_factor", 0.f);
    eps_ = cfg.node.get_float("epsilon", 0.f);
    norm_ = cfg.node.get_float("norm_coefficient", 0.f);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    double r;
    int64_t t;
    size_t n;
    NALAR_RETURN_IF_ERROR(read_common(ctx, "Adagrad", 3, &r, &t, &n));
    const double rate = r / (1.0 + static_cast<double>(t) * decay_);
    for (size_t i = 0; i < n; ++i) {
      const Tensor &x = *ctx.input(2 + i), &g = *ctx.input(2 + n + i),
                   &h = *ctx.input(2 + 2 * n + i);
      Tensor xn = Tensor::create(x.dtype(), x.shape()), hn = Tensor::create(x.dtype(), x.shape());
      NALAR_RETURN_IF_ERROR(with_float_type(x.dtype(), "Adagrad", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T *xp = x.data<T>(), *gp = g.data<T>(), *hp = h.data<T>();
        T *xo = xn.data<T>(), *ho = hn.data<T>();
        const T nc = static_cast<T>(norm_), e = static_cast<T>(eps_), lr = static_cast<T>(rate);
        for (int64_t k = 0; k < x.size(); ++k) {
          const T gr = nc * xp[k] + gp[k];
          ho[k] = hp[k] + gr * gr;
          xo[k] = xp[k] - lr * gr / (std::sqrt(ho[k]) + e);
        }
        return Status::ok();
      }));
      set_output(ctx, i, std::move(xn));
      set_output(ctx, n + i, std::move(hn));
    }
    return Status::ok();
  }

 private:
  float decay_ = 0, eps_ = 0, norm_ = 0;
};

class MomentumKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    if (!cfg.node.has("alpha") || !cfg.node.has("beta") || !cfg.node.has("mode") ||
        !cfg.node.has("norm_coefficient"))
      return invalid_argument(
          "Momentum: attributes alpha, beta, mode and norm_coefficient are required");
    alpha_ = cfg.node.get_float("alpha", 0.f);
    beta_ = cfg.node.get_float("beta", 0.f);
    norm_ = cfg.node.get_float("norm_coefficient", 0.f);
    const std::string mode = cfg.node.get_string("mode", "standard");
    if (mode != "standard" && mode != "nesterov")
      return invalid_argument("Momentum: mode must be 'standard' or 'nesterov', got '" + mode +
                              "'");
    nesterov_ = mode == "nesterov";
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    double r;
    int64_t t;
    size_t n;
    NALAR_RETURN_IF_ERROR(read_common(ctx, "Momentum", 3, &r, &t, &n));
    const double beta = t > 0 ? beta_ : 1.0;  // the first step takes the whole gradient
    for (size_t i = 0; i < n; ++i) {
      const Tensor &x = *ctx.input(2 + i), &g = *ctx.input(2 + n + i),
                   &v = *ctx.input(2 + 2 * n + i);
      Tensor xn = Tensor::create(x.dtype(), x.shape()), vn = Tensor::create(x.dtype(), x.shape());
      NALAR_RETURN_IF_ERROR(with_float_type(x.dtype(), "Momentum", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T *xp = x.data<T>(), *gp = g.data<T>(), *vp = v.data<T>();
        T *xo = xn.data<T>(), *vo = vn.data<T>();
        const T nc = static_cast<T>(norm_), a = static_cast<T>(alpha_), b = static_cast<T>(beta),
                lr = static_cast<T>(r);
        for (int64_t k = 0; k < x.size(); ++k) {
          const T gr = nc * xp[k] + gp[k];
          vo[k] = a * vp[k] + b * gr;
          xo[k] = nesterov_ ? xp[k] - lr * (gr + a * vo[k]) : xp[k] - lr * vo[k];
        }
        return Status::ok();
      }));
      set_output(ctx, i, std::move(xn));
      set_output(ctx, n + i, std::move(vn));
    }
    return Status::ok();
  }

 private:
  float alpha_ = 0, beta_ = 0, norm_ = 0;
  bool nesterov_ = false;
};

class AdamKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    alpha_ = cfg.node.get_float("alpha", 0.9f);
    beta_ = cfg.node.get_float("beta", 0.999f);
    eps_ = cfg.node.get_float("epsilon", 1e-6f);
    norm_ = cfg.node.get_float("norm_coefficient", 0.f);
    norm_post_ = cfg.node.get_float("norm_coefficient_post", 0.f);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    double r;
    int64_t t;
    size_t n;
    NALAR_RETURN_IF_ERROR(read_common(ctx, "Adam", 4, &r, &t, &n));
    // Bias correction of both moments folded into the learning rate.
    const double td = static_cast<double>(t);
    const double rate = t > 0 ? r * std::sqrt(1.0 - std::pow(static_cast<double>(beta_), td)) /
                                    (1.0 - std::pow(static_cast<double>(alpha_), td))
                              : r;
    for (size_t i = 0; i < n; ++i) {
      const Tensor &x = *ctx.input(2 + i), &g = *ctx.input(2 + n + i);
      const Tensor &v = *ctx.input(2 + 2 * n + i), &h = *ctx.input(2 + 3 * n + i);
      Tensor xn = Tensor::create(x.dtype(), x.shape()), vn = Tensor::create(x.dtype(), x.shape()),
             hn = Tensor::create(x.dtype(), x.shape());
      NALAR_RETURN_IF_ERROR(with_float_type(x.dtype(), "Adam", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T *xp = x.data<T>(), *gp = g.data<T>(), *vp = v.data<T>(), *hp = h.data<T>();
        T *xo = xn.data<T>(), *vo = vn.data<T>(), *ho = hn.data<T>();
        const T nc = static_cast<T>(norm_), a = static_cast<T>(alpha_), b = static_cast<T>(beta_),
                e = static_cast<T>(eps_), lr = static_cast<T>(rate),
                post = static_cast<T>(1) - static_cast<T>(norm_post_);
        for (int64_t k = 0; k < x.size(); ++k) {
          const T gr = nc * xp[k] + gp[k];
          vo[k] = a * vp[k] + (T(1) - a) * gr;
          ho[k] = b * hp[k] + (T(1) - b) * gr * gr;
          xo[k] = post * (xp[k] - lr * vo[k] / (std::sqrt(ho[k]) + e));
        }
        return Status::ok();
      }));
      set_output(ctx, i, std::move(xn));
      set_output(ctx, n + i, std::move(vn));
      set_output(ctx, 2 * n + i, std::move(hn));
    }
    return Status::ok();
  }

 private:
  float alpha_ = 0, beta_ = 0, eps_ = 0, norm_ = 0, norm_post_ = 0;
};

}  // namespace

NALAR_REGISTER_KERNEL(kDomain, "Adagrad", 1, kMaxOpset, AdagradKernel);
NALAR_REGISTER_KERNEL(kDomain, "Momentum", 1, kMaxOpset, MomentumKernel);
NALAR_REGISTER_KERNEL(kDomain, "Adam", 1, kMaxOpset, AdamKernel);

}  // namespace nalar
