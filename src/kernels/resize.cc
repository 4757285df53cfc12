// Resize (opset 10/11/13) and Upsample (opset 7/9).
// Every axis gets a table of (input index, weight) taps; nearest is a pure gather (any dtype),
// linear/cubic run one separable pass per resized axis. NCHW float nearest/bilinear over H and W
// (the vision-model case) has a dedicated 2-D loop.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"
#include "kernels/resize_util.h"

namespace nalar {

double resize_source_coord(ResizeCoord coord, double x, double scale, int64_t in_len,
                           double out_len_f, double roi_start, double roi_end) {
  const double in_m1 = static_cast<double>(in_len - 1);
  switch (coord) {
    case ResizeCoord::kHalfPixel:
      return (x + 0.5) / scale - 0.5;
    case ResizeCoord::kPytorchHalfPixel:
      return out_len_f == 1.0 ? -0.5 : (x + 0.5) / scale - 0.5;
    case ResizeCoord::kAlignCorners:
      return out_len_f == 1.0 ? 0.0 : x * in_m1 / (out_len_f - 1);
    case ResizeCoord::kAsymmetric:
      return x / scale;
    case ResizeCoord::kTfHalfPixelForNn:
      return (x + 0.5) / scale;
    case ResizeCoord::kTfCropAndResize: {
      // roi is float32: its differences and the start offset are float32 products in both the
      // ONNX reference and ONNX Runtime, which decides exact .5 ties for nearest.
      const double span = static_cast<float>(roi_end) - static_cast<float>(roi_start);
      const double start = static_cast<float>(roi_start) * static_cast<float>(in_len - 1);
      return (out_len_f == 1.0 ? span * in_m1 / 2 : x * span * in_m1 / (out_len_f - 1)) + start;
    }
  }
  return x;
}

namespace {

int64_t round_nearest(double x, NearestRounding r, double scale) {
  const double f = std::floor(x);
  const double frac = x - f;
  switch (r) {
    case NearestRounding::kRoundPreferFloor:
      return static_cast<int64_t>(frac <= 0.5 ? f : f + 1);
    case NearestRounding::kRoundPreferCeil:
      return static_cast<int64_t>(frac < 0.5 ? f : f + 1);
    case NearestRounding::kFloor:
      return static_cast<int64_t>(f);
    case NearestRounding::kCeil:
      return static_cast<int64_t>(std::ceil(x));
    case NearestRounding::kSimple:
      return static_cast<int64_t>(scale < 1.0 ? std::ceil(x) : f);
  }
  return static_cast<int64_t>(f);
}

double cubic_weight(double s, double a) {
  s = std::fabs(s);
  if (s <= 1) return ((a + 2) * s - (a + 3)) * s * s + 1;
  if (s < 2) return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a;
  return 0;
}

}  // namespace

AxisTaps compute_axis_taps(const ResizeOptions& opt, int64_t in_len, int64_t out_len, double scale,
                           double out_len_f, double roi_start, double roi_end) {
  AxisTaps t;
  t.taps = opt.mode == ResizeMode::kNearest ? 1 : opt.mode == ResizeMode::kLinear ? 2 : 4;
  const size_t n = static_cast<size_t>(out_len) * static_cast<size_t>(t.taps);
  t.index.assign(n, 0);
  t.weight.assign(n, 0.0);
  t.outside.assign(static_cast<size_t>(out_len), 0);
  auto clamp = [&](int64_t i) { return std::min(std::max<int64_t>(i, 0), in_len - 1); };
  bool identity = in_len == out_len;
  for (int64_t o = 0; o < out_len; ++o) {
    const double x = resize_source_coord(opt.coord, static_cast<double>(o), scale, in_len,
                                         out_len_f, roi_start, roi_end);
    int64_t* idx = &t.index[static_cast<size_t>(o * t.taps)];
    double* w = &t.weight[static_cast<size_t>(o * t.taps)];
    if (opt.coord == ResizeCoord::kTfCropAndResize &&
        (x < 0 || x > static_cast<double>(in_len - 1))) {
      t.outside[o] = 1;
      identity = false;
      continue;
    }
    if (opt.mode == ResizeMode::kNearest) {
      idx[0] = clamp(round_nearest(x, opt.nearest, scale));
      w[0] = 1.0;
      if (idx[0] != o) identity = false;
      continue;
    }
    const double f = std::floor(x);
    const double r = x - f;
    const int64_t i0 = static_cast<int64_t>(f);
    if (opt.mode == ResizeMode::kLinear) {
      idx[0] = clamp(i0);
      idx[1] = clamp(i0 + 1);
      w[0] = 1 - r;
      w[1] = r;
      if (!(idx[0] == o && r == 0)) identity = false;
      continue;
    }
    double sum = 0;
    for (int k = 0; k < 4; ++k) {
      const int64_t i = i0 - 1 + k;
      double wk = cubic_weight(r + 1 - k, opt.cubic_a);
      if (opt.exclude_outside && (i < 0 || i >= in_len)) wk = 0;
      idx[k] = clamp(i);
      w[k] = wk;
      sum += wk;
    }
    if (opt.exclude_outside && sum != 0)
      for (int k = 0; k < 4; ++k) w[k] /= sum;
    if (!(i0 == o && r == 0)) identity = false;
  }
  t.identity = identity;
  return t;
}

namespace {

template <class T>
T from_double(double v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(std::nearbyint(v));
  } else {
    return static_cast<T>(v);
  }
}

// Nearest: a gather through the per-axis index tables (any element type).
template <class T>
void gather_nearest(const Tensor& x, const std::vector<AxisTaps>& axes, const Shape& out_shape,
                    T extrapolation, Tensor& y) {
  const int64_t rank = x.rank();
  const std::vector<int64_t> in_strides = strides_of(x.shape());
  const T* in = x.data<T>();
  T* out = y.data<T>();
  const int64_t inner = rank ? out_shape[rank - 1] : 1;
  const int64_t rows = inner ? y.size() / inner : 0;
  const AxisTaps& last = axes[rank - 1];
  parallel_for(rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      int64_t rem = row, src = 0;
      bool outside = false;
      for (int64_t d = rank - 2; d >= 0; --d) {
        const int64_t o = rem % out_shape[d];
        rem /= out_shape[d];
        outside |= axes[d].outside[o] != 0;
        src += axes[d].index[o] * in_strides[d];
      }
      T* dst = out + row * inner;
      if (outside) {
        std::fill(dst, dst + inner, extrapolation);
        continue;
      }
      const T* s = in + src;
      for (int64_t i = 0; i < inner; ++i)
        dst[i] = last.outside[i] ? extrapolation : s[last.index[i]];
    }
  });
}

// Resizes axis `d` of `in` (shape `shape`) into `out`, in place of the shape.
template <class W>
void pass_axis(const std::vector<W>& in, Shape& shape, int64_t d, const AxisTaps& a,
               W extrapolation, std::vector<W>& out) {
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= shape[i];
  for (int64_t i = d + 1; i < static_cast<int64_t>(shape.size()); ++i) inner *= shape[i];
  const int64_t in_len = shape[d];
  const int64_t out_len = static_cast<int64_t>(a.outside.size());
  out.assign(static_cast<size_t>(outer * out_len * inner), W(0));
  parallel_for(outer * out_len, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t o = r / out_len, j = r % out_len;
      W* dst = out.data() + r * inner;
      if (a.outside[j]) {
        std::fill(dst, dst + inner, extrapolation);
        continue;
      }
      for (int k = 0; k < a.taps; ++k) {
        const W w = static_cast<W>(a.weight[j * a.taps + k]);
        if (w == W(0)) continue;
        const W* src = in.data() + (o * in_len + a.index[j * a.taps + k]) * inner;
        for (int64_t i = 0; i < inner; ++i) dst[i] += w * src[i];
      }
    }
  });
  shape[d] = out_len;
}

// NCHW float, N and C untouched: bilinear or nearest over H and W. Rows are processed in
// contiguous runs so that a horizontally interpolated input row is computed once and reused by
// the output rows that read it; nearest rows that repeat an input row are copied.
void resize_2d_float(const Tensor& x, const AxisTaps& ah, const AxisTaps& aw, bool linear,
                     Tensor& y) {
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t oh = y.dim(2), ow = y.dim(3);
  const float* in = x.data<float>();
  float* out = y.data<float>();
  const int tw = aw.taps, th = ah.taps;
  std::vector<int64_t> x0(static_cast<size_t>(ow)), x1(static_cast<size_t>(ow));
  std::vector<float> wx0(static_cast<size_t>(ow)), wx1(static_cast<size_t>(ow));
  bool twice = ow == 2 * w;  // nearest column map is exactly i -> i / 2
  for (int64_t i = 0; i < ow; ++i) {
    x0[i] = aw.index[i * tw];
    wx0[i] = static_cast<float>(aw.weight[i * tw]);
    x1[i] = linear ? aw.index[i * tw + 1] : x0[i];
    wx1[i] = linear ? static_cast<float>(aw.weight[i * tw + 1]) : 0.0f;
    if (x0[i] != i / 2) twice = false;
  }
  parallel_for(planes * oh, 32, [&](int64_t begin, int64_t end) {
    std::vector<float> buf[2] = {std::vector<float>(static_cast<size_t>(ow)),
                                 std::vector<float>(static_cast<size_t>(ow))};
    int64_t tag[2] = {-1, -1};  // plane * h + input row held by each buffer
    // Horizontally interpolated input row `r` of plane `p`, avoiding buffer `keep`.
    auto hrow = [&](int64_t p, int64_t r, int keep) -> const float* {
      const int64_t key = p * h + r;
      for (int b = 0; b < 2; ++b)
        if (tag[b] == key) return buf[b].data();
      const int b = keep == 0 ? 1 : 0;
      const float* src = in + key * w;
      float* d = buf[b].data();
      for (int64_t i = 0; i < ow; ++i) d[i] = src[x0[i]] * wx0[i] + src[x1[i]] * wx1[i];
      tag[b] = key;
      return d;
    };
    for (int64_t r = begin; r < end; ++r) {
      const int64_t p = r / oh, oy = r % oh;
      float* dst = out + r * ow;
      if (!linear) {
        if (r > begin && oy > 0 && ah.index[oy * th] == ah.index[(oy - 1) * th]) {
          std::copy(dst - ow, dst, dst);
          continue;
        }
        const float* src = in + (p * h + ah.index[oy * th]) * w;
        if (twice) {
          for (int64_t i = 0; i < w; ++i) dst[2 * i] = dst[2 * i + 1] = src[i];
        } else {
          for (int64_t i = 0; i < ow; ++i) dst[i] = src[x0[i]];
        }
        continue;
      }
      const float wy0 = static_cast<float>(ah.weight[oy * 2]);
      const float wy1 = static_cast<float>(ah.weight[oy * 2 + 1]);
      const float* s0 = hrow(p, ah.index[oy * 2], -1);
      const int hold = s0 == buf[0].data() ? 0 : 1;
      const float* s1 = hrow(p, ah.index[oy * 2 + 1], hold);
      for (int64_t i = 0; i < ow; ++i) dst[i] = s0[i] * wy0 + s1[i] * wy1;
    }
  });
}

Result<ResizeCoord> parse_coord(const std::string& s) {
  if (s == "half_pixel") return ResizeCoord::kHalfPixel;
  if (s == "pytorch_half_pixel") return ResizeCoord::kPytorchHalfPixel;
  if (s == "align_corners") return ResizeCoord::kAlignCorners;
  if (s == "asymmetric") return ResizeCoord::kAsymmetric;
  if (s == "tf_half_pixel_for_nn") return ResizeCoord::kTfHalfPixelForNn;
  if (s == "tf_crop_and_resize") return ResizeCoord::kTfCropAndResize;
  return invalid_argument("Resize: unknown coordinate_transformation_mode '" + s + "'");
}

Result<NearestRounding> parse_nearest(const std::string& s) {
  if (s == "round_prefer_floor") return NearestRounding::kRoundPreferFloor;
  if (s == "round_prefer_ceil") return NearestRounding::kRoundPreferCeil;
  if (s == "floor") return NearestRounding::kFloor;
  if (s == "ceil") return NearestRounding::kCeil;
  return invalid_argument("Resize: unknown nearest_mode '" + s + "'");
}

Result<std::vector<double>> read_floats(const Tensor& t, const char* what) {
  std::vector<double> v(static_cast<size_t>(t.size()));
  Status st = dispatch_float(t.dtype(), what, [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t i = 0; i < t.size(); ++i) v[i] = static_cast<double>(t.data<T>()[i]);
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return v;
}

// Where the inputs are: Upsample 7 (scales attribute), Upsample 9 / Resize 10 (X, scales),
// Resize 11+ (X, roi, scales, sizes).
enum class Layout { kUpsample7, kScalesInput, kFull };

class ResizeKernel : public Kernel {
 public:
  explicit ResizeKernel(bool upsample) : upsample_(upsample) {}

  Status prepare(const KernelConfig& cfg) override {
    const char* op = upsample_ ? "Upsample" : "Resize";
    const Node& n = cfg.node;
    if (upsample_)
      layout_ = cfg.opset < 9 ? Layout::kUpsample7 : Layout::kScalesInput;
    else
      layout_ = cfg.opset < 11 ? Layout::kScalesInput : Layout::kFull;
    // Opset 18 additions that change results: refuse rather than ignore them.
    if (n.get_int("antialias", 0) != 0 || n.has("axes") ||
        n.get_string("keep_aspect_ratio_policy", "stretch") != "stretch")
      return unimplemented(std::string(op) +
                           ": antialias, axes and keep_aspect_ratio_policy are not supported");
    const std::string mode = n.get_string("mode", "nearest");
    if (mode == "nearest")
      opt_.mode = ResizeMode::kNearest;
    else if (mode == "linear" || mode == "bilinear")
      opt_.mode = ResizeMode::kLinear;
    else if (mode == "cubic" && layout_ == Layout::kFull)
      opt_.mode = ResizeMode::kCubic;
    else
      return invalid_argument(std::string(op) + ": unknown mode '" + mode + "'");
    if (layout_ == Layout::kFull) {
      NALAR_ASSIGN_OR_RETURN(
          opt_.coord, parse_coord(n.get_string("coordinate_transformation_mode", "half_pixel")));
      NALAR_ASSIGN_OR_RETURN(opt_.nearest,
                             parse_nearest(n.get_string("nearest_mode", "round_prefer_floor")));
      opt_.cubic_a = n.get_float("cubic_coeff_a", -0.75f);
      opt_.exclude_outside = n.get_int("exclude_outside", 0) != 0;
      extrapolation_ = n.get_float("extrapolation_value", 0.0f);
    } else {
      opt_.coord = ResizeCoord::kAsymmetric;
      opt_.nearest = NearestRounding::kSimple;
      if (layout_ == Layout::kUpsample7) {
        for (float s : n.get_floats("scales")) scales_attr_.push_back(s);
        if (scales_attr_.empty()) return invalid_argument("Upsample: missing 'scales' attribute");
      }
    }
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const char* op = upsample_ ? "Upsample" : "Resize";
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument(std::string(op) + ": missing input 'X'");
    const int64_t rank = x->rank();
    if (rank == 0) return invalid_argument(std::string(op) + ": X must not be a scalar");
    std::vector<double> scales, roi;
    Shape out_shape;
    const Tensor* scales_t = nullptr;
    const Tensor* sizes_t = nullptr;
    if (layout_ == Layout::kUpsample7) {
      scales = scales_attr_;
    } else if (layout_ == Layout::kScalesInput) {
      scales_t = ctx.input(1);
      if (!scales_t) return invalid_argument(std::string(op) + ": missing input 'scales'");
    } else {
      if (const Tensor* r = ctx.input(1); r && r->size() > 0) {
        NALAR_ASSIGN_OR_RETURN(roi, read_floats(*r, "Resize: roi"));
      }
      scales_t = ctx.input(2);
      sizes_t = ctx.input(3);
      if (scales_t && scales_t->size() == 0) scales_t = nullptr;
      if (sizes_t && sizes_t->size() == 0) sizes_t = nullptr;
      if (!scales_t == !sizes_t)
        return invalid_argument("Resize: exactly one of 'scales' and 'sizes' must be given");
    }
    if (scales_t) {
      NALAR_ASSIGN_OR_RETURN(scales, read_floats(*scales_t, "Resize: scales"));
    }
    if (sizes_t) {
      NALAR_ASSIGN_OR_RETURN(out_shape, read_int64s(*sizes_t, "Resize: sizes"));
      if (static_cast<int64_t>(out_shape.size()) != rank)
        return invalid_argument("Resize: sizes has " + std::to_string(out_shape.size()) +
                                " values for an input of rank " + std::to_string(rank));
      for (int64_t i = 0; i < rank; ++i) {
        if (out_shape[i] <= 0) return invalid_argument("Resize: sizes must be positive");
        scales.push_back(
            x->dim(i) ? static_cast<double>(out_shape[i]) / static_cast<double>(x->dim(i)) : 1.0);
      }
    } else {
      if (static_cast<int64_t>(scales.size()) != rank)
        return invalid_argument(std::string(op) + ": scales has " + std::to_string(scales.size()) +
                                " values for an input of rank " + std::to_string(rank));
      for (int64_t i = 0; i < rank; ++i) {
        if (!(scales[i] > 0) || scales[i] > 1e6)
          return invalid_argument(std::string(op) + ": scales must be positive");
        out_shape.push_back(
            static_cast<int64_t>(std::floor(scales[i] * static_cast<double>(x->dim(i)))));
      }
    }
    double total = 1;
    for (int64_t d : out_shape) total *= static_cast<double>(d);
    if (total > 4e9) return invalid_argument(std::string(op) + ": output is too large");
    if (opt_.coord == ResizeCoord::kTfCropAndResize && static_cast<int64_t>(roi.size()) != 2 * rank)
      return invalid_argument("Resize: tf_crop_and_resize needs roi with 2 * rank values");

    Tensor y = Tensor::create(x->dtype(), out_shape);
    if (y.size() == 0 || x->size() == 0) {
      ctx.output(0) = std::move(y);
      return Status::ok();
    }
    std::vector<AxisTaps> axes;
    for (int64_t d = 0; d < rank; ++d) {
      const double rs = roi.empty() ? 0.0 : roi[d], re = roi.empty() ? 1.0 : roi[d + rank];
      const double out_f =
          sizes_t ? static_cast<double>(out_shape[d]) : scales[d] * static_cast<double>(x->dim(d));
      axes.push_back(compute_axis_taps(opt_, x->dim(d), out_shape[d], scales[d], out_f, rs, re));
    }
    // Fast path: NCHW float, only H and W resized.
    if (x->dtype() == DataType::kFloat && rank == 4 && axes[0].identity && axes[1].identity &&
        opt_.mode != ResizeMode::kCubic && opt_.coord != ResizeCoord::kTfCropAndResize) {
      resize_2d_float(*x, axes[2], axes[3], opt_.mode == ResizeMode::kLinear, y);
      ctx.output(0) = std::move(y);
      return Status::ok();
    }
    if (opt_.mode == ResizeMode::kNearest) {
      Status st = dispatch_all(x->dtype(), op, [&](auto tag) -> Status {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, Float16> ||
                      std::is_same_v<T, BFloat16>) {
          gather_nearest<T>(*x, axes, out_shape, static_cast<T>(extrapolation_), y);
        } else {
          gather_nearest<T>(*x, axes, out_shape, T(), y);
        }
        return Status::ok();
      });
      NALAR_RETURN_IF_ERROR(st);
      ctx.output(0) = std::move(y);
      return Status::ok();
    }
    Status st = dispatch_numeric(x->dtype(), op, [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      auto run = [&](auto wtag) {
        using W = typename decltype(wtag)::type;
        std::vector<W> cur(static_cast<size_t>(x->size())), next;
        const T* in = x->data<T>();
        for (int64_t i = 0; i < x->size(); ++i) cur[i] = static_cast<W>(in[i]);
        Shape shape = x->shape();
        for (int64_t d = 0; d < rank; ++d) {
          if (axes[d].identity) continue;
          pass_axis<W>(cur, shape, d, axes[d], static_cast<W>(extrapolation_), next);
          cur.swap(next);
        }
        T* out = y.data<T>();
        for (size_t i = 0; i < cur.size(); ++i)
          out[i] = from_double<T>(static_cast<double>(cur[i]));
      };
      if constexpr (std::is_same_v<T, double>)
        run(TypeTag<double>{});
      else
        run(TypeTag<float>{});
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(st);
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  bool upsample_;
  Layout layout_ = Layout::kFull;
  ResizeOptions opt_;
  float extrapolation_ = 0.0f;
  std::vector<double> scales_attr_;
};

class UpsampleKernel : public ResizeKernel {
 public:
  UpsampleKernel() : ResizeKernel(true) {}
};
class ResizeOnlyKernel : public ResizeKernel {
 public:
  ResizeOnlyKernel() : ResizeKernel(false) {}
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Resize", 10, kMaxOpset, ResizeOnlyKernel);
NALAR_REGISTER_KERNEL("", "Upsample", 7, kMaxOpset, UpsampleKernel);

}  // namespace nalar
