// Pad: constant, reflect, edge (and opset 19's wrap) modes. Pads are attributes before opset 11
// ('paddings' in opset 1) and an input from 11, with an optional 'axes' input (opset 18).
// Negative pads crop.
#include <algorithm>

#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

class PadKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const std::string mode = cfg.node.get_string("mode", "constant");
    if (mode == "constant") {
      mode_ = PadMode::kConstant;
    } else if (mode == "reflect") {
      mode_ = PadMode::kReflect;
    } else if (mode == "edge") {
      mode_ = PadMode::kEdge;
    } else if (mode == "wrap") {
      mode_ = PadMode::kWrap;
    } else {
      return invalid_argument("Pad: unknown mode '" + mode + "'");
    }
    legacy_ = cfg.opset < 11;
    if (legacy_) {
      attr_pads_ = cfg.node.has("pads") ? cfg.node.get_ints("pads") : cfg.node.get_ints("paddings");
      value_ = cfg.node.get_float("value", 0.0f);
    }
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Pad: missing input 'data'");
    const int64_t r = x->rank();
    std::vector<int64_t> pads = attr_pads_;
    bool has_axes = false;
    std::vector<int64_t> axes;
    if (!legacy_) {
      if (!ctx.input(1)) return invalid_argument("Pad: missing input 'pads'");
      bool present = false;
      NALAR_ASSIGN_OR_RETURN(pads, read_optional_ints(ctx.input(1), "Pad 'pads'", &present));
      NALAR_ASSIGN_OR_RETURN(axes, read_optional_ints(ctx.input(3), "Pad 'axes'", &has_axes));
    }
    if (!has_axes) {
      axes.resize(static_cast<size_t>(r));
      for (int64_t i = 0; i < r; ++i) axes[static_cast<size_t>(i)] = i;
    }
    NALAR_ASSIGN_OR_RETURN(axes, normalize_axes(axes, r, "Pad"));
    const size_t na = axes.size();
    if (pads.size() != 2 * na)
      return invalid_argument("Pad: expected " + std::to_string(2 * na) + " pads for " +
                              x->describe() + ", got " + std::to_string(pads.size()));
    std::vector<int64_t> pb(static_cast<size_t>(r), 0), pe(static_cast<size_t>(r), 0);
    for (size_t i = 0; i < na; ++i) {
      pb[static_cast<size_t>(axes[i])] = pads[i];
      pe[static_cast<size_t>(axes[i])] = pads[i + na];
    }
    Shape out_shape(static_cast<size_t>(r));
    for (int64_t d = 0; d < r; ++d) {
      const size_t u = static_cast<size_t>(d);
      if (pb[u] > kMaxTensorElements || pe[u] > kMaxTensorElements || pb[u] < -kMaxTensorElements ||
          pe[u] < -kMaxTensorElements)
        return invalid_argument("Pad: pads out of range");
      out_shape[u] = x->dim(d) + pb[u] + pe[u];
      if (out_shape[u] < 0)
        return invalid_argument("Pad: pads " + shape_to_string(pads) + " crop more than " +
                                x->describe() + " has");
      if (mode_ != PadMode::kConstant && x->dim(d) == 0 && out_shape[u] > 0)
        return invalid_argument("Pad: cannot pad an empty axis in a non-constant mode");
    }
    NALAR_ASSIGN_OR_RETURN(Tensor out, create_checked(x->dtype(), out_shape, "Pad"));
    if (out.size() > 0) {
      if (mode_ == PadMode::kConstant) {
        NALAR_RETURN_IF_ERROR(pad_constant(ctx, *x, pb, pe, out));
      } else {
        NALAR_RETURN_IF_ERROR(pad_mapped(*x, pb, out));
      }
    }
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  Status pad_constant(const KernelContext& ctx, const Tensor& x, const std::vector<int64_t>& pb,
                      const std::vector<int64_t>& pe, Tensor& out) const {
    // Fill with the value, then copy the (possibly cropped) input into its window.
    const Tensor* cv = legacy_ ? nullptr : ctx.input(2);
    if (cv && cv->defined() && cv->size() > 0) {
      if (cv->dtype() != x.dtype())
        return invalid_argument("Pad: 'constant_value' dtype differs from 'data'");
      NALAR_RETURN_IF_ERROR(dispatch_by_size(x.dtype(), "Pad", [&](auto tag) {
        using T = typename decltype(tag)::type;
        std::fill_n(out.data<T>(), out.size(), cv->data<T>()[0]);
        return Status::ok();
      }));
    } else if (legacy_ && value_ != 0.0f) {
      NALAR_RETURN_IF_ERROR(dispatch_numeric(x.dtype(), "Pad", [&](auto tag) {
        using T = typename decltype(tag)::type;
        std::fill_n(out.data<T>(), out.size(), static_cast<T>(value_));
        return Status::ok();
      }));
    }
    const int64_t r = x.rank();
    const std::vector<int64_t> ist = strides_of(x.shape()), ost = strides_of(out.shape());
    StridedView sv{0, ist}, dv{0, ost};
    Shape window(static_cast<size_t>(r));
    for (int64_t d = 0; d < r; ++d) {
      const size_t u = static_cast<size_t>(d);
      const int64_t s0 = std::max<int64_t>(0, -pb[u]);
      const int64_t s1 = std::min<int64_t>(x.dim(d), x.dim(d) + pe[u]);
      window[u] = std::max<int64_t>(0, s1 - s0);
      sv.base += s0 * ist[u];
      dv.base += std::max<int64_t>(0, pb[u]) * ost[u];
    }
    strided_copy(x, sv, out, dv, window);
    return Status::ok();
  }

  // Edge/reflect/wrap: every output coordinate maps to an input coordinate, per axis.
  Status pad_mapped(const Tensor& x, const std::vector<int64_t>& pb, Tensor& out) const {
    const int64_t r = x.rank();
    const std::vector<int64_t> ist = strides_of(x.shape());
    std::vector<std::vector<int64_t>> tab(static_cast<size_t>(r));  // input offset per out coord
    for (int64_t d = 0; d < r; ++d) {
      const size_t u = static_cast<size_t>(d);
      const int64_t n = x.dim(d);
      tab[u].resize(static_cast<size_t>(out.dim(d)));
      for (int64_t o = 0; o < out.dim(d); ++o) {
        int64_t i = o - pb[u];
        if (i < 0 || i >= n) {
          if (mode_ == PadMode::kEdge || n == 1) {
            i = std::clamp<int64_t>(i, 0, n - 1);
          } else if (mode_ == PadMode::kWrap) {
            i = ((i % n) + n) % n;
          } else {  // reflect, repeatedly for pads longer than the axis
            const int64_t period = 2 * (n - 1);
            i = ((i % period) + period) % period;
            if (i >= n) i = period - i;
          }
        }
        tab[u][static_cast<size_t>(o)] = i * ist[u];
      }
    }
    if (r == 0)
      return dispatch_by_size(x.dtype(), "Pad", [&](auto tag) {
        using T = typename decltype(tag)::type;
        out.data<T>()[0] = x.data<T>()[0];
        return Status::ok();
      });
    const int64_t inner = out.dim(r - 1);
    const int64_t rows = out.size() / inner;
    const std::vector<int64_t>& last = tab[static_cast<size_t>(r - 1)];
    return dispatch_by_size(x.dtype(), "Pad", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = x.data<T>();
      T* dst = out.data<T>();
      parallel_for(rows, std::max<int64_t>(1, 32768 / inner), [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {
          int64_t off = 0, rem = row;
          for (int64_t d = r - 2; d >= 0; --d) {
            const int64_t od = out.dim(d);
            off += tab[static_cast<size_t>(d)][static_cast<size_t>(rem % od)];
            rem /= od;
          }
          T* drow = dst + row * inner;
          for (int64_t i = 0; i < inner; ++i) drow[i] = src[off + last[static_cast<size_t>(i)]];
        }
      });
      return Status::ok();
    });
  }

  PadMode mode_ = PadMode::kConstant;
  bool legacy_ = false;
  std::vector<int64_t> attr_pads_;
  float value_ = 0.0f;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Pad", 1, kMaxOpset, PadKernel);

}  // namespace nalar
