// ConvInteger: int32 convolution of (x - x_zero_point) with (w - w_zero_point), via im2col + an
// int32-accumulating GEMM. Constant weights are widened once at session creation.
#include "kernels/kernel.h"
#include "kernels/quant_util.h"

namespace nalar {
namespace {

class ConvIntegerKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    attrs_ = read_conv_attributes(cfg.node);
    const Tensor* w = cfg.constant(1);
    const bool has_zp_input = cfg.node.inputs.size() > 3 && !cfg.node.inputs[3].empty();
    const Tensor* wzp = cfg.constant(3);
    if (w && (!has_zp_input || wzp)) {
      std::vector<int32_t> zp{0};
      if (wzp) {
        NALAR_ASSIGN_OR_RETURN(zp, read_zero_points(*wzp, "ConvInteger", "w_zero_point"));
      }
      NALAR_ASSIGN_OR_RETURN(packed_, widen_conv_weights(*w, zp, "ConvInteger"));
      prepacked_ = true;
    }
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    if (!x || !w) return invalid_argument("ConvInteger: missing input 'x' or 'w'");
    int32_t xzp = 0;
    if (const Tensor* t = ctx.input(2); t && t->defined()) {
      NALAR_ASSIGN_OR_RETURN(std::vector<int32_t> v,
                             read_zero_points(*t, "ConvInteger", "x_zero_point"));
      if (v.size() != 1) return invalid_argument("ConvInteger: x_zero_point must be a scalar");
      xzp = v[0];
    }
    std::vector<int32_t> wzp{0};
    if (const Tensor* t = ctx.input(3); t && t->defined()) {
      NALAR_ASSIGN_OR_RETURN(wzp, read_zero_points(*t, "ConvInteger", "w_zero_point"));
    }
    NALAR_ASSIGN_OR_RETURN(
        ctx.output(0),
        conv_integer_s32(*x, xzp, *w, wzp, prepacked_ ? &packed_ : nullptr, attrs_, "ConvInteger"));
    return Status::ok();
  }

 private:
  ConvAttributes attrs_;
  bool prepacked_ = false;
  std::vector<int16_t> packed_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "ConvInteger", 10, kMaxOpset, ConvIntegerKernel);

}  // namespace nalar
