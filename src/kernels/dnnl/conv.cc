// Conv and ConvTranspose: float32 through oneDNN (1D/2D/3D, groups, dilations, any padding),
// other float types and unusual geometries through a direct loop over a 3-D-lifted window.
#include <algorithm>
#include <cstring>
#include <optional>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/dnnl/conv_cache.h"
#include "kernels/dnnl/window.h"
#include "kernels/fast_math.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

using dnnl_util::dims;

// Geometry of a (transposed) convolution lifted to exactly 3 spatial dims (missing dims are 1).
struct Geo3 {
  int64_t n = 0, c = 0, m = 0, g = 1;  // batch, input channels, output channels, groups
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1};
  int64_t s[3] = {1, 1, 1}, d[3] = {1, 1, 1}, pb[3] = {0, 0, 0};
};

Geo3 lift(int64_t n, int64_t c, int64_t m, int64_t g, const std::vector<int64_t>& in,
          const std::vector<int64_t>& out, const std::vector<int64_t>& k,
          const std::vector<int64_t>& s, const std::vector<int64_t>& d,
          const std::vector<int64_t>& pb) {
  Geo3 r;
  r.n = n, r.c = c, r.m = m, r.g = g;
  const size_t off = 3 - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    r.in[off + i] = in[i], r.out[off + i] = out[i], r.k[off + i] = k[i];
    r.s[off + i] = s[i], r.d[off + i] = d[i], r.pb[off + i] = pb[i];
  }
  return r;
}

// y[n,m,o] = b[m] + sum_{c in group, k} x[n,c,o*s-p+k*d] * w[m,c,k]
template <class T>
void conv_direct(const Geo3& g, const T* x, const T* w, const T* b, T* y) {
  using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const int64_t cg = g.c / g.g, mg = g.m / g.g;
  const int64_t in_sz = g.in[0] * g.in[1] * g.in[2], out_sz = g.out[0] * g.out[1] * g.out[2];
  const int64_t k_sz = g.k[0] * g.k[1] * g.k[2];
  parallel_for(g.n * g.m, 1, [&](int64_t begin, int64_t end) {
    for (int64_t nm = begin; nm < end; ++nm) {
      const int64_t n = nm / g.m, m = nm % g.m, grp = m / mg;
      T* yp = y + nm * out_sz;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
            Acc acc = b ? static_cast<Acc>(b[m]) : Acc(0);
            for (int64_t ci = 0; ci < cg; ++ci) {
              const T* xp = x + (n * g.c + grp * cg + ci) * in_sz;
              const T* wp = w + (m * cg + ci) * k_sz;
              for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
                const int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                if (i0 < 0 || i0 >= g.in[0]) continue;
                for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
                  const int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                  if (i1 < 0 || i1 >= g.in[1]) continue;
                  for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                    const int64_t i2 = o2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                    if (i2 < 0 || i2 >= g.in[2]) continue;
                    acc += static_cast<Acc>(xp[(i0 * g.in[1] + i1) * g.in[2] + i2]) *
                           static_cast<Acc>(wp[(k0 * g.k[1] + k1) * g.k[2] + k2]);
                  }
                }
              }
            }
            yp[(o0 * g.out[1] + o1) * g.out[2] + o2] = static_cast<T>(acc);
          }
    }
  });
}

// Transposed: every input element scatters x[n,c,i] * w[c,mo,k] to y[n,m,i*s-p+k*d].
// Each (n, m) output channel is owned by one thread.
template <class T>
void conv_transpose_direct(const Geo3& g, const T* x, const T* w, const T* b, T* y) {
  using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const int64_t cg = g.c / g.g, mg = g.m / g.g;
  const int64_t in_sz = g.in[0] * g.in[1] * g.in[2], out_sz = g.out[0] * g.out[1] * g.out[2];
  const int64_t k_sz = g.k[0] * g.k[1] * g.k[2];
  parallel_for(g.n * g.m, 1, [&](int64_t begin, int64_t end) {
    std::vector<Acc> acc(static_cast<size_t>(out_sz));
    for (int64_t nm = begin; nm < end; ++nm) {
      const int64_t n = nm / g.m, m = nm % g.m, grp = m / mg, mo = m % mg;
      std::fill(acc.begin(), acc.end(), b ? static_cast<Acc>(b[m]) : Acc(0));
      for (int64_t ci = 0; ci < cg; ++ci) {
        const int64_t c = grp * cg + ci;
        const T* xp = x + (n * g.c + c) * in_sz;
        const T* wp = w + (c * mg + mo) * k_sz;
        for (int64_t i0 = 0; i0 < g.in[0]; ++i0)
          for (int64_t i1 = 0; i1 < g.in[1]; ++i1)
            for (int64_t i2 = 0; i2 < g.in[2]; ++i2) {
              const Acc xv = static_cast<Acc>(xp[(i0 * g.in[1] + i1) * g.in[2] + i2]);
              for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
                const int64_t o0 = i0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                if (o0 < 0 || o0 >= g.out[0]) continue;
                for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
                  const int64_t o1 = i1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                  if (o1 < 0 || o1 >= g.out[1]) continue;
                  for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                    const int64_t o2 = i2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                    if (o2 < 0 || o2 >= g.out[2]) continue;
                    acc[static_cast<size_t>((o0 * g.out[1] + o1) * g.out[2] + o2)] +=
                        xv * static_cast<Acc>(wp[(k0 * g.k[1] + k1) * g.k[2] + k2]);
                  }
                }
              }
            }
      }
      T* yp = y + nm * out_sz;
      for (int64_t i = 0; i < out_sz; ++i) yp[i] = static_cast<T>(acc[static_cast<size_t>(i)]);
    }
  });
}

// Checks X, W, B and returns the spatial rank.
Result<size_t> check_inputs(const char* op, const Tensor* x, const Tensor* w, const Tensor* b,
                            int64_t bias_len) {
  if (!x || !w) return invalid_argument(std::string(op) + ": missing input X or W");
  if (x->rank() < 3)
    return invalid_argument(std::string(op) + ": X must have rank >= 3, got " +
                            shape_to_string(x->shape()));
  if (w->rank() != x->rank())
    return invalid_argument(std::string(op) + ": W rank must equal X rank, got " +
                            shape_to_string(w->shape()) + " and " + shape_to_string(x->shape()));
  if (w->dtype() != x->dtype() || (b && b->dtype() != x->dtype()))
    return invalid_argument(std::string(op) + ": X, W and B must share one element type");
  if (b && (b->rank() != 1 || b->dim(0) != bias_len))
    return invalid_argument(std::string(op) + ": B must have shape [" + std::to_string(bias_len) +
                            "], got " + shape_to_string(b->shape()));
  const size_t r = static_cast<size_t>(x->rank() - 2);
  if (r > 3) return unimplemented(std::string(op) + ": more than 3 spatial dimensions");
  return r;
}

// Weight descriptor for oneDNN dims {G, O/G, I/G, k...} (or {O, I, k...} when G == 1) over
// memory laid out as ONNX stores it; `io_major` marks ConvTranspose's [I, O/G, k...] layout.
dnnl::memory::desc weights_md(int64_t g, int64_t o, int64_t i, const std::vector<int64_t>& k,
                              bool io_major) {
  int64_t ksz = 1;
  for (int64_t v : k) ksz *= v;
  const int64_t og = o / g, ig = i / g;
  dims d, st;
  if (g > 1) d.push_back(g), st.push_back(og * ig * ksz);
  d.push_back(og);
  d.push_back(ig);
  if (io_major) {
    st.push_back(ksz);
    st.push_back(og * ksz);
  } else {
    st.push_back(ig * ksz);
    st.push_back(ksz);
  }
  int64_t s = ksz;
  for (int64_t v : k) {
    s /= v;
    d.push_back(v);
    st.push_back(s);
  }
  return dnnl::memory::desc(d, dnnl::memory::data_type::f32, st);
}

dims minus_one(const std::vector<int64_t>& v) {
  dims r(v.begin(), v.end());
  for (auto& e : r) e -= 1;
  return r;
}

// The activation a fused convolution (com.microsoft FusedConv) applies after conv + B + Z.
struct Activation {
  enum Kind {
    kNone,
    kRelu,
    kLeakyRelu,
    kClip,
    kSigmoid,
    kTanh,
    kHardSigmoid,
    kHardSwish,
    kSwish
  } kind = kNone;
  float a = 0, b = 0;

  static Result<Activation> read(const Node& node) {
    Activation act;
    const std::string name = node.get_string("activation", "");
    const std::vector<float> p = node.get_floats("activation_params");
    auto param = [&](size_t i, float dflt) { return i < p.size() ? p[i] : dflt; };
    if (name.empty()) return act;
    if (name == "Relu") {
      act.kind = kRelu;
    } else if (name == "LeakyRelu") {
      act.kind = kLeakyRelu, act.a = param(0, 0.01f);
    } else if (name == "Clip") {
      act.kind = kClip, act.a = param(0, -3.4028234663852886e38f);
      act.b = param(1, 3.4028234663852886e38f);
    } else if (name == "Sigmoid") {
      act.kind = kSigmoid;
    } else if (name == "Tanh") {
      act.kind = kTanh;
    } else if (name == "HardSigmoid") {
      act.kind = kHardSigmoid, act.a = param(0, 0.2f), act.b = param(1, 0.5f);
    } else if (name == "HardSwish") {  // ONNX HardSwish: x * HardSigmoid(x; 1/6, 1/2)
      act.kind = kHardSwish;
    } else if (name == "Swish") {  // x * Sigmoid(x) (Nalar's conv fusion of SiLU)
      act.kind = kSwish;
    } else {
      return unimplemented("FusedConv: activation '" + name + "' is not supported");
    }
    return act;
  }

  void append_to(dnnl::post_ops& ops) const {
    using A = dnnl::algorithm;
    switch (kind) {
      case kNone:
        break;
      case kRelu:
        ops.append_eltwise(1.0f, A::eltwise_relu, 0.0f, 0.0f);
        break;
      case kLeakyRelu:
        ops.append_eltwise(1.0f, A::eltwise_relu, a, 0.0f);
        break;
      case kClip:
        ops.append_eltwise(1.0f, A::eltwise_clip_v2, a, b);
        break;
      case kSigmoid:
        ops.append_eltwise(1.0f, A::eltwise_logistic, 0.0f, 0.0f);
        break;
      case kTanh:
        ops.append_eltwise(1.0f, A::eltwise_tanh, 0.0f, 0.0f);
        break;
      case kHardSigmoid:  // no hardsigmoid algorithm in oneDNN 2.6: linear, then clip to [0, 1]
        ops.append_eltwise(1.0f, A::eltwise_linear, a, b);
        ops.append_eltwise(1.0f, A::eltwise_clip_v2, 0.0f, 1.0f);
        break;
      case kHardSwish:
        ops.append_eltwise(1.0f, A::eltwise_hardswish, 0.0f, 0.0f);
        break;
      case kSwish:
        ops.append_eltwise(1.0f, A::eltwise_swish, 1.0f, 0.0f);
        break;
    }
  }

  // The activation over n floats in place, vectorised and parallel.
  void apply_inplace(float* y, int64_t n) const {
    const float lo = a, hi = b;
    auto clip = [](VecF8 v, float l, float h) {
      v = v < l ? VecF8{} + l : v;
      return v > h ? VecF8{} + h : v;
    };
    parallel_for(n, 1 << 14, [&](int64_t begin, int64_t end) {
      float* p = y + begin;
      const int64_t len = end - begin;
      switch (kind) {
        case kNone:
          break;
        case kRelu:
          map_f8(p, p, len, [](VecF8 v) { return v > 0.0f ? v : VecF8{}; });
          break;
        case kLeakyRelu:
          map_f8(p, p, len, [lo](VecF8 v) { return v > 0.0f ? v : v * lo; });
          break;
        case kClip:
          map_f8(p, p, len, [&](VecF8 v) { return clip(v, lo, hi); });
          break;
        case kSigmoid:
          map_f8(p, p, len, [](VecF8 v) { return fast_sigmoid8(v); });
          break;
        case kTanh:
          map_f8(p, p, len, [](VecF8 v) { return fast_tanh8(v); });
          break;
        case kHardSigmoid:
          map_f8(p, p, len, [&](VecF8 v) { return clip(v * lo + hi, 0.0f, 1.0f); });
          break;
        case kHardSwish:
          map_f8(p, p, len,
                 [&](VecF8 v) { return v * clip(v * (1.0f / 6.0f) + 0.5f, 0.0f, 1.0f); });
          break;
        case kSwish:
          map_f8(p, p, len, [](VecF8 v) { return v * fast_sigmoid8(v); });
          break;
      }
    });
  }

  double apply(double v) const {
    switch (kind) {
      case kNone:
        return v;
      case kRelu:
        return v > 0 ? v : 0;
      case kLeakyRelu:
        return v > 0 ? v : v * a;
      case kClip:
        return std::min<double>(std::max<double>(v, a), b);
      case kSigmoid:
        return 1.0 / (1.0 + std::exp(-v));
      case kTanh:
        return std::tanh(v);
      case kHardSigmoid:
        return std::min(1.0, std::max(0.0, a * v + b));
      case kHardSwish:
        return v * std::min(1.0, std::max(0.0, v / 6.0 + 0.5));
      case kSwish:
        return v / (1.0 + std::exp(-v));
    }
    return v;
  }
};

class ConvKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    attrs_ = WindowAttrs::read(cfg.node);
    attrs_.ceil_mode = false;
    group_ = cfg.node.get_int("group", 1);
    if (group_ <= 0) return invalid_argument("Conv: group must be positive");
    if (const Tensor* w = cfg.constant(1)) const_w_ = *w;
    if (cfg.node.op_type == "FusedConv") {
      NALAR_ASSIGN_OR_RETURN(act_, Activation::read(cfg.node));
      fused_ = true;
    }
    // Set by layout propagation: X (and Z) / Y hold NHWC bytes under their NCHW shapes.
    nhwc_in_ = cfg.node.get_int("nalar_nhwc_in", 0) != 0;
    nhwc_out_ = cfg.node.get_int("nalar_nhwc_out", 0) != 0;
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    const Tensor* b = ctx.input(2);
    if (!x || !w) return invalid_argument("Conv: missing input X or W");
    if (w->rank() < 1) return invalid_argument("Conv: W must have rank >= 3");
    NALAR_ASSIGN_OR_RETURN(size_t r, check_inputs("Conv", x, w, b, w->dim(0)));
    const int64_t n = x->dim(0), c = x->dim(1), m = w->dim(0);
    if (c != w->dim(1) * group_ || m % group_ != 0)
      return invalid_argument("Conv: channels do not match: X " + shape_to_string(x->shape()) +
                              ", W " + shape_to_string(w->shape()) + ", group " +
                              std::to_string(group_));
    std::vector<int64_t> in(x->shape().begin() + 2, x->shape().end());
    std::vector<int64_t> k(w->shape().begin() + 2, w->shape().end());
    if (!attrs_.kernel.empty() && attrs_.kernel != k)
      return invalid_argument("Conv: kernel_shape does not match W " + shape_to_string(w->shape()));
    NALAR_ASSIGN_OR_RETURN(Window win, resolve_window(attrs_, in, k, "Conv"));
    Shape out_shape{n, m};
    out_shape.insert(out_shape.end(), win.out.begin(), win.out.end());
    const Tensor* z = fused_ ? ctx.input(3) : nullptr;
    if (z && z->dtype() != x->dtype())
      return invalid_argument("FusedConv: Z must have the output's type, got " + z->describe());
    if ((nhwc_in_ || nhwc_out_) && (r != 2 || x->dtype() != DataType::kFloat))
      return invalid_argument("Conv: an NHWC input or output needs 2-D float data, got " +
                              x->describe());
    if (z && z->shape() != out_shape && nhwc_out_)
      return invalid_argument("FusedConv: an NHWC output needs Z of the output's shape " +
                              shape_to_string(out_shape) + ", got " + z->describe());
    if (z && z->shape() != out_shape) {
      // A broadcasting residual (possible after fusing Conv + Add): convolve alone, then add.
      NALAR_ASSIGN_OR_RETURN(Shape full, broadcast_shapes(out_shape, z->shape(), "FusedConv"));
      Tensor conv_only;
      NALAR_RETURN_IF_ERROR(run_conv(x, w, b, nullptr, false, r, in, k, win, out_shape, conv_only));
      return add_broadcast(conv_only, *z, full, ctx.output(0));
    }
    return run_conv(x, w, b, z, fused_, r, in, k, win, out_shape, ctx.output(0));
  }

  // activation(conv + z) into y when `with_act`, plain conv (+ z) otherwise.
  Status run_conv(const Tensor* x, const Tensor* w, const Tensor* b, const Tensor* z, bool with_act,
                  size_t r, const std::vector<int64_t>& in, const std::vector<int64_t>& k,
                  const Window& win, const Shape& out_shape, Tensor& y) const {
    const int64_t n = x->dim(0), c = x->dim(1), m = w->dim(0);
    const Activation act = with_act ? act_ : Activation{};
    const bool on_dnnl = x->size() != 0 && w->size() != 0 && x->dtype() == DataType::kFloat;
    // oneDNN writes every output element: no zero-fill pass for it.
    y = on_dnnl ? Tensor::empty(x->dtype(), out_shape) : Tensor::create(x->dtype(), out_shape);
    if (y.size() == 0) return Status::ok();
    if (!on_dnnl) {
      Status st = Status::ok();
      if (x->size() == 0 || w->size() == 0) {  // empty reduction: bias only
        st = fill_bias(y, b, m, nhwc_out_);
      } else {
        Geo3 g = lift(n, c, m, group_, in, win.out, k, win.strides, win.dilations, win.pad_begin);
        st = dispatch_float(x->dtype(), "Conv", [&](auto tag) -> Status {
          using T = typename decltype(tag)::type;
          conv_direct<T>(g, x->data<T>(), w->data<T>(), b ? b->data<T>() : nullptr, y.data<T>());
          return Status::ok();
        });
      }
      NALAR_RETURN_IF_ERROR(st);
      if (!z && act.kind == Activation::kNone) return Status::ok();
      return dispatch_float(x->dtype(), "FusedConv", [&](auto tag) -> Status {
        using T = typename decltype(tag)::type;
        T* yp = y.data<T>();
        for (int64_t i = 0; i < y.size(); ++i) {
          double v = static_cast<double>(yp[i]);
          if (z) v += static_cast<double>(z->data<T>()[i]);
          yp[i] = static_cast<T>(act.apply(v));
        }
        return Status::ok();
      });
    }

    return dnnl_util::guard("Conv", [&]() -> Status {
      std::vector<int64_t> key = x->shape();
      key.insert(key.end(), w->shape().begin(), w->shape().end());
      key.push_back(b ? 1 : 0);
      const bool packed = const_w_.defined() && const_w_.raw() == w->raw();
      key.push_back(packed ? 1 : 0);
      key.push_back(z ? 1 : 0);
      key.push_back(act.kind);
      auto prim = cache_.get(key, [&](dnnl::memory& shared_wei) {
        auto p = std::make_shared<ConvPrimitive>();
        using dnnl::memory;
        const memory::desc nhwc_src(dnnl_util::to_dims(x->shape()), memory::data_type::f32,
                                    memory::format_tag::acdb);
        const memory::desc nhwc_dst(dnnl_util::to_dims(out_shape), memory::data_type::f32,
                                    memory::format_tag::acdb);
        memory::desc src_u =
            nhwc_in_ ? nhwc_src : dnnl_util::plain_md(dnnl_util::to_dims(x->shape()));
        memory::desc dst_u =
            nhwc_out_ ? nhwc_dst : dnnl_util::plain_md(dnnl_util::to_dims(out_shape));
        memory::desc wei_u = weights_md(group_, m, c, k, false);
        memory::desc any_wei(wei_u.dims(), memory::data_type::f32, memory::format_tag::any);
        memory::desc any_act_src(src_u.dims(), memory::data_type::f32, memory::format_tag::any);
        memory::desc any_act_dst(dst_u.dims(), memory::data_type::f32, memory::format_tag::any);
        // Activation layouts, chosen from measurements on AVX-512 (activations stay NCHW
        // outside the kernel, so the reorders in and out count):
        // - pointwise conv on plain NCHW is one GEMM per image (oneDNN's gemm path): 1.4x
        //   faster than reordering to NHWC for brgconv and back;
        // - depthwise conv on nChw16c (jit_dw) with its cheap blocked reorders: 2x faster
        //   than NHWC, whose NHWC->NCHW reorder costs 3x the convolution itself;
        // - otherwise oneDNN's choice (NHWC brgconv).
        // (Pointwise only pays off on larger images: at 7x7, NHWC brgconv wins by ~20%.)
        // With NHWC on either side (layout propagation) everything runs channels-last: brgconv
        // and jit_dw read it natively, and no reorder is left to amortise.
        const bool nhwc = nhwc_in_ || nhwc_out_;
        bool pointwise = !nhwc && group_ == 1 && shape_size(in) >= 128;
        for (size_t i = 0; i < r; ++i)
          pointwise &=
              k[i] == 1 && win.strides[i] == 1 && win.pad_begin[i] == 0 && win.pad_end_eff[i] == 0;
        const bool depthwise = !nhwc && group_ > 1 && group_ == c && group_ == m;
        dnnl::primitive_attr attr = dnnl_util::user_scratch_attr();
        dnnl::post_ops ops;
        if (z) ops.append_sum(1.0f);  // dst holds Z when the convolution accumulates
        // oneDNN's gemm convolution (the pointwise NCHW path) runs eltwise post-ops element by
        // element (measured 50x slower than the GEMM's own sum): apply those afterwards.
        p->post_act = pointwise && act.kind != Activation::kNone;
        if (!p->post_act) act.append_to(ops);
        attr.set_post_ops(ops);
        p->has_sum = z != nullptr;
        memory::desc src_req = any_act_src, dst_req = any_act_dst;
        if (nhwc) {
          src_req = nhwc_src;
          dst_req = nhwc_dst;
        } else if (pointwise) {
          src_req = src_u;
          dst_req = dst_u;
        } else if (depthwise) {
          const memory::format_tag t = r == 1   ? memory::format_tag::aBc16b
                                       : r == 2 ? memory::format_tag::aBcd16b
                                                : memory::format_tag::aBcde16b;
          src_req = memory::desc(src_u.dims(), memory::data_type::f32, t);
          dst_req = memory::desc(dst_u.dims(), memory::data_type::f32, t);
        }
        p->has_bias = b != nullptr;
        p->bias_md = dnnl_util::plain_md({m});
        dims st(win.strides.begin(), win.strides.end());
        dims pl(win.pad_begin.begin(), win.pad_begin.end());
        dims pr(win.pad_end_eff.begin(), win.pad_end_eff.end());
        using PD = dnnl::convolution_forward::primitive_desc;
        auto make_pd3 = [&](const memory::desc& s, const memory::desc& d, const memory::desc& wei) {
          auto desc =
              p->has_bias
                  ? dnnl::convolution_forward::desc(
                        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, s,
                        wei, p->bias_md, d, st, minus_one(win.dilations), pl, pr)
                  : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                    dnnl::algorithm::convolution_direct, s, wei, d,
                                                    st, minus_one(win.dilations), pl, pr);
          return PD(desc, attr, dnnl_util::engine());
        };
        auto make_pd = [&](const memory::desc& wei) {
          PD pd = make_pd3(src_req, dst_req, wei);
          // A forced layout must never cost us an optimised implementation.
          if ((nhwc || pointwise || depthwise) &&
              std::string(pd.impl_info_str()).rfind("ref", 0) == 0)
            pd = make_pd3(any_act_src, any_act_dst, wei);
          return pd;
        };
        PD pd;
        if (make_with_shared_weights(make_pd, packed ? shared_wei : dnnl::memory(), any_wei, &pd)) {
          p->init(pd, src_u, wei_u, dst_u, nullptr);
          p->packed_wei = shared_wei;
        } else {
          p->init(pd, src_u, wei_u, dst_u, packed ? w->raw() : nullptr);
          if (packed && !shared_wei) shared_wei = p->packed_wei;
        }
        return std::shared_ptr<const ConvPrimitive>(std::move(p));
      });
      prim->run(x->raw(), w->raw(), b ? b->raw() : nullptr, y.raw(), z ? z->raw() : nullptr);
      if (prim->post_act) act.apply_inplace(y.data<float>(), y.size());
      return Status::ok();
    });
  }

  // out = activation(a + z) broadcast to `full`.
  Status add_broadcast(const Tensor& a, const Tensor& z, const Shape& full, Tensor& out) const {
    out = Tensor::create(a.dtype(), full);
    const std::vector<int64_t> sa = broadcast_strides(a.shape(), full);
    const std::vector<int64_t> sz = broadcast_strides(z.shape(), full);
    return dispatch_float(a.dtype(), "FusedConv", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      const T* ap = a.data<T>();
      const T* zp = z.data<T>();
      T* op = out.data<T>();
      std::vector<int64_t> idx(full.size(), 0);
      for (int64_t i = 0; i < out.size(); ++i) {
        int64_t ia = 0, iz = 0;
        for (size_t d = 0; d < full.size(); ++d) ia += idx[d] * sa[d], iz += idx[d] * sz[d];
        op[i] =
            static_cast<T>(act_.apply(static_cast<double>(ap[ia]) + static_cast<double>(zp[iz])));
        for (size_t d = full.size(); d-- > 0;) {
          if (++idx[d] < full[d]) break;
          idx[d] = 0;
        }
      }
      return Status::ok();
    });
  }

  static Status fill_bias(Tensor& y, const Tensor* b, int64_t m, bool nhwc = false) {
    if (!b) return Status::ok();
    const int64_t per = nhwc ? 1 : y.size() / (y.dim(0) * m);  // NHWC: channel varies fastest
    return dispatch_float(y.dtype(), "Conv", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      T* yp = y.data<T>();
      for (int64_t i = 0; i < y.size(); ++i) yp[i] = b->data<T>()[(i / per) % m];
      return Status::ok();
    });
  }

 private:
  WindowAttrs attrs_;
  int64_t group_ = 1;
  bool fused_ = false;
  bool nhwc_in_ = false, nhwc_out_ = false;
  Activation act_;
  Tensor const_w_;
  ConvPrimitiveCache cache_;
};

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

class ConvTransposeKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    attrs_ = WindowAttrs::read(cfg.node);
    group_ = cfg.node.get_int("group", 1);
    if (group_ <= 0) return invalid_argument("ConvTranspose: group must be positive");
    output_padding_ = cfg.node.get_ints("output_padding");
    output_shape_ = cfg.node.get_ints("output_shape");
    if (const Tensor* w = cfg.constant(1)) const_w_ = *w;
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* w = ctx.input(1);
    const Tensor* b = ctx.input(2);
    if (!x || !w) return invalid_argument("ConvTranspose: missing input X or W");
    if (w->rank() < 2) return invalid_argument("ConvTranspose: W must have rank >= 3");
    const int64_t n = x->rank() > 0 ? x->dim(0) : 0, c = x->rank() > 1 ? x->dim(1) : 0;
    const int64_t m = w->dim(1) * group_;
    NALAR_ASSIGN_OR_RETURN(size_t r, check_inputs("ConvTranspose", x, w, b, m));
    if (w->dim(0) != c || c % group_ != 0)
      return invalid_argument("ConvTranspose: channels do not match: X " +
                              shape_to_string(x->shape()) + ", W " + shape_to_string(w->shape()) +
                              ", group " + std::to_string(group_));
    std::vector<int64_t> in(x->shape().begin() + 2, x->shape().end());
    std::vector<int64_t> k(w->shape().begin() + 2, w->shape().end());
    if (!attrs_.kernel.empty() && attrs_.kernel != k)
      return invalid_argument("ConvTranspose: kernel_shape does not match W");
    auto vec_or = [&](const std::vector<int64_t>& v, int64_t dflt) -> Result<std::vector<int64_t>> {
      if (v.empty()) return std::vector<int64_t>(r, dflt);
      if (v.size() != r) return invalid_argument("ConvTranspose: attribute has the wrong rank");
      return v;
    };
    NALAR_ASSIGN_OR_RETURN(auto strides, vec_or(attrs_.strides, 1));
    NALAR_ASSIGN_OR_RETURN(auto dil, vec_or(attrs_.dilations, 1));
    NALAR_ASSIGN_OR_RETURN(auto opad, vec_or(output_padding_, 0));
    std::vector<int64_t> oshape = output_shape_;
    if (oshape.size() == r + 2) oshape.erase(oshape.begin(), oshape.begin() + 2);
    if (!oshape.empty() && oshape.size() != r)
      return invalid_argument("ConvTranspose: output_shape has the wrong rank");
    if (!attrs_.pads.empty() && attrs_.pads.size() != 2 * r)
      return invalid_argument("ConvTranspose: pads must have 2 * spatial rank values");
    const std::string& ap = attrs_.auto_pad;
    if (ap != "NOTSET" && ap != "VALID" && ap != "SAME_UPPER" && ap != "SAME_LOWER")
      return invalid_argument("ConvTranspose: unknown auto_pad '" + ap + "'");
    std::vector<int64_t> pb(r, 0), pe(r, 0), out(r, 0);
    bool negative_pad = false;
    for (size_t i = 0; i < r; ++i) {
      constexpr int64_t kLimit = int64_t{1} << 31;
      if (k[i] <= 0 || strides[i] <= 0 || dil[i] <= 0 || opad[i] < 0)
        return invalid_argument("ConvTranspose: kernel, strides, dilations must be positive");
      if (k[i] > kLimit || strides[i] > kLimit || dil[i] > kLimit || opad[i] > kLimit ||
          (!oshape.empty() && (oshape[i] < 0 || oshape[i] > kLimit * kLimit)) ||
          (!attrs_.pads.empty() &&
           (std::abs(attrs_.pads[i]) > kLimit || std::abs(attrs_.pads[i + r]) > kLimit)))
        return invalid_argument("ConvTranspose: attribute values out of range");
      const int64_t ext = (k[i] - 1) * dil[i] + 1;
      const int64_t full = strides[i] * (in[i] - 1) + opad[i] + ext;
      const bool same = ap == "SAME_UPPER" || ap == "SAME_LOWER";
      if (!oshape.empty() || same) {
        out[i] = !oshape.empty() ? oshape[i] : in[i] * strides[i];
        const int64_t total = full - out[i];
        if (ap == "SAME_UPPER") {
          pb[i] = floor_div(total, 2);
          pe[i] = total - pb[i];
        } else {
          pe[i] = floor_div(total, 2);
          pb[i] = total - pe[i];
        }
      } else {
        if (ap == "NOTSET" && !attrs_.pads.empty())
          pb[i] = attrs_.pads[i], pe[i] = attrs_.pads[i + r];
        out[i] = full - pb[i] - pe[i];
      }
      if (out[i] < 0) return invalid_argument("ConvTranspose: negative output size");
      if (pb[i] < 0 || pe[i] - opad[i] < 0) negative_pad = true;
    }
    Shape out_shape{n, m};
    out_shape.insert(out_shape.end(), out.begin(), out.end());
    Tensor& y = ctx.output(0);
    y = Tensor::create(x->dtype(), out_shape);
    if (y.size() == 0) return Status::ok();
    if (x->size() == 0 || w->size() == 0) return ConvKernel::fill_bias(y, b, m);

    if (x->dtype() == DataType::kFloat && !negative_pad) {
      return dnnl_util::guard("ConvTranspose", [&]() -> Status {
        std::vector<int64_t> key = x->shape();
        key.insert(key.end(), w->shape().begin(), w->shape().end());
        key.insert(key.end(), out.begin(), out.end());
        key.insert(key.end(), pb.begin(), pb.end());
        key.push_back(b ? 1 : 0);
        const bool packed = const_w_.defined() && const_w_.raw() == w->raw();
        key.push_back(packed ? 1 : 0);
        auto prim = cache_.get(key, [&](dnnl::memory& shared_wei) {
          auto p = std::make_shared<ConvPrimitive>();
          using dnnl::memory;
          memory::desc src_u = dnnl_util::plain_md(dnnl_util::to_dims(x->shape()));
          memory::desc dst_u = dnnl_util::plain_md(dnnl_util::to_dims(out_shape));
          memory::desc wei_u = weights_md(group_, m, c, k, true);
          memory::desc any_src(src_u.dims(), memory::data_type::f32, memory::format_tag::any);
          memory::desc any_dst(dst_u.dims(), memory::data_type::f32, memory::format_tag::any);
          memory::desc any_wei(wei_u.dims(), memory::data_type::f32, memory::format_tag::any);
          p->has_bias = b != nullptr;
          p->bias_md = dnnl_util::plain_md({m});
          dims st(strides.begin(), strides.end());
          dims pl(pb.begin(), pb.end());
          dims pr(r);
          for (size_t i = 0; i < r; ++i) pr[i] = pe[i] - opad[i];
          using PD = dnnl::deconvolution_forward::primitive_desc;
          auto make_pd = [&](const memory::desc& wei) {
            auto desc =
                p->has_bias
                    ? dnnl::deconvolution_forward::desc(
                          dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                          any_src, wei, p->bias_md, any_dst, st, minus_one(dil), pl, pr)
                    : dnnl::deconvolution_forward::desc(
                          dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                          any_src, wei, any_dst, st, minus_one(dil), pl, pr);
            return PD(desc, dnnl_util::user_scratch_attr(), dnnl_util::engine());
          };
          PD pd;
          if (make_with_shared_weights(make_pd, packed ? shared_wei : dnnl::memory(), any_wei,
                                       &pd)) {
            p->init(pd, src_u, wei_u, dst_u, nullptr);
            p->packed_wei = shared_wei;
          } else {
            p->init(pd, src_u, wei_u, dst_u, packed ? w->raw() : nullptr);
            if (packed && !shared_wei) shared_wei = p->packed_wei;
          }
          return std::shared_ptr<const ConvPrimitive>(std::move(p));
        });
        prim->run(x->raw(), w->raw(), b ? b->raw() : nullptr, y.raw());
        return Status::ok();
      });
    }
    Geo3 g = lift(n, c, m, group_, in, out, k, strides, dil, pb);
    return dispatch_float(x->dtype(), "ConvTranspose", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      conv_transpose_direct<T>(g, x->data<T>(), w->data<T>(), b ? b->data<T>() : nullptr,
                               y.data<T>());
      return Status::ok();
    });
  }

 private:
  WindowAttrs attrs_;
  int64_t group_ = 1;
  std::vector<int64_t> output_padding_, output_shape_;
  Tensor const_w_;
  ConvPrimitiveCache cache_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Conv", 1, kMaxOpset, ConvKernel);
// ONNX Runtime's contrib op Y = activation(Conv(X, W, B) + Z): the target of conv fusion passes.
NALAR_REGISTER_KERNEL("com.microsoft", "FusedConv", 1, kMaxOpset, ConvKernel);
NALAR_REGISTER_KERNEL("", "ConvTranspose", 1, kMaxOpset, ConvTransposeKernel);

}  // namespace nalar
