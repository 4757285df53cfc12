// Comparisons (Equal Greater GreaterOrEqual Less LessOrEqual -> bool) and logical And Or Xor,
// all with numpy broadcasting.
#include <string>

#include "core/dispatch.h"
#include "kernels/elementwise.h"

namespace nalar {
namespace {

enum class Cmp { kEq, kGt, kGe, kLt, kLe };

template <Cmp kOp>
class CompareKernel : public Kernel {
 public:
  static constexpr const char* kName = kOp == Cmp::kEq   ? "Equal"
                                       : kOp == Cmp::kGt ? "Greater"
                                       : kOp == Cmp::kGe ? "GreaterOrEqual"
                                       : kOp == Cmp::kLt ? "Less"
                                                         : "LessOrEqual";
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* a, require_input(ctx, 0, kName));
    NALAR_ASSIGN_OR_RETURN(const Tensor* b, require_input(ctx, 1, kName));
    if (a->dtype() != b->dtype())
      return invalid_argument(std::string(kName) + ": input types differ (" +
                              dtype_name(a->dtype()) + " and " + dtype_name(b->dtype()) + ")");
    auto run = [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      using C = ComputeType<T>;
      return binary_op<T, T, bool>(*a, *b, ctx.output(0), kName, kCheapGrain, [](T x, T y) {
        if constexpr (std::is_same_v<T, std::string>) {
          return x == y;
        } else {
          const C u = static_cast<C>(x), v = static_cast<C>(y);
          if constexpr (kOp == Cmp::kEq) return u == v;
          if constexpr (kOp == Cmp::kGt) return u > v;
          if constexpr (kOp == Cmp::kGe) return u >= v;
          if constexpr (kOp == Cmp::kLt) return u < v;
          if constexpr (kOp == Cmp::kLe) return u <= v;
        }
      });
    };
    if constexpr (kOp == Cmp::kEq) {
      if (a->dtype() == DataType::kString) return run(TypeTag<std::string>{});
      return dispatch_numeric_bool(a->dtype(), kName, run);
    } else {
      return dispatch_numeric(a->dtype(), kName, run);
    }
  }
};

enum class Logic { kAnd, kOr, kXor };

template <Logic kOp>
class LogicKernel : public Kernel {
 public:
  static constexpr const char* kName = kOp == Logic::kAnd  ? "And"
                                       : kOp == Logic::kOr ? "Or"
                                                           : "Xor";
  Status prepare(const KernelConfig& cfg) override {
    legacy_ = cfg.opset < 7 && cfg.node.get_int("broadcast", 0) != 0;
    axis_ = cfg.node.get_int("axis", INT64_MIN);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* a, require_input(ctx, 0, kName));
    NALAR_ASSIGN_OR_RETURN(const Tensor* bp, require_input(ctx, 1, kName));
    if (a->dtype() != DataType::kBool || bp->dtype() != DataType::kBool)
      return invalid_argument(std::string(kName) + ": inputs must be bool, got " +
                              dtype_name(a->dtype()) + " and " + dtype_name(bp->dtype()));
    Tensor b = *bp;
    if (legacy_ && axis_ != INT64_MIN) {  // opset < 7: B lines up with A at `axis`
      const int64_t axis = axis_ < 0 ? axis_ + a->rank() : axis_;
      if (axis < 0 || axis + b.rank() > a->rank())
        return invalid_argument(std::string(kName) + ": legacy broadcast axis out of range");
      Shape s = b.shape();
      s.resize(static_cast<size_t>(a->rank() - axis), 1);
      b = b.reshaped(s);
    }
    return binary_op<bool, bool, bool>(*a, b, ctx.output(0), kName, kCheapGrain,
                                       [](bool x, bool y) {
                                         if constexpr (kOp == Logic::kAnd) return x && y;
                                         if constexpr (kOp == Logic::kOr) return x || y;
                                         if constexpr (kOp == Logic::kXor) return x != y;
                                       });
  }

 private:
  bool legacy_ = false;
  int64_t axis_ = INT64_MIN;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Equal", 1, kMaxOpset, CompareKernel<Cmp::kEq>);
NALAR_REGISTER_KERNEL("", "Greater", 1, kMaxOpset, CompareKernel<Cmp::kGt>);
NALAR_REGISTER_KERNEL("", "GreaterOrEqual", 12, kMaxOpset, CompareKernel<Cmp::kGe>);
NALAR_REGISTER_KERNEL("", "Less", 1, kMaxOpset, CompareKernel<Cmp::kLt>);
NALAR_REGISTER_KERNEL("", "LessOrEqual", 12, kMaxOpset, CompareKernel<Cmp::kLe>);
NALAR_REGISTER_KERNEL("", "And", 1, kMaxOpset, LogicKernel<Logic::kAnd>);
NALAR_REGISTER_KERNEL("", "Or", 1, kMaxOpset, LogicKernel<Logic::kOr>);
NALAR_REGISTER_KERNEL("", "Xor", 1, kMaxOpset, LogicKernel<Logic::kXor>);

}  // namespace nalar
