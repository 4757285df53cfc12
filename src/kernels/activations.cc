// Activations: Relu LeakyRelu Elu Selu Celu HardSigmoid HardSwish Softplus Softsign
// ThresholdedRelu Shrink, PRelu (slope broadcast to X) and Clip (attribute or input bounds).
#include <cmath>
#include <limits>

#include "kernels/unary_kernel.h"

namespace nalar {
namespace {

struct ReluOp : NoParams {
  static constexpr const char* kName = "Relu";
  static constexpr int64_t kGrain = kCheapGrain;
  template <class C>
  static C apply(C x, const UnaryParams&) {
    return x < C(0) ? C(0) : x;  // NaN passes through, like numpy's clip
  }
};

struct LeakyReluOp {
  static constexpr const char* kName = "LeakyRelu";
  static constexpr int64_t kGrain = kCheapGrain;
  static UnaryParams params(const Node& n) { return {n.get_float("alpha", 0.01f), 0, 0}; }
  template <class C>
  static C apply(C x, const UnaryParams& p) {
    return x < C(0) ? x * C(p.alpha) : x;
  }
};

struct EluOp {
  static constexpr const char* kName = "Elu";
  static constexpr int64_t kGrain = kCostlyGrain;
  static UnaryParams params(const Node& n) { return {n.get_float("alpha", 1.0f), 0, 0}; }
  template <class C>
  static C apply(C x, const UnaryParams& p) {
    return x < C(0) ? C(p.alpha) * std::expm1(x) : x;
  }
};

struct SeluOp {
  static constexpr const char* kName = "Selu";
  static constexpr int64_t kGrain = kCostlyGrain;
  static UnaryParams params(const Node& n) {
    return {n.get_float("alpha", 1.67326319217681884765625f), 0,
            n.get_float("gamma", 1.05070102214813232421875f)};
  }
  template <class C>
  static C apply(C x, const UnaryParams& p) {
    return C(p.gamma) * (x <= C(0) ? C(p.alpha) * std::expm1(x) : x);
  }
};

struct CeluOp {
  static constexpr const char* kName = "Celu";
  static constexpr int64_t kGrain = kCostlyGrain;
  static UnaryParams params(const Node& n) { return {n.get_float("alpha", 1.0f), 0, 0}; }
  template <class C>
  static C apply(C x, const UnaryParams& p) {
    const C a = C(p.alpha);
    return x > C(0) ? x : a * std::expm1(x / a);
  }
};

struct HardSigmoidOp {
  static constexpr const char* kName = "HardSigmoid";
  static constexpr int64_t kGrain = kCheapGrain;
  static UnaryParams params(const Node& n) {
    return {n.get_float("alpha", 0.2f), n.get_float("beta", 0.5f), 0};
  }
  template <class C>
  static C apply(C x, const UnaryParams& p) {
    const C v = C(p.alpha) * x + C(p.beta);
    return v < C(0) ? C(0) : (v > C(1) ? C(1) : v);
  }
};

struct HardSwishOp : NoParams {
  static constexpr const char* kName = "HardSwish";
  static constexpr int64_t kGrain = kCheapGrain;
  template <class C>
  static C apply(C x, const UnaryParams&) {
    const C v = x / C(6) + C(0.5);
    return x * (v < C(0) ? C(0) : (v > C(1) ? C(1) : v));
  }
};

struct SoftplusOp : NoParams {
  static constexpr const char* kName = "Softplus";
  static constexpr int64_t kGrain = kCostlyGrain;
  template <class C>
  static C apply(C x, const UnaryParams&) {
    // log(1 + e^x) without overflow: x + log1p(e^-x) for positive x.
    return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  }
};

struct SoftsignOp : NoParams {
  static constexpr const char* kName = "Softsign";
  static constexpr int64_t kGrain = kCheapGrain;
  template <class C>
  static C apply(C x, const UnaryParams&) {
    return x / (C(1) + std::abs(x));
  }
};

struct ThresholdedReluOp {
  static constexpr const char* kName = "ThresholdedRelu";
  static constexpr int64_t kGrain = kCheapGrain;
  static UnaryParams params(const Node& n) { return {n.get_float("alpha", 1.0f), 0, 0}; }
  template <class C>
  static C apply(C x, const UnaryParams& p) {
    return x > C(p.alpha) ? x : C(0);
  }
};

struct ShrinkOp {
  static constexpr const char* kName = "Shrink";
  static constexpr int64_t kGrain = kCheapGrain;
  static UnaryParams params(const Node& n) {
    return {n.get_float("lambd", 0.5f), n.get_float("bias", 0.0f), 0};
  }
  template <class C>
  static C apply(C x, const UnaryParams& p) {
    const double v = static_cast<double>(x);
    if (v < -p.alpha) return static_cast<C>(v + p.beta);
    if (v > p.alpha) return static_cast<C>(v - p.beta);
    return C(0);
  }
};

// PRelu: y = x < 0 ? slope * x : x, slope broadcast to X's shape.
class PReluKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 0, "PRelu"));
    NALAR_ASSIGN_OR_RETURN(const Tensor* slope, require_input(ctx, 1, "PRelu"));
    if (slope->dtype() != x->dtype())
      return invalid_argument(std::string("PRelu: slope type ") + dtype_name(slope->dtype()) +
                              " differs from X type " + dtype_name(x->dtype()));
    NALAR_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(x->shape(), slope->shape(), "PRelu"));
    if (out != x->shape())
      return invalid_argument("PRelu: slope " + shape_to_string(slope->shape()) +
                              " does not broadcast to X " + shape_to_string(x->shape()));
    return dispatch_numeric(x->dtype(), "PRelu", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = ComputeType<T>;
      return binary_op<T, T, T>(*x, *slope, ctx.output(0), "PRelu", kCheapGrain, [](T a, T s) {
        const C av = static_cast<C>(a);
        if constexpr (std::is_unsigned_v<C>) {
          return a;
        } else {
          return av < C(0) ? T(av * static_cast<C>(s)) : a;
        }
      });
    });
  }
};

// Clip: bounds from attributes (opset < 11) or optional scalar inputs (opset >= 11).
class ClipKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    attr_bounds_ = cfg.opset < 11;
    attr_min_ = cfg.node.get_float("min", -std::numeric_limits<float>::infinity());
    attr_max_ = cfg.node.get_float("max", std::numeric_limits<float>::infinity());
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 0, "Clip"));
    const Tensor* tmin = attr_bounds_ ? nullptr : ctx.input(1);
    const Tensor* tmax = attr_bounds_ ? nullptr : ctx.input(2);
    for (const Tensor* b : {tmin, tmax}) {
      if (!b || !b->defined()) continue;
      if (b->dtype() != x->dtype())
        return invalid_argument(std::string("Clip: bound type ") + dtype_name(b->dtype()) +
                                " differs from input type " + dtype_name(x->dtype()));
      if (b->size() != 1)
        return invalid_argument("Clip: min and max must be scalars, got " +
                                shape_to_string(b->shape()));
    }
    return dispatch_numeric(x->dtype(), "Clip", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = ComputeType<T>;
      C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
      if constexpr (std::is_floating_point_v<C>) {
        lo = -std::numeric_limits<C>::infinity();
        hi = std::numeric_limits<C>::infinity();
        if (attr_bounds_) {
          lo = static_cast<C>(attr_min_);
          hi = static_cast<C>(attr_max_);
        }
      }
      if (tmin && tmin->defined()) lo = static_cast<C>(tmin->data<T>()[0]);
      if (tmax && tmax->defined()) hi = static_cast<C>(tmax->data<T>()[0]);
      Tensor y = Tensor::create(x->dtype(), x->shape());
      auto clip = [lo, hi](auto v) {
        const auto t = v < lo ? lo : v;
        return t > hi ? hi : t;
      };
      if constexpr (std::is_integral_v<T>) {
        unary_loop(x->data<T>(), y.data<T>(), x->size(), kCheapGrain, clip);
      } else {
        float_unary_loop(x->data<T>(), y.data<T>(), x->size(), kCheapGrain,
                         [clip](auto v) { return static_cast<decltype(v)>(clip(v)); });
      }
      ctx.output(0) = std::move(y);
      return Status::ok();
    });
  }

 private:
  bool attr_bounds_ = false;
  float attr_min_ = 0, attr_max_ = 0;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Relu", 1, kMaxOpset, NumericUnaryKernel<ReluOp>);
NALAR_REGISTER_KERNEL("", "LeakyRelu", 1, kMaxOpset, FloatUnaryKernel<LeakyReluOp>);
NALAR_REGISTER_KERNEL("", "Elu", 1, kMaxOpset, FloatUnaryKernel<EluOp>);
NALAR_REGISTER_KERNEL("", "Selu", 1, kMaxOpset, FloatUnaryKernel<SeluOp>);
NALAR_REGISTER_KERNEL("", "Celu", 12, kMaxOpset, FloatUnaryKernel<CeluOp>);
NALAR_REGISTER_KERNEL("", "HardSigmoid", 1, kMaxOpset, FloatUnaryKernel<HardSigmoidOp>);
NALAR_REGISTER_KERNEL("", "HardSwish", 14, kMaxOpset, FloatUnaryKernel<HardSwishOp>);
NALAR_REGISTER_KERNEL("", "Softplus", 1, kMaxOpset, FloatUnaryKernel<SoftplusOp>);
NALAR_REGISTER_KERNEL("", "Softsign", 1, kMaxOpset, FloatUnaryKernel<SoftsignOp>);
NALAR_REGISTER_KERNEL("", "ThresholdedRelu", 10, kMaxOpset, FloatUnaryKernel<ThresholdedReluOp>);
NALAR_REGISTER_KERNEL("", "Shrink", 9, kMaxOpset, NumericUnaryKernel<ShrinkOp>);
NALAR_REGISTER_KERNEL("", "PRelu", 1, kMaxOpset, PReluKernel);
NALAR_REGISTER_KERNEL("", "Clip", 1, kMaxOpset, ClipKernel);

}  // namespace nalar
