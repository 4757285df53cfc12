// Reshape (0 copies a dim unless allowzero, -1 is inferred) and Flatten: zero-copy views.
#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

class ReshapeKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    allowzero_ = cfg.node.get_int("allowzero", 0) != 0;
    // Reshape-1..4 took the shape as an attribute.
    if (cfg.node.has("shape")) {
      attr_shape_ = cfg.node.get_ints("shape");
      has_attr_shape_ = true;
    }
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Reshape: missing input 'data'");
    std::vector<int64_t> spec = attr_shape_;
    if (const Tensor* s = ctx.input(1)) {
      if (s->rank() != 1)
        return invalid_argument("Reshape: 'shape' must be 1-D, got " + s->describe());
      NALAR_ASSIGN_OR_RETURN(spec, read_int64s(*s, "Reshape 'shape'"));
    } else if (!has_attr_shape_) {
      return invalid_argument("Reshape: missing input 'shape'");
    }
    Shape out(spec.size());
    int64_t infer = -1, known = 1;
    bool has_zero = false;
    for (size_t i = 0; i < spec.size(); ++i) {
      int64_t d = spec[i];
      if (d == -1) {
        if (infer >= 0) return invalid_argument("Reshape: more than one -1 in the target shape");
        infer = static_cast<int64_t>(i);
        continue;
      }
      if (d == 0 && !allowzero_) {
        if (static_cast<int64_t>(i) >= x->rank())
          return invalid_argument("Reshape: 0 at position " + std::to_string(i) +
                                  " copies a dim the input " + x->describe() + " does not have");
        d = x->dim(static_cast<int64_t>(i));
      } else if (d < 0) {
        return invalid_argument("Reshape: invalid dim " + std::to_string(d) + " in target shape " +
                                shape_to_string(spec));
      }
      if (d == 0) has_zero = true;
      out[i] = d;
      if (d != 0) {
        if (known > kMaxTensorElements / d)
          return invalid_argument("Reshape: target shape " + shape_to_string(spec) +
                                  " is too large");
        known *= d;
      }
    }
    if (has_zero) known = 0;
    if (infer >= 0) {
      if (known == 0) {
        if (x->size() != 0 || allowzero_)
          return invalid_argument("Reshape: cannot infer the -1 dim of " + shape_to_string(spec) +
                                  " next to a zero dim");
        out[static_cast<size_t>(infer)] = 0;  // ambiguous for empty inputs; 0 is what others do
      } else {
        if (x->size() % known != 0)
          return invalid_argument("Reshape: cannot reshape " + x->describe() + " to " +
                                  shape_to_string(spec));
        out[static_cast<size_t>(infer)] = x->size() / known;
      }
    } else if (known != x->size()) {
      return invalid_argument("Reshape: cannot reshape " + x->describe() + " (" +
                              std::to_string(x->size()) + " elements) to " + shape_to_string(out));
    }
    ctx.output(0) = x->reshaped(out);
    return Status::ok();
  }

 private:
  bool allowzero_ = false;
  bool has_attr_shape_ = false;
  std::vector<int64_t> attr_shape_;
};

class FlattenKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    axis_ = cfg.node.get_int("axis", 1);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Flatten: missing input");
    const int64_t r = x->rank();
    int64_t axis = axis_ < 0 ? axis_ + r : axis_;
    if (axis < 0 || axis > r)
      return invalid_argument("Flatten: axis " + std::to_string(axis_) +
                              " is out of range for rank " + std::to_string(r));
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < r; ++i) (i < axis ? outer : inner) *= x->dim(i);
    ctx.output(0) = x->reshaped({outer, inner});
    return Status::ok();
  }

 private:
  int64_t axis_ = 1;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Reshape", 1, kMaxOpset, ReshapeKernel);
NALAR_REGISTER_KERNEL("", "Flatten", 1, kMaxOpset, FlattenKernel);

}  // namespace nalar
