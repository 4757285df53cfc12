// DepthToSpace (DCR and CRD) and SpaceToDepth: a 6-D reshape, a transpose, a 4-D reshape.
#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

class DepthToSpaceKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    b_ = cfg.node.get_int("blocksize", 0);
    if (b_ <= 0) return invalid_argument("DepthToSpace: 'blocksize' must be positive");
    const std::string mode = cfg.node.get_string("mode", "DCR");
    if (mode != "DCR" && mode != "CRD")
      return invalid_argument("DepthToSpace: unknown mode '" + mode + "'");
    crd_ = mode == "CRD";
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("DepthToSpace: missing input");
    if (x->rank() != 4)
      return invalid_argument("DepthToSpace: input must be 4-D, got " + x->describe());
    const int64_t n = x->dim(0), c = x->dim(1), h = x->dim(2), w = x->dim(3), b = b_;
    if (b > c || c / b < b || c % (b * b) != 0)
      return invalid_argument("DepthToSpace: channels of " + x->describe() +
                              " are not divisible by blocksize^2 (blocksize " + std::to_string(b) +
                              ")");
    const int64_t cc = c / (b * b);
    Tensor six = crd_ ? x->reshaped({n, cc, b, b, h, w}) : x->reshaped({n, b, b, cc, h, w});
    const std::vector<int64_t> perm =
        crd_ ? std::vector<int64_t>{0, 1, 4, 2, 5, 3} : std::vector<int64_t>{0, 3, 4, 1, 5, 2};
    NALAR_ASSIGN_OR_RETURN(Tensor t, transpose_tensor(six, perm, "DepthToSpace"));
    ctx.output(0) = t.reshaped({n, cc, h * b, w * b});
    return Status::ok();
  }

 private:
  int64_t b_ = 0;
  bool crd_ = false;
};

class SpaceToDepthKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    b_ = cfg.node.get_int("blocksize", 0);
    if (b_ <= 0) return invalid_argument("SpaceToDepth: 'blocksize' must be positive");
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("SpaceToDepth: missing input");
    if (x->rank() != 4)
      return invalid_argument("SpaceToDepth: input must be 4-D, got " + x->describe());
    const int64_t n = x->dim(0), c = x->dim(1), h = x->dim(2), w = x->dim(3), b = b_;
    if (h % b != 0 || w % b != 0 || (b > 1 && (b > h || b > w)))
      return invalid_argument("SpaceToDepth: spatial dims of " + x->describe() +
                              " are not divisible by blocksize " + std::to_string(b));
    Tensor six = x->reshaped({n, c, h / b, b, w / b, b});
    NALAR_ASSIGN_OR_RETURN(Tensor t, transpose_tensor(six, {0, 3, 5, 1, 2, 4}, "SpaceToDepth"));
    ctx.output(0) = t.reshaped({n, c * b * b, h / b, w / b});
    return Status::ok();
  }

 private:
  int64_t b_ = 0;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "DepthToSpace", 1, kMaxOpset, DepthToSpaceKernel);
NALAR_REGISTER_KERNEL("", "SpaceToDepth", 1, kMaxOpset, SpaceToDepthKernel);

}  // namespace nalar
