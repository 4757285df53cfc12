// CumSum along one axis, with the exclusive and reverse variants. Runs one row of running sums
// across the inner dims, so memory is read in order.
#include <type_traits>

#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

class CumSumKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    exclusive_ = cfg.node.get_int("exclusive", 0) != 0;
    reverse_ = cfg.node.get_int("reverse", 0) != 0;
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* at = ctx.input(1);
    if (!x || !at) return invalid_argument("CumSum: missing input");
    if (at->rank() > 1) return invalid_argument("CumSum: 'axis' must be a scalar");
    NALAR_ASSIGN_OR_RETURN(int64_t a, read_int_scalar(*at, "CumSum 'axis'"));
    const int64_t r = x->rank();
    if (r == 0) return invalid_argument("CumSum: input must have rank >= 1");
    NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(a, r, "CumSum"));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x->dim(d);
    for (int64_t d = axis + 1; d < r; ++d) inner *= x->dim(d);
    const int64_t n = x->dim(axis);
    Tensor out = Tensor::create(x->dtype(), x->shape());
    const bool excl = exclusive_, rev = reverse_;
    NALAR_RETURN_IF_ERROR(dispatch_numeric(x->dtype(), "CumSum", [&](auto tag) {
      using T = typename decltype(tag)::type;
      // Half types sum in float; integers in (promoted) unsigned so overflow wraps, no UB.
      using A = typename std::conditional_t<
          std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>, TypeTag<float>,
          std::conditional_t<std::is_integral_v<T>, std::make_unsigned<decltype(T() + T())>,
                             TypeTag<T>>>::type;
      const T* src = x->data<T>();
      T* dst = out.data<T>();
      parallel_for(outer, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, n * inner)),
                   [&](int64_t b, int64_t e) {
                     std::vector<A> acc(static_cast<size_t>(inner));
                     for (int64_t o = b; o < e; ++o) {
                       std::fill(acc.begin(), acc.end(), A(0));
                       for (int64_t s = 0; s < n; ++s) {
                         const int64_t t = rev ? n - 1 - s : s;
                         const T* in = src + (o * n + t) * inner;
                         T* res = dst + (o * n + t) * inner;
                         for (int64_t i = 0; i < inner; ++i) {
                           const A v = static_cast<A>(in[i]);
                           if (excl) {
                             res[i] = static_cast<T>(acc[static_cast<size_t>(i)]);
                             acc[static_cast<size_t>(i)] += v;
                           } else {
                             acc[static_cast<size_t>(i)] += v;
                             res[i] = static_cast<T>(acc[static_cast<size_t>(i)]);
                           }
                         }
                       }
                     }
                   });
      return Status::ok();
    }));
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  bool exclusive_ = false, reverse_ = false;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "CumSum", 11, kMaxOpset, CumSumKernel);

}  // namespace nalar
