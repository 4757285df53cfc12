// RoiAlign (opset 10/16): average or max of bilinearly sampled points in each output bin of
// each region. Opset 10 behaves like coordinate_transformation_mode="output_half_pixel".
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

class RoiAlignKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Node& n = cfg.node;
    const std::string mode = n.get_string("mode", "avg");
    if (mode != "avg" && mode != "max")
      return invalid_argument("RoiAlign: unknown mode '" + mode + "'");
    max_ = mode == "max";
    out_h_ = n.get_int("output_height", 1);
    out_w_ = n.get_int("output_width", 1);
    sampling_ = n.get_int("sampling_ratio", 0);
    scale_ = n.get_float("spatial_scale", 1.0f);
    const std::string ctm = n.get_string("coordinate_transformation_mode",
                                         cfg.opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (ctm != "half_pixel" && ctm != "output_half_pixel")
      return invalid_argument("RoiAlign: unknown coordinate_transformation_mode '" + ctm + "'");
    half_pixel_ = ctm == "half_pixel";
    if (out_h_ <= 0 || out_w_ <= 0 || sampling_ < 0)
      return invalid_argument("RoiAlign: output sizes must be positive and sampling_ratio >= 0");
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* rois = ctx.input(1);
    const Tensor* bi = ctx.input(2);
    if (!x || !rois || !bi) return invalid_argument("RoiAlign: missing input");
    if (x->rank() != 4 || rois->rank() != 2 || rois->dim(1) != 4 || bi->rank() != 1 ||
        bi->dim(0) != rois->dim(0))
      return invalid_argument("RoiAlign: expected X [N, C, H, W], rois [R, 4], batch_indices [R]");
    if (rois->dtype() != x->dtype())
      return invalid_argument("RoiAlign: rois must have the element type of X");
    NALAR_ASSIGN_OR_RETURN(auto batch, read_int64s(*bi, "RoiAlign: batch_indices"));
    const int64_t n = x->dim(0), c = x->dim(1), h = x->dim(2), w = x->dim(3), r = rois->dim(0);
    if (h == 0 || w == 0) return invalid_argument("RoiAlign: X has an empty spatial dimension");
    for (int64_t b : batch)
      if (b < 0 || b >= n) return invalid_argument("RoiAlign: batch index out of range");
    const int64_t ph_n = out_h_, pw_n = out_w_;
    // Adaptive sampling takes ceil(roi size / bins) points per bin: bound it so that huge or
    // non-finite boxes are rejected instead of looping for ever.
    Status roi_ok = dispatch_float(rois->dtype(), "RoiAlign", [&](auto tag) {
      using T = typename decltype(tag)::type;
      double samples = 0;
      for (int64_t i = 0; i < r; ++i) {
        const T* b = rois->data<T>() + i * 4;
        for (int k = 0; k < 4; ++k) {
          const double v = static_cast<double>(b[k]) * scale_;
          if (!std::isfinite(v) || std::fabs(v) > 1e7)
            return invalid_argument("RoiAlign: roi coordinate is not finite or too large");
        }
        const double rw =
            std::max((static_cast<double>(b[2]) - static_cast<double>(b[0])) * scale_, 1.0);
        const double rh =
            std::max((static_cast<double>(b[3]) - static_cast<double>(b[1])) * scale_, 1.0);
        const double gh = sampling_ > 0 ? static_cast<double>(sampling_)
                                        : std::ceil(rh / static_cast<double>(ph_n));
        const double gw = sampling_ > 0 ? static_cast<double>(sampling_)
                                        : std::ceil(rw / static_cast<double>(pw_n));
        samples += gh * gw * static_cast<double>(ph_n * pw_n * c);
      }
      if (samples > 4e9) return invalid_argument("RoiAlign: regions need too many samples");
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(roi_ok);
    Tensor y = Tensor::create(x->dtype(), {r, c, ph_n, pw_n});
    Status st = dispatch_float(x->dtype(), "RoiAlign", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x->data<T>();
      const T* rp = rois->data<T>();
      T* out = y.data<T>();
      parallel_for(r * c, 1, [&](int64_t begin, int64_t end) {
        for (int64_t rc = begin; rc < end; ++rc) {
          const int64_t ri = rc / c, ch = rc % c;
          const T* plane = in + (batch[ri] * c + ch) * h * w;
          const double off = half_pixel_ ? 0.5 : 0.0;
          const double sw = static_cast<double>(rp[ri * 4]) * scale_ - off;
          const double sh = static_cast<double>(rp[ri * 4 + 1]) * scale_ - off;
          const double ew = static_cast<double>(rp[ri * 4 + 2]) * scale_ - off;
          const double eh = static_cast<double>(rp[ri * 4 + 3]) * scale_ - off;
          double rw = ew - sw, rh = eh - sh;
          if (!half_pixel_) {
            rw = std::max(rw, 1.0);
            rh = std::max(rh, 1.0);
          }
          const double bh = rh / static_cast<double>(ph_n), bw = rw / static_cast<double>(pw_n);
          const int64_t gh = sampling_ > 0
                                 ? sampling_
                                 : static_cast<int64_t>(std::ceil(rh / static_cast<double>(ph_n)));
          const int64_t gw = sampling_ > 0
                                 ? sampling_
                                 : static_cast<int64_t>(std::ceil(rw / static_cast<double>(pw_n)));
          const double count = static_cast<double>(std::max<int64_t>(gh * gw, 1));
          for (int64_t ph = 0; ph < ph_n; ++ph)
            for (int64_t pw = 0; pw < pw_n; ++pw) {
              double acc = 0;
              bool any = false;
              for (int64_t iy = 0; iy < gh; ++iy) {
                double yy = sh + ph * bh + (iy + 0.5) * bh / static_cast<double>(gh);
                for (int64_t ix = 0; ix < gw; ++ix) {
                  double xx = sw + pw * bw + (ix + 0.5) * bw / static_cast<double>(gw);
                  double val = 0;
                  if (!(yy < -1.0 || yy > static_cast<double>(h) || xx < -1.0 ||
                        xx > static_cast<double>(w))) {
                    double sy = std::max(yy, 0.0), sx = std::max(xx, 0.0);
                    int64_t y0 = static_cast<int64_t>(sy), x0 = static_cast<int64_t>(sx), y1, x1;
                    if (y0 >= h - 1) {
                      y0 = y1 = h - 1;
                      sy = static_cast<double>(y0);
                    } else {
                      y1 = y0 + 1;
                    }
                    if (x0 >= w - 1) {
                      x0 = x1 = w - 1;
                      sx = static_cast<double>(x0);
                    } else {
                      x1 = x0 + 1;
                    }
                    const double ly = sy - static_cast<double>(y0),
                                 lx = sx - static_cast<double>(x0);
                    const double hy = 1 - ly, hx = 1 - lx;
                    const double v1 = hy * hx * static_cast<double>(plane[y0 * w + x0]);
                    const double v2 = hy * lx * static_cast<double>(plane[y0 * w + x1]);
                    const double v3 = ly * hx * static_cast<double>(plane[y1 * w + x0]);
                    const double v4 = ly * lx * static_cast<double>(plane[y1 * w + x1]);
                    // Max mode takes the largest weighted corner, as ONNX Runtime does.
                    val = max_ ? std::max(std::max(v1, v2), std::max(v3, v4)) : v1 + v2 + v3 + v4;
                  }
                  if (max_) {
                    acc = any ? std::max(acc, val) : val;
                    any = true;
                  } else {
                    acc += val;
                  }
                }
              }
              out[(rc * ph_n + ph) * pw_n + pw] = static_cast<T>(max_ ? acc : acc / count);
            }
        }
      });
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(st);
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  bool max_ = false;
  int64_t out_h_ = 1, out_w_ = 1, sampling_ = 0;
  float scale_ = 1.0f;
  bool half_pixel_ = true;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "RoiAlign", 10, kMaxOpset, RoiAlignKernel);

}  // namespace nalar
