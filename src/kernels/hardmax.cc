// Hardmax: 1 at the first maximum, 0 elsewhere. Before opset 13 the input is flattened to 2-D at
// `axis` (default 1) and each row is one group; from 13 the groups run along the single `axis`
// (default -1).
#include <string>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/compare_util.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

class HardmaxKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    flatten_ = cfg.opset < 13;
    axis_ = cfg.node.get_int("axis", flatten_ ? 1 : -1);
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Hardmax: missing input");
    const int64_t rank = x->rank();
    int64_t outer = 1, n = 1, inner = 1;
    if (flatten_) {
      // axis may equal rank here (all dims in the outer part).
      if (axis_ < -rank || axis_ > rank)
        return invalid_argument("Hardmax: axis " + std::to_string(axis_) +
                                " is out of range for rank " + std::to_string(rank));
      const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
      for (int64_t i = 0; i < axis; ++i) outer *= x->dim(i);
      for (int64_t i = axis; i < rank; ++i) n *= x->dim(i);
    } else {
      NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, rank, "Hardmax"));
      for (int64_t i = 0; i < axis; ++i) outer *= x->dim(i);
      n = rank == 0 ? 1 : x->dim(axis);
      for (int64_t i = axis + 1; i < rank; ++i) inner *= x->dim(i);
    }
    Tensor y = Tensor::create(x->dtype(), x->shape());
    Status st = dispatch_float(x->dtype(), "Hardmax", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x->data<T>();
      T* out = y.data<T>();
      if (n == 0) return Status::ok();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t base = o * n * inner + i;
          int64_t best = 0;
          auto bv = comparable(in[base]);
          for (int64_t k = 1; k < n; ++k) {
            const auto v = comparable(in[base + k * inner]);
            if (v > bv) {
              bv = v;
              best = k;
            }
          }
          out[base + best * inner] = T(1.0f);
        }
      }
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(st);
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  bool flatten_ = false;
  int64_t axis_ = -1;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Hardmax", 1, kMaxOpset, HardmaxKernel);

}  // namespace nalar
