// Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims.
#include <algorithm>

#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

class TriluKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    upper_ = cfg.node.get_int("upper", 1) != 0;
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Trilu: missing input");
    if (x->rank() < 2)
      return invalid_argument("Trilu: input must have rank >= 2, got " + x->describe());
    int64_t k = 0;
    if (const Tensor* kt = ctx.input(1); kt && kt->defined()) {
      NALAR_ASSIGN_OR_RETURN(k, read_int_scalar(*kt, "Trilu 'k'"));
    }
    const int64_t rows = x->dim(x->rank() - 2), cols = x->dim(x->rank() - 1);
    k = std::clamp<int64_t>(k, -rows - 1, cols + 1);  // beyond this every k behaves the same
    const int64_t mats = rows * cols == 0 ? 0 : x->size() / (rows * cols);
    Tensor out = Tensor::create(x->dtype(), x->shape());  // zero-filled
    const bool upper = upper_;
    NALAR_RETURN_IF_ERROR(dispatch_by_size(x->dtype(), "Trilu", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = x->data<T>();
      T* dst = out.data<T>();
      for (int64_t m = 0; m < mats; ++m)
        for (int64_t i = 0; i < rows; ++i) {
          const int64_t base = (m * rows + i) * cols;
          // Kept columns: [max(0, i + k), cols) for upper, [0, min(cols, i + k + 1)) for lower.
          const int64_t b = upper ? std::clamp<int64_t>(i + k, 0, cols) : 0;
          const int64_t e = upper ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
          std::copy(src + base + b, src + base + e, dst + base + b);
        }
      return Status::ok();
    }));
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  bool upper_ = true;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Trilu", 14, kMaxOpset, TriluKernel);

}  // namespace nalar
