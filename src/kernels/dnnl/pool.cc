// AveragePool, MaxPool (with Indices), LpPool and the global pools. float32 windows run on
// oneDNN's pooling_v2; other types, the Indices output, LpPool and count_include_pad windows
// that ceil_mode pushes past the explicit padding use a direct loop.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <mutex>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/dnnl/dnnl_context.h"
#include "kernels/dnnl/window.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

using dnnl::memory;
using dnnl_util::dims;

enum class PoolKind { kMax, kAvg, kLp };

// Window geometry lifted to 3 spatial dims (leading dims of size 1).
struct PoolGeo {
  int64_t nc = 0;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1};
  int64_t d[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
};

PoolGeo lift(int64_t nc, const Window& w) {
  PoolGeo g;
  g.nc = nc;
  const size_t off = 3 - w.rank();
  for (size_t i = 0; i < w.rank(); ++i) {
    g.in[off + i] = w.in[i], g.out[off + i] = w.out[i], g.k[off + i] = w.kernel[i];
    g.s[off + i] = w.strides[i], g.d[off + i] = w.dilations[i];
    g.pb[off + i] = w.pad_begin[i], g.pe[off + i] = w.pad_end[i];
  }
  return g;
}

template <class T>
void pool_direct(const PoolGeo& g, PoolKind kind, bool count_include_pad, float p, bool col_major,
                 const T* x, T* y, int64_t* indices) {
  using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const int64_t in_sz = g.in[0] * g.in[1] * g.in[2], out_sz = g.out[0] * g.out[1] * g.out[2];
  parallel_for(g.nc, 1, [&](int64_t begin, int64_t end) {
    for (int64_t ch = begin; ch < end; ++ch) {
      const T* xp = x + ch * in_sz;
      int64_t oi = ch * out_sz;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2, ++oi) {
            const int64_t st[3] = {o0 * g.s[0] - g.pb[0], o1 * g.s[1] - g.pb[1],
                                   o2 * g.s[2] - g.pb[2]};
            Acc sum = 0;
            int64_t valid = 0, padded = 1, best_idx = -1;
            T best{};
            for (int dim = 0; dim < 3; ++dim) {
              // Window positions inside input + explicit padding (count_include_pad divisor).
              int64_t cnt = 0;
              for (int64_t t = 0; t < g.k[dim]; ++t) {
                const int64_t i = st[dim] + t * g.d[dim];
                if (i >= -g.pb[dim] && i < g.in[dim] + g.pe[dim]) ++cnt;
              }
              padded *= cnt;
            }
            for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
              const int64_t i0 = st[0] + k0 * g.d[0];
              if (i0 < 0 || i0 >= g.in[0]) continue;
              for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
                const int64_t i1 = st[1] + k1 * g.d[1];
                if (i1 < 0 || i1 >= g.in[1]) continue;
                for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                  const int64_t i2 = st[2] + k2 * g.d[2];
                  if (i2 < 0 || i2 >= g.in[2]) continue;
                  const int64_t flat = (i0 * g.in[1] + i1) * g.in[2] + i2;
                  const T v = xp[flat];
                  ++valid;
                  if (kind == PoolKind::kMax) {
                    if (best_idx < 0 || static_cast<Acc>(v) > static_cast<Acc>(best)) {
                      best = v;
                      // Column-major over the lifted dims equals column-major over the
                      // real ones (lifted dims have size 1).
                      best_idx = col_major ? i0 + g.in[0] * (i1 + g.in[1] * i2) : flat;
                    }
                  } else if (kind == PoolKind::kAvg) {
                    sum += static_cast<Acc>(v);
                  } else {
                    sum += static_cast<Acc>(std::pow(std::abs(static_cast<Acc>(v)), p));
                  }
                }
              }
            }
            if (kind == PoolKind::kMax) {
              y[oi] = best;
              if (indices) indices[oi] = ch * in_sz + (best_idx < 0 ? 0 : best_idx);
            } else if (kind == PoolKind::kAvg) {
              const int64_t div = count_include_pad ? padded : valid;
              y[oi] = static_cast<T>(div > 0 ? sum / static_cast<Acc>(div) : Acc(0));
            } else {
              y[oi] = static_cast<T>(std::pow(sum, Acc(1) / static_cast<Acc>(p)));
            }
          }
    }
  });
}

struct PoolPrimitive {
  dnnl::pooling_v2_forward prim;
  memory::desc src_md, dst_md;
};

class PoolKernel : public Kernel {
 public:
  explicit PoolKernel(PoolKind kind, bool global) : kind_(kind), global_(global) {}

  Status prepare(const KernelConfig& cfg) override {
    attrs_ = WindowAttrs::read(cfg.node);
    count_include_pad_ = cfg.node.get_int("count_include_pad", 0) != 0;
    col_major_ = cfg.node.get_int("storage_order", 0) != 0;
    if (const Attribute* pa = cfg.node.find("p"))  // a float before opset 2, an int since
      p_ = pa->type == AttrType::kFloat ? pa->f : static_cast<float>(pa->i);
    if (!(p_ > 0)) return invalid_argument(std::string(name()) + ": p must be positive");
    want_indices_ = cfg.node.outputs.size() > 1 && !cfg.node.outputs[1].empty();
    // Set by layout propagation: X (and Y of a window pool) hold NHWC bytes under NCHW shapes.
    nhwc_ = cfg.node.get_int("nalar_nhwc", 0) != 0 || cfg.node.get_int("nalar_nhwc_in", 0) != 0;
    if (!global_ && attrs_.kernel.empty())
      return invalid_argument(std::string(name()) + ": kernel_shape is required");
    return Status::ok();
  }

  const char* name() const {
    switch (kind_) {
      case PoolKind::kMax:
        return global_ ? "GlobalMaxPool" : "MaxPool";
      case PoolKind::kAvg:
        return global_ ? "GlobalAveragePool" : "AveragePool";
      default:
        return global_ ? "GlobalLpPool" : "LpPool";
    }
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument(std::string(name()) + ": missing input");
    if (x->rank() < 3)
      return invalid_argument(std::string(name()) + ": input must have rank >= 3, got " +
                              shape_to_string(x->shape()));
    const size_t r = static_cast<size_t>(x->rank() - 2);
    std::vector<int64_t> in(x->shape().begin() + 2, x->shape().end());
    if (nhwc_ && (x->rank() != 4 || x->dtype() != DataType::kFloat))
      return invalid_argument(std::string(name()) + ": an NHWC input must be 4-D float, got " +
                              x->describe());
    if (global_) return nhwc_ ? compute_global_nhwc(ctx, *x) : compute_global(ctx, *x);
    if (r > 3) return unimplemented(std::string(name()) + ": more than 3 spatial dimensions");
    NALAR_ASSIGN_OR_RETURN(Window win, resolve_window(attrs_, in, attrs_.kernel, name()));
    Shape out_shape{x->dim(0), x->dim(1)};
    out_shape.insert(out_shape.end(), win.out.begin(), win.out.end());
    Tensor& y = ctx.output(0);
    y = Tensor::empty(x->dtype(), out_shape);  // every path writes each element
    Tensor* idx = nullptr;
    if (want_indices_ && ctx.num_outputs() > 1) {  // an omitted Indices keeps the fast path
      ctx.output(1) = Tensor::create(DataType::kInt64, out_shape);
      idx = &ctx.output(1);
    }
    if (y.size() == 0) return Status::ok();
    if (x->size() == 0) return invalid_argument(std::string(name()) + ": empty spatial input");

    bool ceil_past_pads = false;
    for (size_t i = 0; i < r; ++i) ceil_past_pads |= win.pad_end_eff[i] > win.pad_end[i];
    const bool dnnl_ok = x->dtype() == DataType::kFloat && kind_ != PoolKind::kLp && !idx &&
                         !(kind_ == PoolKind::kAvg && count_include_pad_ && ceil_past_pads);
    if (nhwc_ && !dnnl_ok)
      return invalid_argument(std::string(name()) +
                              ": NHWC pooling runs on oneDNN only (no Indices, no "
                              "count_include_pad past the padding)");
    if (dnnl_ok) {
      return dnnl_util::guard(name(), [&]() -> Status {
        auto prim = get_primitive(x->shape(), out_shape, win);
        dnnl_util::execute(prim->prim, {{DNNL_ARG_SRC, dnnl_util::wrap(prim->src_md, x->raw())},
                                        {DNNL_ARG_DST, dnnl_util::wrap(prim->dst_md, y.raw())}});
        return Status::ok();
      });
    }
    PoolGeo g = lift(x->dim(0) * x->dim(1), win);
    auto run = [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      pool_direct<T>(g, kind_, count_include_pad_, p_, col_major_, x->data<T>(), y.data<T>(),
                     idx ? idx->data<int64_t>() : nullptr);
      return Status::ok();
    };
    if (kind_ == PoolKind::kMax) return dispatch_numeric(x->dtype(), name(), run);
    return dispatch_float(x->dtype(), name(), run);
  }

 private:
  std::shared_ptr<const PoolPrimitive> get_primitive(const Shape& in, const Shape& out,
                                                     const Window& win) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(in);
    if (it != cache_.end()) return it->second;
    auto p = std::make_shared<PoolPrimitive>();
    if (nhwc_) {
      p->src_md =
          memory::desc(dnnl_util::to_dims(in), memory::data_type::f32, memory::format_tag::acdb);
      p->dst_md =
          memory::desc(dnnl_util::to_dims(out), memory::data_type::f32, memory::format_tag::acdb);
    } else {
      p->src_md = dnnl_util::plain_md(dnnl_util::to_dims(in));
      p->dst_md = dnnl_util::plain_md(dnnl_util::to_dims(out));
    }
    dnnl::algorithm alg = kind_ == PoolKind::kMax ? dnnl::algorithm::pooling_max
                          : count_include_pad_    ? dnnl::algorithm::pooling_avg_include_padding
                                                  : dnnl::algorithm::pooling_avg_exclude_padding;
    dims dil(win.dilations.begin(), win.dilations.end());
    for (auto& v : dil) v -= 1;
    dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, alg, p->src_md,
                                        p->dst_md, dims(win.strides.begin(), win.strides.end()),
                                        dims(win.kernel.begin(), win.kernel.end()), dil,
                                        dims(win.pad_begin.begin(), win.pad_begin.end()),
                                        dims(win.pad_end_eff.begin(), win.pad_end_eff.end()));
    dnnl::pooling_v2_forward::primitive_desc pd(desc, dnnl_util::user_scratch_attr(),
                                                dnnl_util::engine());
    p->prim = dnnl::pooling_v2_forward(pd);
    if (cache_.size() >= dnnl_util::kMaxShapesPerKernel) cache_.clear();  // bound memory
    cache_.emplace(in, p);
    return p;
  }

  // One reduction per (n, c) over its contiguous spatial block.
  Status compute_global(KernelContext& ctx, const Tensor& x) const {
    Shape out_shape(x.shape().size(), 1);
    out_shape[0] = x.dim(0);
    out_shape[1] = x.dim(1);
    Tensor& y = ctx.output(0);
    y = Tensor::create(x.dtype(), out_shape);
    const int64_t nc = x.dim(0) * x.dim(1);
    const int64_t sp = nc > 0 ? x.size() / nc : 0;
    if (nc == 0) return Status::ok();
    if (sp == 0) return invalid_argument(std::string(name()) + ": empty spatial input");
    return dispatch_float(x.dtype(), name(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      const T* xp = x.data<T>();
      T* yp = y.data<T>();
      const PoolKind kind = kind_;
      const double p = p_;
      parallel_for(nc, 4, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const T* row = xp + i * sp;
          if (kind == PoolKind::kMax) {
            float best = static_cast<float>(row[0]);
            double bestd = static_cast<double>(row[0]);
            for (int64_t j = 1; j < sp; ++j) {
              bestd = std::max(bestd, static_cast<double>(row[j]));
              best = std::max(best, static_cast<float>(row[j]));
            }
            yp[i] = std::is_same_v<T, double> ? static_cast<T>(bestd) : static_cast<T>(best);
          } else if (kind == PoolKind::kAvg) {
            double s = 0;
            for (int64_t j = 0; j < sp; ++j) s += static_cast<double>(row[j]);
            yp[i] = static_cast<T>(s / static_cast<double>(sp));
          } else {
            double s = 0;
            for (int64_t j = 0; j < sp; ++j)
              s += std::pow(std::abs(static_cast<double>(row[j])), p);
            yp[i] = static_cast<T>(std::pow(s, 1.0 / p));
          }
        }
      });
      return Status::ok();
    });
  }

  // Global average / max over NHWC: per image, channels are the contiguous inner dimension.
  // Y [N, C, 1, 1] is the same bytes in either layout, so it is returned plain.
  Status compute_global_nhwc(KernelContext& ctx, const Tensor& x) const {
    const int64_t n = x.dim(0), c = x.dim(1), sp = x.dim(2) * x.dim(3);
    Tensor& y = ctx.output(0);
    y = Tensor::empty(x.dtype(), {n, c, 1, 1});
    if (n * c == 0) return Status::ok();
    if (sp == 0) return invalid_argument(std::string(name()) + ": empty spatial input");
    if (kind_ == PoolKind::kLp)
      return invalid_argument(std::string(name()) + ": no NHWC form for Lp pooling");
    const float* xp = x.data<float>();
    float* yp = y.data<float>();
    const bool is_max = kind_ == PoolKind::kMax;
    // Channel blocks of 64 per task: enough work to split batch-1 tails over the threads.
    constexpr int64_t kBlock = 64;
    const int64_t blocks = (c + kBlock - 1) / kBlock;
    parallel_for(n * blocks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t img = t / blocks, c0 = (t % blocks) * kBlock;
        const int64_t cn = std::min(kBlock, c - c0);
        const float* base = xp + img * sp * c + c0;
        float acc[kBlock];
        for (int64_t j = 0; j < cn; ++j) acc[j] = base[j];
        for (int64_t p = 1; p < sp; ++p) {
          const float* row = base + p * c;
          if (is_max) {
            for (int64_t j = 0; j < cn; ++j) acc[j] = std::max(acc[j], row[j]);
          } else {
            for (int64_t j = 0; j < cn; ++j) acc[j] += row[j];
          }
        }
        const float scale = is_max ? 1.0f : 1.0f / static_cast<float>(sp);
        for (int64_t j = 0; j < cn; ++j) yp[img * c + c0 + j] = acc[j] * scale;
      }
    });
    return Status::ok();
  }

  PoolKind kind_;
  bool global_;
  bool nhwc_ = false;
  WindowAttrs attrs_;
  bool count_include_pad_ = false, col_major_ = false, want_indices_ = false;
  float p_ = 2.0f;
  mutable std::mutex mu_;
  mutable std::map<Shape, std::shared_ptr<const PoolPrimitive>> cache_;
};

struct MaxPoolKernel : PoolKernel {
  MaxPoolKernel() : PoolKernel(PoolKind::kMax, false) {}
};
struct AveragePoolKernel : PoolKernel {
  AveragePoolKernel() : PoolKernel(PoolKind::kAvg, false) {}
};
struct LpPoolKernel : PoolKernel {
  LpPoolKernel() : PoolKernel(PoolKind::kLp, false) {}
};
struct GlobalMaxPoolKernel : PoolKernel {
  GlobalMaxPoolKernel() : PoolKernel(PoolKind::kMax, true) {}
};
struct GlobalAveragePoolKernel : PoolKernel {
  GlobalAveragePoolKernel() : PoolKernel(PoolKind::kAvg, true) {}
};
struct GlobalLpPoolKernel : PoolKernel {
  GlobalLpPoolKernel() : PoolKernel(PoolKind::kLp, true) {}
};

}  // namespace

NALAR_REGISTER_KERNEL("", "MaxPool", 1, kMaxOpset, MaxPoolKernel);
NALAR_REGISTER_KERNEL("", "AveragePool", 1, kMaxOpset, AveragePoolKernel);
NALAR_REGISTER_KERNEL("", "LpPool", 1, kMaxOpset, LpPoolKernel);
NALAR_REGISTER_KERNEL("", "GlobalMaxPool", 1, kMaxOpset, GlobalMaxPoolKernel);
NALAR_REGISTER_KERNEL("", "GlobalAveragePool", 1, kMaxOpset, GlobalAveragePoolKernel);
NALAR_REGISTER_KERNEL("", "GlobalLpPool", 1, kMaxOpset, GlobalLpPoolKernel);

}  // namespace nalar
