// Transpose: a reshape when only unit dims move, otherwise the tiled strided copy in shape_util.
#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

class TransposeKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    has_perm_ = cfg.node.has("perm");
    perm_ = cfg.node.get_ints("perm");
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Transpose: missing input");
    std::vector<int64_t> perm = perm_;
    if (!has_perm_) {  // default: reverse the axes
      perm.resize(static_cast<size_t>(x->rank()));
      for (int64_t i = 0; i < x->rank(); ++i) perm[static_cast<size_t>(i)] = x->rank() - 1 - i;
    }
    NALAR_ASSIGN_OR_RETURN(perm, normalize_perm(perm, x->rank(), "Transpose"));
    NALAR_ASSIGN_OR_RETURN(ctx.output(0), transpose_tensor(*x, perm, "Transpose"));
    return Status::ok();
  }

 private:
  bool has_perm_ = false;
  std::vector<int64_t> perm_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Transpose", 1, kMaxOpset, TransposeKernel);

}  // namespace nalar
