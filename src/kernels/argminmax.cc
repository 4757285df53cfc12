// ArgMax / ArgMin: index of the extreme element along one axis (int64 output).
#include <string>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/compare_util.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

template <bool kMax>
class ArgExtremeKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    axis_ = cfg.node.get_int("axis", 0);
    keepdims_ = cfg.node.get_int("keepdims", 1) != 0;
    select_last_ = cfg.node.get_int("select_last_index", 0) != 0;
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const char* op = kMax ? "ArgMax" : "ArgMin";
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument(std::string(op) + ": missing input");
    NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, x->rank(), op));
    if (x->rank() == 0) return invalid_argument(std::string(op) + ": input must not be a scalar");
    const int64_t n = x->dim(axis);
    if (n == 0) return invalid_argument(std::string(op) + ": reduced axis has size 0");
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x->dim(i);
    for (int64_t i = axis + 1; i < x->rank(); ++i) inner *= x->dim(i);
    Shape out_shape;
    for (int64_t i = 0; i < x->rank(); ++i) {
      if (i != axis)
        out_shape.push_back(x->dim(i));
      else if (keepdims_)
        out_shape.push_back(1);
    }
    Tensor y = Tensor::create(DataType::kInt64, out_shape);
    int64_t* out = y.data<int64_t>();
    const bool last = select_last_;
    Status st = dispatch_numeric(x->dtype(), op, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x->data<T>();
      parallel_for(outer * inner, 4096, [&](int64_t b, int64_t e) {
        for (int64_t idx = b; idx < e; ++idx) {
          const int64_t o = idx / inner, in_i = idx % inner;
          const T* p = in + o * n * inner + in_i;
          int64_t best = 0;
          auto bv = comparable(p[0]);
          for (int64_t k = 1; k < n; ++k) {
            const auto v = comparable(p[k * inner]);
            const bool better = kMax ? (last ? v >= bv : v > bv) : (last ? v <= bv : v < bv);
            if (better) {
              bv = v;
              best = k;
            }
          }
          out[idx] = best;
        }
      });
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(st);
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  int64_t axis_ = 0;
  bool keepdims_ = true;
  bool select_last_ = false;
};

using ArgMaxKernel = ArgExtremeKernel<true>;
using ArgMinKernel = ArgExtremeKernel<false>;

}  // namespace

NALAR_REGISTER_KERNEL("", "ArgMax", 1, kMaxOpset, ArgMaxKernel);
NALAR_REGISTER_KERNEL("", "ArgMin", 1, kMaxOpset, ArgMinKernel);

}  // namespace nalar
