// Tile and Expand: both read the input through a view with zero strides, so each is a single
// strided_copy (contiguous rows become block copies, broadcast rows become fills).
#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

class TileKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    legacy_ = cfg.opset < 6;
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* rep = ctx.input(1);
    if (!x || !rep) return invalid_argument("Tile: missing input");
    bool present = false;
    const int64_t r = x->rank();
    std::vector<int64_t> repeats;
    if (legacy_) {  // Tile-1: inputs (input, tiles, axis) repeat along one axis
      const Tensor* axis_t = ctx.input(2);
      if (!axis_t) return invalid_argument("Tile: missing input 'axis'");
      NALAR_ASSIGN_OR_RETURN(int64_t tiles, read_int_scalar(*rep, "Tile 'tiles'"));
      NALAR_ASSIGN_OR_RETURN(int64_t a, read_int_scalar(*axis_t, "Tile 'axis'"));
      NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(a, r, "Tile"));
      repeats.assign(static_cast<size_t>(r), 1);
      repeats[static_cast<size_t>(axis)] = tiles;
    } else {
      NALAR_ASSIGN_OR_RETURN(repeats, read_optional_ints(rep, "Tile 'repeats'", &present));
    }
    if (static_cast<int64_t>(repeats.size()) != r)
      return invalid_argument("Tile: 'repeats' has " + std::to_string(repeats.size()) +
                              " entries for input " + x->describe());
    // Index space [r0, d0, r1, d1, ...]: the repeat dims read with stride 0.
    Shape space, out_shape;
    StridedView sv;
    const std::vector<int64_t> st = strides_of(x->shape());
    for (int64_t d = 0; d < r; ++d) {
      const size_t u = static_cast<size_t>(d);
      if (repeats[u] < 0) return invalid_argument("Tile: negative repeat");
      space.push_back(repeats[u]);
      space.push_back(x->dim(d));
      sv.strides.push_back(0);
      sv.strides.push_back(st[u]);
      if (repeats[u] != 0 && x->dim(d) > kMaxTensorElements / repeats[u])
        return invalid_argument("Tile: output too large");
      out_shape.push_back(repeats[u] * x->dim(d));
    }
    NALAR_ASSIGN_OR_RETURN(Tensor out, create_checked(x->dtype(), out_shape, "Tile"));
    strided_copy(*x, sv, out, StridedView{0, strides_of(space)}, space);
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  bool legacy_ = false;
};

class ExpandKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* s = ctx.input(1);
    if (!x || !s) return invalid_argument("Expand: missing input");
    bool present = false;
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> shape,
                           read_optional_ints(s, "Expand 'shape'", &present));
    for (int64_t d : shape)
      if (d < 0)
        return invalid_argument("Expand: negative dim in 'shape' " + shape_to_string(shape));
    NALAR_ASSIGN_OR_RETURN(Shape out_shape, broadcast_shapes(x->shape(), shape, "Expand"));
    if (out_shape == x->shape()) {
      ctx.output(0) = *x;
      return Status::ok();
    }
    NALAR_ASSIGN_OR_RETURN(Tensor out, create_checked(x->dtype(), out_shape, "Expand"));
    StridedView sv{0, broadcast_strides(x->shape(), out_shape)};
    strided_copy(*x, sv, out, StridedView{0, strides_of(out_shape)}, out_shape);
    ctx.output(0) = std::move(out);
    return Status::ok();
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Tile", 1, kMaxOpset, TileKernel);
NALAR_REGISTER_KERNEL("", "Expand", 8, kMaxOpset, ExpandKernel);

}  // namespace nalar
