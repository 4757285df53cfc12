// Unary math: Abs Neg Reciprocal Sqrt Exp Log Ceil Floor Round Sign, trigonometric and
// hyperbolic functions, Erf, Sigmoid, Tanh; plus the predicates IsNaN, IsInf and logical Not.
#include <cmath>

#include "kernels/fast_math.h"
#include "kernels/unary_kernel.h"

namespace nalar {
namespace {

// One-line float ops: NAME, grain, expression in x (of compute type C).
#define NALAR_FLOAT_OP(NAME, GRAIN, EXPR)       \
  struct NAME##Op : NoParams {                  \
    static constexpr const char* kName = #NAME; \
    static constexpr int64_t kGrain = GRAIN;    \
    template <class C>                          \
    static C apply(C x, const UnaryParams&) {   \
      return EXPR;                              \
    }                                           \
  };

NALAR_FLOAT_OP(Reciprocal, kCheapGrain, C(1) / x)
NALAR_FLOAT_OP(Sqrt, kCostlyGrain, std::sqrt(x))
NALAR_FLOAT_OP(Log, kCostlyGrain, std::log(x))
NALAR_FLOAT_OP(Ceil, kCheapGrain, std::ceil(x))
NALAR_FLOAT_OP(Floor, kCheapGrain, std::floor(x))
NALAR_FLOAT_OP(Round, kCheapGrain, std::nearbyint(x))  // halves to even (default FP mode)
NALAR_FLOAT_OP(Sin, kCostlyGrain, std::sin(x))
NALAR_FLOAT_OP(Cos, kCostlyGrain, std::cos(x))
NALAR_FLOAT_OP(Tan, kCostlyGrain, std::tan(x))
NALAR_FLOAT_OP(Asin, kCostlyGrain, std::asin(x))
NALAR_FLOAT_OP(Acos, kCostlyGrain, std::acos(x))
NALAR_FLOAT_OP(Atan, kCostlyGrain, std::atan(x))
NALAR_FLOAT_OP(Sinh, kCostlyGrain, std::sinh(x))
NALAR_FLOAT_OP(Cosh, kCostlyGrain, std::cosh(x))
NALAR_FLOAT_OP(Asinh, kCostlyGrain, std::asinh(x))
NALAR_FLOAT_OP(Acosh, kCostlyGrain, std::acosh(x))
NALAR_FLOAT_OP(Atanh, kCostlyGrain, std::atanh(x))
#undef NALAR_FLOAT_OP

// Exp, Sigmoid, Tanh and Erf are hot (SiLU, attention, LSTM, BERT's GELU): float data runs the
// vectorised forms; double (and scalar fallbacks) use libm.
struct TanhOp : NoParams {
  static constexpr const char* kName = "Tanh";
  static constexpr int64_t kGrain = kCostlyGrain;
  template <class C>
  static C apply(C x, const UnaryParams&) {
    return std::tanh(x);
  }
  static VecF8 apply_f8(VecF8 x) { return fast_tanh8(x); }
};

struct ErfOp : NoParams {
  static constexpr const char* kName = "Erf";
  static constexpr int64_t kGrain = kCostlyGrain;
  template <class C>
  static C apply(C x, const UnaryParams&) {
    return std::erf(x);
  }
  static VecF8 apply_f8(VecF8 x) { return fast_erf8(x); }
};

struct ExpOp : NoParams {
  static constexpr const char* kName = "Exp";
  static constexpr int64_t kGrain = kCostlyGrain;
  template <class C>
  static C apply(C x, const UnaryParams&) {
    return std::exp(x);
  }
  static VecF8 apply_f8(VecF8 x) { return fast_exp8(x); }
};

struct SigmoidOp : NoParams {
  static constexpr const char* kName = "Sigmoid";
  static constexpr int64_t kGrain = kCostlyGrain;
  template <class C>
  static C apply(C x, const UnaryParams&) {
    // exp of a non-positive number only: no overflow for large |x|.
    return x >= C(0) ? C(1) / (C(1) + std::exp(-x)) : std::exp(x) / (C(1) + std::exp(x));
  }
  static VecF8 apply_f8(VecF8 x) { return fast_sigmoid8(x); }
};

struct AbsOp : NoParams {
  static constexpr const char* kName = "Abs";
  static constexpr int64_t kGrain = kCheapGrain;
  template <class C>
  static C apply(C x, const UnaryParams&) {
    if constexpr (std::is_unsigned_v<C>) {
      return x;
    } else {
      return x < C(0) ? wrapping_neg(x) : x;
    }
  }
};

struct NegOp : NoParams {
  static constexpr const char* kName = "Neg";
  static constexpr int64_t kGrain = kCheapGrain;
  template <class C>
  static C apply(C x, const UnaryParams&) {
    return wrapping_neg(x);
  }
};

struct SignOp : NoParams {
  static constexpr const char* kName = "Sign";
  static constexpr int64_t kGrain = kCheapGrain;
  template <class C>
  static C apply(C x, const UnaryParams&) {
    if constexpr (std::is_unsigned_v<C>) {
      return x > 0 ? C(1) : C(0);
    } else if constexpr (std::is_floating_point_v<C>) {
      return std::isnan(x) ? x : C((x > C(0)) - (x < C(0)));
    } else {
      return C((x > C(0)) - (x < C(0)));
    }
  }
};

// IsNaN / IsInf: float -> bool.
class IsNaNKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 0, "IsNaN"));
    return dispatch_float(x->dtype(), "IsNaN", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Tensor y = Tensor::create(DataType::kBool, x->shape());
      unary_loop(x->data<T>(), y.data<bool>(), x->size(), kCheapGrain,
                 [](T v) { return std::isnan(static_cast<ComputeType<T>>(v)); });
      ctx.output(0) = std::move(y);
      return Status::ok();
    });
  }
};

class IsInfKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    pos_ = cfg.node.get_int("detect_positive", 1) != 0;
    neg_ = cfg.node.get_int("detect_negative", 1) != 0;
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 0, "IsInf"));
    return dispatch_float(x->dtype(), "IsInf", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Tensor y = Tensor::create(DataType::kBool, x->shape());
      const bool pos = pos_, neg = neg_;
      unary_loop(x->data<T>(), y.data<bool>(), x->size(), kCheapGrain, [pos, neg](T v) {
        const auto c = static_cast<ComputeType<T>>(v);
        return std::isinf(c) && (c > 0 ? pos : neg);
      });
      ctx.output(0) = std::move(y);
      return Status::ok();
    });
  }

 private:
  bool pos_ = true, neg_ = true;
};

class NotKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 0, "Not"));
    if (x->dtype() != DataType::kBool) return unsupported_dtype("Not", x->dtype());
    Tensor y = Tensor::create(DataType::kBool, x->shape());
    unary_loop(x->data<bool>(), y.data<bool>(), x->size(), kCheapGrain, [](bool v) { return !v; });
    ctx.output(0) = std::move(y);
    return Status::ok();
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Abs", 1, kMaxOpset, NumericUnaryKernel<AbsOp>);
NALAR_REGISTER_KERNEL("", "Neg", 1, kMaxOpset, NumericUnaryKernel<NegOp>);
NALAR_REGISTER_KERNEL("", "Sign", 9, kMaxOpset, NumericUnaryKernel<SignOp>);
NALAR_REGISTER_KERNEL("", "Reciprocal", 1, kMaxOpset, FloatUnaryKernel<ReciprocalOp>);
NALAR_REGISTER_KERNEL("", "Sqrt", 1, kMaxOpset, FloatUnaryKernel<SqrtOp>);
NALAR_REGISTER_KERNEL("", "Exp", 1, kMaxOpset, FloatUnaryKernel<ExpOp>);
NALAR_REGISTER_KERNEL("", "Log", 1, kMaxOpset, FloatUnaryKernel<LogOp>);
NALAR_REGISTER_KERNEL("", "Ceil", 1, kMaxOpset, FloatUnaryKernel<CeilOp>);
NALAR_REGISTER_KERNEL("", "Floor", 1, kMaxOpset, FloatUnaryKernel<FloorOp>);
NALAR_REGISTER_KERNEL("", "Round", 11, kMaxOpset, FloatUnaryKernel<RoundOp>);
NALAR_REGISTER_KERNEL("", "Sin", 7, kMaxOpset, FloatUnaryKernel<SinOp>);
NALAR_REGISTER_KERNEL("", "Cos", 7, kMaxOpset, FloatUnaryKernel<CosOp>);
NALAR_REGISTER_KERNEL("", "Tan", 7, kMaxOpset, FloatUnaryKernel<TanOp>);
NALAR_REGISTER_KERNEL("", "Asin", 7, kMaxOpset, FloatUnaryKernel<AsinOp>);
NALAR_REGISTER_KERNEL("", "Acos", 7, kMaxOpset, FloatUnaryKernel<AcosOp>);
NALAR_REGISTER_KERNEL("", "Atan", 7, kMaxOpset, FloatUnaryKernel<AtanOp>);
NALAR_REGISTER_KERNEL("", "Sinh", 9, kMaxOpset, FloatUnaryKernel<SinhOp>);
NALAR_REGISTER_KERNEL("", "Cosh", 9, kMaxOpset, FloatUnaryKernel<CoshOp>);
NALAR_REGISTER_KERNEL("", "Asinh", 9, kMaxOpset, FloatUnaryKernel<AsinhOp>);
NALAR_REGISTER_KERNEL("", "Acosh", 9, kMaxOpset, FloatUnaryKernel<AcoshOp>);
NALAR_REGISTER_KERNEL("", "Atanh", 9, kMaxOpset, FloatUnaryKernel<AtanhOp>);
NALAR_REGISTER_KERNEL("", "Erf", 9, kMaxOpset, FloatUnaryKernel<ErfOp>);
NALAR_REGISTER_KERNEL("", "Sigmoid", 1, kMaxOpset, FloatUnaryKernel<SigmoidOp>);
NALAR_REGISTER_KERNEL("", "Tanh", 1, kMaxOpset, FloatUnaryKernel<TanhOp>);
NALAR_REGISTER_KERNEL("", "IsNaN", 9, kMaxOpset, IsNaNKernel);
NALAR_REGISTER_KERNEL("", "IsInf", 10, kMaxOpset, IsInfKernel);
NALAR_REGISTER_KERNEL("", "Not", 1, kMaxOpset, NotKernel);

}  // namespace nalar
