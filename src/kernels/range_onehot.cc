// Range and OneHot.
#include <cmath>
#include <type_traits>

#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

// Element i of a numeric tensor as double.
Result<double> scalar_as_double(const Tensor& t, const char* what) {
  if (t.size() != 1)
    return invalid_argument(std::string(what) + ": expected a single value, got " + t.describe());
  double v = 0;
  NALAR_RETURN_IF_ERROR(dispatch_numeric(t.dtype(), what, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
      v = static_cast<float>(t.data<T>()[0]);
    } else {
      v = static_cast<double>(t.data<T>()[0]);
    }
    return Status::ok();
  }));
  return v;
}

class RangeKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* s = ctx.input(0);
    const Tensor* l = ctx.input(1);
    const Tensor* d = ctx.input(2);
    if (!s || !l || !d) return invalid_argument("Range: missing input");
    if (s->dtype() != l->dtype() || s->dtype() != d->dtype())
      return invalid_argument("Range: 'start', 'limit' and 'delta' must share one dtype");
    if (s->size() != 1 || l->size() != 1 || d->size() != 1)
      return invalid_argument("Range: 'start', 'limit' and 'delta' must be scalars");
    Tensor out;
    NALAR_RETURN_IF_ERROR(dispatch_numeric(s->dtype(), "Range", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      int64_t n = 0;
      if constexpr (std::is_integral_v<T>) {
        const int64_t start = static_cast<int64_t>(s->data<T>()[0]);
        const int64_t limit = static_cast<int64_t>(l->data<T>()[0]);
        const int64_t delta = static_cast<int64_t>(d->data<T>()[0]);
        if (delta == 0) return invalid_argument("Range: 'delta' must not be 0");
        // ceil((limit - start) / delta) in 128 bits: the difference can overflow int64.
        const __int128 diff = static_cast<__int128>(limit) - start;
        if ((diff > 0) == (delta > 0) && diff != 0) {
          const __int128 ad = delta > 0 ? delta : -static_cast<__int128>(delta);
          const __int128 adiff = diff > 0 ? diff : -diff;
          const __int128 cnt = (adiff + ad - 1) / ad;
          if (cnt > kMaxTensorElements) return invalid_argument("Range: too many elements");
          n = static_cast<int64_t>(cnt);
        }
        NALAR_ASSIGN_OR_RETURN(out, create_checked(s->dtype(), {n}, "Range"));
        T* o = out.data<T>();
        for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(start + i * delta);
      } else {
        const double start = static_cast<double>(static_cast<float>(s->data<T>()[0]));
        const double limit = static_cast<double>(static_cast<float>(l->data<T>()[0]));
        const double delta = static_cast<double>(static_cast<float>(d->data<T>()[0]));
        double sd = start, ld = limit, dd = delta;
        if constexpr (std::is_same_v<T, double>) {
          sd = s->data<T>()[0];
          ld = l->data<T>()[0];
          dd = d->data<T>()[0];
        }
        if (dd == 0 || !std::isfinite(sd) || !std::isfinite(ld) || !std::isfinite(dd))
          return invalid_argument("Range: inputs must be finite and 'delta' non-zero");
        const double cnt = std::ceil((ld - sd) / dd);
        if (cnt > static_cast<double>(kMaxTensorElements))
          return invalid_argument("Range: too many elements");
        n = cnt > 0 ? static_cast<int64_t>(cnt) : 0;
        NALAR_ASSIGN_OR_RETURN(out, create_checked(s->dtype(), {n}, "Range"));
        T* o = out.data<T>();
        if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) {
          const T st = s->data<T>()[0], dl = d->data<T>()[0];
          for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(st + static_cast<T>(i) * dl);
        } else {
          for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(static_cast<float>(sd + i * dd));
        }
      }
      return Status::ok();
    }));
    ctx.output(0) = std::move(out);
    return Status::ok();
  }
};

class OneHotKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    axis_ = cfg.node.get_int("axis", -1);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* ind = ctx.input(0);
    const Tensor* dep = ctx.input(1);
    const Tensor* vals = ctx.input(2);
    if (!ind || !dep || !vals) return invalid_argument("OneHot: missing input");
    if (vals->size() != 2)
      return invalid_argument("OneHot: 'values' must hold [off, on], got " + vals->describe());
    NALAR_ASSIGN_OR_RETURN(double depth_f, scalar_as_double(*dep, "OneHot 'depth'"));
    if (!(depth_f >= 1) || depth_f > static_cast<double>(kMaxTensorElements))
      return invalid_argument("OneHot: 'depth' must be >= 1, got " + std::to_string(depth_f));
    const int64_t depth = static_cast<int64_t>(depth_f);
    const int64_t r = ind->rank();
    NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, r + 1, "OneHot"));
    // Indices as int64 (float indices truncate); out-of-range ones give an all-off row.
    std::vector<int64_t> idx(static_cast<size_t>(ind->size()));
    NALAR_RETURN_IF_ERROR(dispatch_numeric(ind->dtype(), "OneHot 'indices'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* p = ind->data<T>();
      for (int64_t i = 0; i < ind->size(); ++i) {
        double v;
        if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
          v = static_cast<float>(p[i]);
        } else {
          v = static_cast<double>(p[i]);
        }
        int64_t k = std::isfinite(v) && std::fabs(v) < 9e18 ? static_cast<int64_t>(v) : -1 - depth;
        if (k < 0) k += depth;
        idx[static_cast<size_t>(i)] = k;  // may still be out of [0, depth)
      }
      return Status::ok();
    }));
    Shape out_shape = ind->shape();
    out_shape.insert(out_shape.begin() + axis, depth);
    NALAR_ASSIGN_OR_RETURN(Tensor out, create_checked(vals->dtype(), out_shape, "OneHot"));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= ind->dim(d);
    for (int64_t d = axis; d < r; ++d) inner *= ind->dim(d);
    NALAR_RETURN_IF_ERROR(dispatch_by_size(vals->dtype(), "OneHot", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T off = vals->data<T>()[0], on = vals->data<T>()[1];
      T* o = out.data<T>();
      std::fill_n(o, out.size(), off);
      for (int64_t a = 0; a < outer; ++a)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t k = idx[static_cast<size_t>(a * inner + i)];
          if (k >= 0 && k < depth) o[(a * depth + k) * inner + i] = on;
        }
      return Status::ok();
    }));
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  int64_t axis_ = -1;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Range", 11, kMaxOpset, RangeKernel);
NALAR_REGISTER_KERNEL("", "OneHot", 9, kMaxOpset, OneHotKernel);

}  // namespace nalar
