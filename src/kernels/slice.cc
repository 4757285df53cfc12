// Slice: starts/ends/axes are attributes in opset 1 and inputs (with steps) from opset 10.
// Every slice is a strided view of the input, so the copy is one strided_copy.
#include <algorithm>

#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

class SliceKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    legacy_ = cfg.opset < 10;
    if (legacy_) {
      if (!cfg.node.has("starts") || !cfg.node.has("ends"))
        return invalid_argument("Slice: missing attribute 'starts' or 'ends'");
      starts_ = cfg.node.get_ints("starts");
      ends_ = cfg.node.get_ints("ends");
      has_axes_ = cfg.node.has("axes");
      axes_ = cfg.node.get_ints("axes");
    }
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Slice: missing input 'data'");
    std::vector<int64_t> starts = starts_, ends = ends_, axes = axes_, steps;
    bool has_axes = has_axes_, has_steps = false;
    if (!legacy_) {
      bool present = false;
      if (!ctx.input(1) || !ctx.input(2))
        return invalid_argument("Slice: missing input 'starts' or 'ends'");
      NALAR_ASSIGN_OR_RETURN(starts, read_optional_ints(ctx.input(1), "Slice 'starts'", &present));
      NALAR_ASSIGN_OR_RETURN(ends, read_optional_ints(ctx.input(2), "Slice 'ends'", &present));
      NALAR_ASSIGN_OR_RETURN(axes, read_optional_ints(ctx.input(3), "Slice 'axes'", &has_axes));
      NALAR_ASSIGN_OR_RETURN(steps, read_optional_ints(ctx.input(4), "Slice 'steps'", &has_steps));
    }
    const size_t n = starts.size();
    if (ends.size() != n || (has_axes && axes.size() != n) || (has_steps && steps.size() != n))
      return invalid_argument("Slice: starts, ends, axes and steps must have the same length");
    const int64_t r = x->rank();
    if (!has_axes) {
      if (static_cast<int64_t>(n) > r)
        return invalid_argument("Slice: " + std::to_string(n) + " starts for input " +
                                x->describe());
      axes.resize(n);
      for (size_t i = 0; i < n; ++i) axes[i] = static_cast<int64_t>(i);
    }
    NALAR_ASSIGN_OR_RETURN(axes, normalize_axes(axes, r, "Slice"));

    Shape out_shape = x->shape();
    const std::vector<int64_t> in_strides = strides_of(x->shape());
    StridedView sv{0, in_strides};
    for (size_t i = 0; i < n; ++i) {
      const size_t a = static_cast<size_t>(axes[i]);
      const int64_t dim = x->dim(axes[i]);
      const int64_t step = has_steps ? steps[i] : 1;
      if (step == 0) return invalid_argument("Slice: step must not be 0");
      int64_t start = starts[i], end = ends[i];
      if (start < 0) start += dim;
      if (end < 0) end += dim;
      int64_t count = 0;
      if (dim > 0) {
        if (step > 0) {
          start = std::clamp<int64_t>(start, 0, dim);
          end = std::clamp<int64_t>(end, 0, dim);
        } else {
          start = std::clamp<int64_t>(start, 0, dim - 1);
          end = std::clamp<int64_t>(end, -1, dim - 1);
        }
        const int64_t diff = step > 0 ? end - start : start - end;
        // |step| without overflow for INT64_MIN.
        const uint64_t astep =
            step > 0 ? static_cast<uint64_t>(step) : static_cast<uint64_t>(-(step + 1)) + 1;
        if (diff > 0) count = static_cast<int64_t>(static_cast<uint64_t>(diff - 1) / astep) + 1;
      }
      out_shape[a] = count;
      if (count > 0) {
        sv.base += start * in_strides[a];
        sv.strides[a] = count > 1 ? step * in_strides[a] : 0;  // huge steps give count 1
      }
    }
    Tensor out = Tensor::create(x->dtype(), out_shape);
    strided_copy(*x, sv, out, StridedView{0, strides_of(out_shape)}, out_shape);
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  bool legacy_ = false;
  bool has_axes_ = false;
  std::vector<int64_t> starts_, ends_, axes_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Slice", 1, kMaxOpset, SliceKernel);

}  // namespace nalar
