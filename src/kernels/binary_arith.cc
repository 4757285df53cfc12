// Binary arithmetic with numpy broadcasting: Add Sub Mul Div Pow Mod BitShift.
#include <cmath>
#include <string>

#include "core/dispatch.h"
#include "kernels/arith_util.h"
#include "kernels/cast_util.h"

namespace nalar {
namespace {

// Inputs A and B of a same-typed binary op. Opset < 7 models may ask for the legacy
// "broadcast=1, axis=k" rule: B's dims line up with A's starting at axis k.
Status binary_inputs(const KernelContext& ctx, const char* op, bool legacy_broadcast,
                     int64_t legacy_axis, const Tensor** a, Tensor* b_view) {
  NALAR_ASSIGN_OR_RETURN(*a, require_input(ctx, 0, op));
  NALAR_ASSIGN_OR_RETURN(const Tensor* b, require_input(ctx, 1, op));
  *b_view = *b;
  if (legacy_broadcast && legacy_axis != INT64_MIN) {
    const int64_t ra = (*a)->rank(), rb = b->rank();
    int64_t axis = legacy_axis < 0 ? legacy_axis + ra : legacy_axis;
    if (axis < 0 || axis + rb > ra)
      return invalid_argument(std::string(op) + ": legacy broadcast axis " +
                              std::to_string(legacy_axis) + " does not fit " +
                              shape_to_string(b->shape()) + " into " +
                              shape_to_string((*a)->shape()));
    Shape s = b->shape();
    s.resize(static_cast<size_t>(ra - axis), 1);
    *b_view = b->reshaped(s);
  }
  return Status::ok();
}

enum class Arith { kAdd, kSub, kMul, kDiv };

template <Arith kOp>
class ArithKernel : public Kernel {
 public:
  static constexpr const char* kName = kOp == Arith::kAdd   ? "Add"
                                       : kOp == Arith::kSub ? "Sub"
                                       : kOp == Arith::kMul ? "Mul"
                                                            : "Div";
  Status prepare(const KernelConfig& cfg) override {
    legacy_ = cfg.opset < 7 && cfg.node.get_int("broadcast", 0) != 0;
    axis_ = cfg.node.get_int("axis", INT64_MIN);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* a = nullptr;
    Tensor b;
    NALAR_RETURN_IF_ERROR(binary_inputs(ctx, kName, legacy_, axis_, &a, &b));
    if (a->dtype() != b.dtype())
      return invalid_argument(std::string(kName) + ": input types differ (" +
                              dtype_name(a->dtype()) + " and " + dtype_name(b.dtype()) + ")");
    return dispatch_numeric(a->dtype(), kName, [&](auto tag) {
      using T = typename decltype(tag)::type;
      return binary_op<T, T, T>(*a, b, ctx.output(0), kName, kCheapGrain, [](T x, T y) {
        if constexpr (kOp == Arith::kAdd) return wrap_add(x, y);
        if constexpr (kOp == Arith::kSub) return wrap_sub(x, y);
        if constexpr (kOp == Arith::kMul) return wrap_mul(x, y);
        if constexpr (kOp == Arith::kDiv) return safe_div(x, y);
      });
    });
  }

 private:
  bool legacy_ = false;
  int64_t axis_ = INT64_MIN;
};

// Pow: the output has the base's type; the exponent may have any numeric type.
class PowKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    legacy_ = cfg.opset < 7 && cfg.node.get_int("broadcast", 0) != 0;
    axis_ = cfg.node.get_int("axis", INT64_MIN);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* a = nullptr;
    Tensor b;
    NALAR_RETURN_IF_ERROR(binary_inputs(ctx, "Pow", legacy_, axis_, &a, &b));
    if (a->dtype() == b.dtype()) {
      return dispatch_numeric(a->dtype(), "Pow", [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (b.size() == 1 && a->size() > 1) {  // common: x ** 2, x ** 0.5
          const double e = static_cast<double>(static_cast<ComputeType<T>>(b.data<T>()[0]));
          if (e == 2.0)
            return binary_op<T, T, T>(*a, b, ctx.output(0), "Pow", kCheapGrain,
                                      [](T x, T) { return wrap_mul(x, x); });
        }
        return binary_op<T, T, T>(*a, b, ctx.output(0), "Pow", kCostlyGrain, [](T x, T y) {
          if constexpr (std::is_integral_v<T>) {
            return int_pow(x, y);
          } else {
            return via_compute(x, y, [](auto u, auto v) { return std::pow(u, v); });
          }
        });
      });
    }
    // Mixed types: compute in double with the exponent converted once.
    if (!dtype_is_float(b.dtype()) && !dtype_is_integer(b.dtype()))
      return unsupported_dtype("Pow (exponent)", b.dtype());
    NALAR_ASSIGN_OR_RETURN(Tensor e, cast_tensor(b, DataType::kDouble));
    return dispatch_numeric(a->dtype(), "Pow", [&](auto tag) {
      using T = typename decltype(tag)::type;
      return binary_op<T, double, T>(*a, e, ctx.output(0), "Pow", kCostlyGrain, [](T x, double y) {
        const double base = static_cast<double>(static_cast<ComputeType<T>>(x));
        return convert_value<T>(std::pow(base, y));
      });
    });
  }

 private:
  bool legacy_ = false;
  int64_t axis_ = INT64_MIN;
};

// Mod: fmod=1 is C's remainder (sign of the dividend); fmod=0 is numpy's (sign of the divisor).
class ModKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    fmod_ = cfg.node.get_int("fmod", 0) != 0;
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* a, require_input(ctx, 0, "Mod"));
    NALAR_ASSIGN_OR_RETURN(const Tensor* b, require_input(ctx, 1, "Mod"));
    if (a->dtype() != b->dtype())
      return invalid_argument(std::string("Mod: input types differ (") + dtype_name(a->dtype()) +
                              " and " + dtype_name(b->dtype()) + ")");
    return dispatch_numeric(a->dtype(), "Mod", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (fmod_)
        return binary_op<T, T, T>(*a, *b, ctx.output(0), "Mod", kCheapGrain,
                                  [](T x, T y) { return trunc_mod(x, y); });
      return binary_op<T, T, T>(*a, *b, ctx.output(0), "Mod", kCheapGrain,
                                [](T x, T y) { return floor_mod(x, y); });
    });
  }

 private:
  bool fmod_ = false;
};

class BitShiftKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const std::string dir = cfg.node.get_string("direction", "");
    if (dir != "LEFT" && dir != "RIGHT")
      return invalid_argument("BitShift: direction must be \"LEFT\" or \"RIGHT\", got \"" + dir +
                              "\"");
    left_ = dir == "LEFT";
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* a, require_input(ctx, 0, "BitShift"));
    NALAR_ASSIGN_OR_RETURN(const Tensor* b, require_input(ctx, 1, "BitShift"));
    if (a->dtype() != b->dtype()) return invalid_argument("BitShift: input types differ");
    auto run = [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      constexpr T kBits = sizeof(T) * 8;
      if (left_)
        return binary_op<T, T, T>(*a, *b, ctx.output(0), "BitShift", kCheapGrain, [](T x, T s) {
          return s >= kBits ? T(0) : static_cast<T>(x << s);
        });
      return binary_op<T, T, T>(*a, *b, ctx.output(0), "BitShift", kCheapGrain, [](T x, T s) {
        return s >= kBits ? T(0) : static_cast<T>(x >> s);
      });
    };
    switch (a->dtype()) {
      case DataType::kUint8:
        return run(TypeTag<uint8_t>{});
      case DataType::kUint16:
        return run(TypeTag<uint16_t>{});
      case DataType::kUint32:
        return run(TypeTag<uint32_t>{});
      case DataType::kUint64:
        return run(TypeTag<uint64_t>{});
      default:
        return unsupported_dtype("BitShift", a->dtype());
    }
  }

 private:
  bool left_ = true;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Add", 1, kMaxOpset, ArithKernel<Arith::kAdd>);
NALAR_REGISTER_KERNEL("", "Sub", 1, kMaxOpset, ArithKernel<Arith::kSub>);
NALAR_REGISTER_KERNEL("", "Mul", 1, kMaxOpset, ArithKernel<Arith::kMul>);
NALAR_REGISTER_KERNEL("", "Div", 1, kMaxOpset, ArithKernel<Arith::kDiv>);
NALAR_REGISTER_KERNEL("", "Pow", 1, kMaxOpset, PowKernel);
NALAR_REGISTER_KERNEL("", "Mod", 10, kMaxOpset, ModKernel);
NALAR_REGISTER_KERNEL("", "BitShift", 11, kMaxOpset, BitShiftKernel);

}  // namespace nalar
