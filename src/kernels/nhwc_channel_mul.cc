// com.nalar NhwcChannelMul(X, S): X [N, C, H, W] holding NHWC bytes times a per-channel scale S
// [N or 1, C, 1, 1] (plain; the same bytes in either layout). Y is NHWC like X. Layout
// propagation uses it for squeeze-and-excitation blocks, so that the activation they scale stays
// channels-last between its convolutions.
#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

class NhwcChannelMulKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* s = ctx.input(1);
    if (!x || !s) return invalid_argument("NhwcChannelMul: needs inputs X and S");
    if (x->dtype() != DataType::kFloat || s->dtype() != DataType::kFloat || x->rank() != 4)
      return invalid_argument("NhwcChannelMul: expects float X of rank 4 and float S, got " +
                              x->describe() + " and " + s->describe());
    const int64_t n = x->dim(0), c = x->dim(1), hw = x->dim(2) * x->dim(3);
    if (s->rank() != 4 || (s->dim(0) != n && s->dim(0) != 1) || s->dim(1) != c || s->dim(2) != 1 ||
        s->dim(3) != 1)
      return invalid_argument("NhwcChannelMul: S must have shape [" + std::to_string(n) +
                              " or 1, " + std::to_string(c) + ", 1, 1], got " +
                              shape_to_string(s->shape()));
    Tensor& y = ctx.output(0);
    y = Tensor::empty(DataType::kFloat, x->shape());
    const float* xp = x->data<float>();
    const float* sp = s->data<float>();
    float* yp = y.data<float>();
    const bool per_image = s->dim(0) == n;
    // One task per pixel row of C channels; the grain keeps tiny maps on one thread.
    parallel_for(n * hw, std::max<int64_t>(1, 4096 / std::max<int64_t>(c, 1)),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t row = begin; row < end; ++row) {
                     const float* scale = sp + (per_image ? (row / hw) * c : 0);
                     const float* in = xp + row * c;
                     float* o = yp + row * c;
                     for (int64_t j = 0; j < c; ++j) o[j] = in[j] * scale[j];
                   }
                 });
    return Status::ok();
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("com.nalar", "NhwcChannelMul", 1, kMaxOpset, NhwcChannelMulKernel);

}  // namespace nalar
