// MatMulInteger: int32 = (A - a_zero_point) x (B - b_zero_point), numpy.matmul broadcasting.
#include "kernels/kernel.h"
#include "kernels/quant_util.h"

namespace nalar {
namespace {

class MatMulIntegerKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* a = ctx.input(0);
    const Tensor* b = ctx.input(1);
    if (!a || !b) return invalid_argument("MatMulInteger: missing input 'A' or 'B'");
    std::vector<int32_t> za{0}, zb{0};
    if (const Tensor* t = ctx.input(2); t && t->defined()) {
      NALAR_ASSIGN_OR_RETURN(za, read_zero_points(*t, "MatMulInteger", "a_zero_point"));
    }
    if (const Tensor* t = ctx.input(3); t && t->defined()) {
      NALAR_ASSIGN_OR_RETURN(zb, read_zero_points(*t, "MatMulInteger", "b_zero_point"));
    }
    NALAR_ASSIGN_OR_RETURN(ctx.output(0), matmul_integer_s32(*a, *b, za, zb, "MatMulInteger"));
    return Status::ok();
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("", "MatMulInteger", 10, kMaxOpset, MatMulIntegerKernel);

}  // namespace nalar
