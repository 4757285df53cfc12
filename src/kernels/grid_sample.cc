// GridSample (opset 16), 4-D: samples X [N, C, H, W] at the normalised (x, y) positions of
// grid [N, Ho, Wo, 2], with PyTorch's grid_sample semantics (bilinear / nearest / bicubic,
// zeros / border / reflection padding, align_corners).
#include <cmath>
#include <string>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

enum class Mode { kBilinear, kNearest, kBicubic };
enum class Padding { kZeros, kBorder, kReflection };

// Reflects `v` into [lo2/2, hi2/2] (bounds given doubled, as PyTorch does).
double reflect(double v, double lo2, double hi2) {
  if (lo2 == hi2) return 0.0;
  const double lo = lo2 / 2, span = (hi2 - lo2) / 2;
  v = std::fabs(v - lo);
  const double extra = std::fmod(v, span);
  const int64_t flips = static_cast<int64_t>(std::floor(v / span));
  return flips % 2 == 0 ? extra + lo : span - extra + lo;
}

double clip(double v, double hi) { return std::min(std::max(v, 0.0), hi); }

class GridSampleKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const std::string mode = cfg.node.get_string("mode", "bilinear");
    if (mode == "bilinear" || mode == "linear")
      mode_ = Mode::kBilinear;
    else if (mode == "nearest")
      mode_ = Mode::kNearest;
    else if (mode == "bicubic" || mode == "cubic")
      mode_ = Mode::kBicubic;
    else
      return invalid_argument("GridSample: unknown mode '" + mode + "'");
    const std::string pad = cfg.node.get_string("padding_mode", "zeros");
    if (pad == "zeros")
      padding_ = Padding::kZeros;
    else if (pad == "border")
      padding_ = Padding::kBorder;
    else if (pad == "reflection")
      padding_ = Padding::kReflection;
    else
      return invalid_argument("GridSample: unknown padding_mode '" + pad + "'");
    align_ = cfg.node.get_int("align_corners", 0) != 0;
    return Status::ok();
  }

  double unnormalize(double g, int64_t size) const {
    return align_ ? (g + 1) / 2 * static_cast<double>(size - 1)
                  : ((g + 1) * static_cast<double>(size) - 1) / 2;
  }

  // Applies border/reflection padding to a source coordinate.
  double pad_coord(double v, int64_t size) const {
    const double hi = static_cast<double>(size - 1);
    if (padding_ == Padding::kBorder) return clip(v, hi);
    if (padding_ == Padding::kReflection) {
      v = align_ ? reflect(v, 0, 2.0 * hi) : reflect(v, -1, 2.0 * static_cast<double>(size) - 1);
      return clip(v, hi);
    }
    return v;
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* grid = ctx.input(1);
    if (!x || !grid) return invalid_argument("GridSample: missing X or grid");
    if (x->rank() != 4 || grid->rank() != 4 || grid->dim(3) != 2 || grid->dim(0) != x->dim(0))
      return unimplemented("GridSample: expected X [N, C, H, W] and grid [N, Ho, Wo, 2], got " +
                           shape_to_string(x->shape()) + " and " + shape_to_string(grid->shape()));
    if (grid->dtype() != x->dtype())
      return unimplemented("GridSample: grid must have the element type of X");
    const int64_t n = x->dim(0), c = x->dim(1), h = x->dim(2), w = x->dim(3);
    const int64_t ho = grid->dim(1), wo = grid->dim(2);
    Tensor y = Tensor::create(x->dtype(), {n, c, ho, wo});
    Status st = dispatch_float(x->dtype(), "GridSample", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x->data<T>();
      const T* g = grid->data<T>();
      T* out = y.data<T>();
      parallel_for(n * c, 1, [&](int64_t begin, int64_t end) {
        for (int64_t nc = begin; nc < end; ++nc) {
          const int64_t b = nc / c;
          const T* plane = in + nc * h * w;
          // Pixel value with zero padding outside the image.
          auto at = [&](int64_t yy, int64_t xx) -> double {
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) return 0.0;
            return static_cast<double>(plane[yy * w + xx]);
          };
          for (int64_t i = 0; i < ho * wo; ++i) {
            const double gx = static_cast<double>(g[(b * ho * wo + i) * 2]);
            const double gy = static_cast<double>(g[(b * ho * wo + i) * 2 + 1]);
            double sx = unnormalize(gx, w), sy = unnormalize(gy, h);
            double v = 0.0;
            if (mode_ == Mode::kBicubic) {
              // Taps are padded one by one.
              const double fx = std::floor(sx), fy = std::floor(sy);
              double cx[4], cy[4];
              cubic_coeffs(sx - fx, cx);
              cubic_coeffs(sy - fy, cy);
              for (int j = 0; j < 4; ++j) {
                double row = 0;
                for (int k = 0; k < 4; ++k) {
                  const double tx = pad_coord(fx - 1 + k, w), ty = pad_coord(fy - 1 + j, h);
                  row += cx[k] * at(static_cast<int64_t>(ty), static_cast<int64_t>(tx));
                }
                v += cy[j] * row;
              }
            } else {
              sx = pad_coord(sx, w);
              sy = pad_coord(sy, h);
              if (mode_ == Mode::kNearest) {
                v = at(static_cast<int64_t>(std::nearbyint(sy)),
                       static_cast<int64_t>(std::nearbyint(sx)));
              } else {
                const double fx = std::floor(sx), fy = std::floor(sy);
                const double lx = sx - fx, ly = sy - fy;
                const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy);
                v = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x0 + 1)) +
                    ly * ((1 - lx) * at(y0 + 1, x0) + lx * at(y0 + 1, x0 + 1));
              }
            }
            out[nc * ho * wo + i] = static_cast<T>(v);
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
  static void cubic_coeffs(double t, double* c) {
    constexpr double A = -0.75;
    const double t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
    c[0] = ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A;
    c[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
    c[2] = ((A + 2) * t2 - (A + 3)) * t2 * t2 + 1;
    c[3] = ((A * t3 - 5 * A) * t3 + 8 * A) * t3 - 4 * A;
  }

  Mode mode_ = Mode::kBilinear;
  Padding padding_ = Padding::kZeros;
  bool align_ = false;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "GridSample", 16, kMaxOpset, GridSampleKernel);

}  // namespace nalar
