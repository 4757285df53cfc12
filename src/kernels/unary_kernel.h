// Kernel templates for one-input, same-shape elementwise ops. An op is a struct with
//   static constexpr const char* kName; static constexpr int64_t kGrain;
//   static UnaryParams params(const Node&);          // attributes, read once in prepare
//   template <class C> static C apply(C x, const UnaryParams&);
// Float kernels compute 16-bit floats through float; numeric kernels also take integers.
#pragma once

#include <cmath>
#include <type_traits>

#include "core/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/fast_math.h"
#include "kernels/kernel.h"

namespace nalar {

struct UnaryParams {
  float alpha = 0, beta = 0, gamma = 0;
};

struct NoParams {
  static UnaryParams params(const Node&) { return {}; }
};

// Ops may also provide `static VecF8 apply_f8(VecF8)`: float data (and 16-bit floats, widened
// in blocks) then runs eight lanes at a time.
template <class Op>
concept HasVectorForm = requires(VecF8 v) {
  Op::apply_f8(v);
};

template <class Op, class T>
Status run_unary(const Tensor& x, Tensor& out, const UnaryParams& p) {
  Tensor y = Tensor::empty(x.dtype(), x.shape());
  if constexpr (HasVectorForm<Op> && (std::is_same_v<T, float> || kIsHalf<T>)) {
    const T* src = x.data<T>();
    T* dst = y.data<T>();
    parallel_for(x.size(), Op::kGrain, [&](int64_t begin, int64_t end) {
      if constexpr (std::is_same_v<T, float>) {
        map_f8(src + begin, dst + begin, end - begin, [](VecF8 v) { return Op::apply_f8(v); });
      } else {
        constexpr int64_t kBlock = 256;
        float buf[kBlock];
        for (int64_t s = begin; s < end; s += kBlock) {
          const int64_t len = std::min(kBlock, end - s);
          for (int64_t i = 0; i < len; ++i) buf[i] = static_cast<float>(src[s + i]);
          map_f8(buf, buf, len, [](VecF8 v) { return Op::apply_f8(v); });
          for (int64_t i = 0; i < len; ++i) dst[s + i] = T(buf[i]);
        }
      }
    });
  } else if constexpr (std::is_integral_v<T> || std::is_same_v<T, bool>) {
    unary_loop(x.data<T>(), y.data<T>(), x.size(), Op::kGrain,
               [p](T v) { return Op::apply(v, p); });
  } else {
    float_unary_loop(x.data<T>(), y.data<T>(), x.size(), Op::kGrain,
                     [p](auto v) { return Op::apply(v, p); });
  }
  out = std::move(y);
  return Status::ok();
}

// float, double, float16, bfloat16
template <class Op>
class FloatUnaryKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    p_ = Op::params(cfg.node);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 0, Op::kName));
    return dispatch_float(x->dtype(), Op::kName, [&](auto tag) {
      return run_unary<Op, typename decltype(tag)::type>(*x, ctx.output(0), p_);
    });
  }

 private:
  UnaryParams p_;
};

// floats and every integer type
template <class Op>
class NumericUnaryKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    p_ = Op::params(cfg.node);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 0, Op::kName));
    return dispatch_numeric(x->dtype(), Op::kName, [&](auto tag) {
      return run_unary<Op, typename decltype(tag)::type>(*x, ctx.output(0), p_);
    });
  }

 private:
  UnaryParams p_;
};

// -v without signed-overflow UB (INT_MIN stays INT_MIN, like numpy).
template <class T>
T wrapping_neg(T v) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(0) - static_cast<U>(v));
  } else {
    return -v;
  }
}

}  // namespace nalar
