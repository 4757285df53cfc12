// Identity: the output is the input (zero-copy; tensors are immutable once produced).
#include "kernels/kernel.h"

namespace nalar {
namespace {

class IdentityKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Identity: missing input");
    ctx.output(0) = *x;
    return Status::ok();
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Identity", 1, kMaxOpset, IdentityKernel);

}  // namespace nalar
