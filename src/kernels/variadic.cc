// Variadic elementwise ops with broadcasting: Max Min Sum Mean. The first pair is combined into
// the output (which already has the final broadcast shape); later inputs fold into it in place,
// which is safe because the output is then read at exactly the index it is written.
#include <string>

#include "core/dispatch.h"
#include "kernels/arith_util.h"

namespace nalar {
namespace {

enum class Fold { kMax, kMin, kSum, kMean };

template <Fold kOp>
class VariadicKernel : public Kernel {
 public:
  static constexpr const char* kName = kOp == Fold::kMax   ? "Max"
                                       : kOp == Fold::kMin ? "Min"
                                       : kOp == Fold::kSum ? "Sum"
                                                           : "Mean";
  Status compute(KernelContext& ctx) const override {
    std::vector<const Tensor*> in;
    for (size_t i = 0; i < ctx.num_inputs(); ++i)
      if (ctx.input(i) && ctx.input(i)->defined()) in.push_back(ctx.input(i));
    if (in.empty()) return invalid_argument(std::string(kName) + ": needs at least one input");
    Shape out_shape = in[0]->shape();
    for (const Tensor* t : in) {
      if (t->dtype() != in[0]->dtype())
        return invalid_argument(std::string(kName) + ": input types differ (" +
                                dtype_name(in[0]->dtype()) + " and " + dtype_name(t->dtype()) +
                                ")");
      NALAR_ASSIGN_OR_RETURN(out_shape, broadcast_shapes(out_shape, t->shape(), kName));
    }
    if (in.size() == 1) {  // a single input is the result (zero-copy)
      ctx.output(0) = *in[0];
      return Status::ok();
    }
    auto run = [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      auto f = [](T x, T y) {
        if constexpr (kOp == Fold::kMax) return nan_max(x, y);
        if constexpr (kOp == Fold::kMin) return nan_min(x, y);
        if constexpr (kOp == Fold::kSum || kOp == Fold::kMean) return wrap_add(x, y);
      };
      Tensor out = Tensor::create(in[0]->dtype(), out_shape);
      for (size_t i = 1; i < in.size(); ++i) {
        const Tensor& lhs = i == 1 ? *in[0] : out;
        // The output shape rides along as a third shape so that the first pair, which may
        // broadcast to less than the final shape, is still laid out over the whole output.
        NALAR_ASSIGN_OR_RETURN(
            BroadcastPlan p, make_broadcast_plan({lhs.shape(), in[i]->shape(), out_shape}, kName));
        if (p.total > 0)
          binary_loop(p, lhs.data<T>(), in[i]->data<T>(), out.data<T>(), kCheapGrain, f);
      }
      if constexpr (kOp == Fold::kMean) {
        using C = ComputeType<T>;
        const C n = static_cast<C>(in.size());
        T* o = out.data<T>();
        unary_loop(o, o, out.size(), kCheapGrain,
                   [n](T v) { return static_cast<T>(static_cast<C>(v) / n); });
      }
      ctx.output(0) = std::move(out);
      return Status::ok();
    };
    return dispatch_numeric(in[0]->dtype(), kName, run);
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Max", 1, kMaxOpset, VariadicKernel<Fold::kMax>);
NALAR_REGISTER_KERNEL("", "Min", 1, kMaxOpset, VariadicKernel<Fold::kMin>);
NALAR_REGISTER_KERNEL("", "Sum", 1, kMaxOpset, VariadicKernel<Fold::kSum>);
NALAR_REGISTER_KERNEL("", "Mean", 1, kMaxOpset, VariadicKernel<Fold::kMean>);

}  // namespace nalar
