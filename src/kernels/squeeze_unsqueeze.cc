// Squeeze and Unsqueeze: zero-copy reshapes. Axes are an attribute up to opset 12 and an optional
// (Squeeze) or required (Unsqueeze) input from opset 13.
#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

// Axes from the attribute (opset < 13) or input 1 (opset >= 13); `given` is false when absent.
Result<std::vector<int64_t>> read_axes(const KernelContext& ctx, bool has_attr,
                                       const std::vector<int64_t>& attr, const char* what,
                                       bool* given) {
  bool present = false;
  NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> axes,
                         read_optional_ints(ctx.input(1), what, &present));
  if (present) {
    *given = true;
    return axes;
  }
  *given = has_attr;
  return attr;
}

class SqueezeKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    has_attr_ = cfg.node.has("axes");
    attr_ = cfg.node.get_ints("axes");
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Squeeze: missing input");
    bool given = false;
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> axes,
                           read_axes(ctx, has_attr_, attr_, "Squeeze 'axes'", &given));
    const int64_t r = x->rank();
    std::vector<bool> drop(static_cast<size_t>(r), false);
    if (given && !axes.empty()) {  // empty axes squeeze every unit dim, like no axes
      NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> norm, normalize_axes(axes, r, "Squeeze"));
      for (int64_t a : norm) {
        if (r == 0 || x->dim(a) != 1)
          return invalid_argument("Squeeze: axis " + std::to_string(a) + " of " + x->describe() +
                                  " does not have size 1");
        drop[static_cast<size_t>(a)] = true;
      }
    } else {
      for (int64_t i = 0; i < r; ++i) drop[static_cast<size_t>(i)] = x->dim(i) == 1;
    }
    Shape out;
    for (int64_t i = 0; i < r; ++i)
      if (!drop[static_cast<size_t>(i)]) out.push_back(x->dim(i));
    ctx.output(0) = x->reshaped(out);
    return Status::ok();
  }

 private:
  bool has_attr_ = false;
  std::vector<int64_t> attr_;
};

class UnsqueezeKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    has_attr_ = cfg.node.has("axes");
    attr_ = cfg.node.get_ints("axes");
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Unsqueeze: missing input");
    bool given = false;
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> axes,
                           read_axes(ctx, has_attr_, attr_, "Unsqueeze 'axes'", &given));
    if (!given) return invalid_argument("Unsqueeze: missing 'axes'");
    const int64_t out_rank = x->rank() + static_cast<int64_t>(axes.size());
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> norm, normalize_axes(axes, out_rank, "Unsqueeze"));
    std::vector<bool> added(static_cast<size_t>(out_rank), false);
    for (int64_t a : norm) added[static_cast<size_t>(a)] = true;
    Shape out(static_cast<size_t>(out_rank));
    int64_t k = 0;
    for (int64_t i = 0; i < out_rank; ++i)
      out[static_cast<size_t>(i)] = added[static_cast<size_t>(i)] ? 1 : x->dim(k++);
    ctx.output(0) = x->reshaped(out);
    return Status::ok();
  }

 private:
  bool has_attr_ = false;
  std::vector<int64_t> attr_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Squeeze", 1, kMaxOpset, SqueezeKernel);
NALAR_REGISTER_KERNEL("", "Unsqueeze", 1, kMaxOpset, UnsqueezeKernel);

}  // namespace nalar
