// ScatterElements (and its deprecated alias Scatter) and ScatterND, with the opset 16/18
// reductions. Indices are validated before anything is written; updates apply in index order so
// duplicate indices reduce deterministically.
#include <algorithm>
#include <type_traits>

#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Result<Reduction> parse_reduction(const std::string& s, const char* op) {
  if (s == "none") return Reduction::kNone;
  if (s == "add") return Reduction::kAdd;
  if (s == "mul") return Reduction::kMul;
  if (s == "max") return Reduction::kMax;
  if (s == "min") return Reduction::kMin;
  return invalid_argument(std::string(op) + ": unknown reduction '" + s + "'");
}

template <class T>
void reduce_into(T& dst, const T& v, Reduction red) {
  // Half types reduce in float.
  using A = std::conditional_t<std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>, float, T>;
  const A a = static_cast<A>(dst), b = static_cast<A>(v);
  switch (red) {
    case Reduction::kNone:
      dst = v;
      break;
    case Reduction::kAdd:
      dst = static_cast<T>(a + b);
      break;
    case Reduction::kMul:
      dst = static_cast<T>(a * b);
      break;
    case Reduction::kMax:
      dst = static_cast<T>(std::max(a, b));
      break;
    case Reduction::kMin:
      dst = static_cast<T>(std::min(a, b));
      break;
  }
}

// Runs fn(TypeTag<T>) with a copyable type for kNone, an arithmetic one otherwise.
template <class Fn>
Status dispatch_for(Reduction red, DataType t, const char* op, Fn&& fn) {
  if (red == Reduction::kNone) return dispatch_by_size(t, op, fn);
  return dispatch_numeric(t, op, fn);
}

class ScatterElementsKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    axis_ = cfg.node.get_int("axis", 0);
    NALAR_ASSIGN_OR_RETURN(
        red_, parse_reduction(cfg.node.get_string("reduction", "none"), "ScatterElements"));
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* ind = ctx.input(1);
    const Tensor* upd = ctx.input(2);
    if (!x || !ind || !upd) return invalid_argument("ScatterElements: missing input");
    const int64_t r = x->rank();
    if (r == 0 || ind->rank() != r || upd->shape() != ind->shape())
      return invalid_argument("ScatterElements: 'data' " + x->describe() + ", 'indices' " +
                              ind->describe() + " and 'updates' " + upd->describe() +
                              " must have the same rank >= 1, indices and updates one shape");
    if (upd->dtype() != x->dtype())
      return invalid_argument("ScatterElements: 'updates' dtype differs from 'data'");
    NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, r, "ScatterElements"));
    for (int64_t d = 0; d < r; ++d)
      if (d != axis && ind->dim(d) > x->dim(d))
        return invalid_argument("ScatterElements: 'indices' " + ind->describe() +
                                " is larger than 'data' " + x->describe() + " outside the axis");
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> idx, read_int64s(*ind, "ScatterElements"));
    const int64_t n = x->dim(axis);
    for (int64_t& i : idx) {
      if (i < -n || i >= n)
        return invalid_argument("ScatterElements: index " + std::to_string(i) +
                                " is out of range for a dim of size " + std::to_string(n));
      if (i < 0) i += n;
    }
    Tensor out = x->clone();
    std::vector<int64_t> st = strides_of(x->shape());
    const int64_t axis_stride = st[static_cast<size_t>(axis)];
    st[static_cast<size_t>(axis)] = 0;
    const Reduction red = red_;
    NALAR_RETURN_IF_ERROR(dispatch_for(red, x->dtype(), "ScatterElements", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = upd->data<T>();
      T* dst = out.data<T>();
      for_each_offset(ind->shape(), st, 0, ind->size(), [&](int64_t i, int64_t off) {
        T& d = dst[off + idx[static_cast<size_t>(i)] * axis_stride];
        if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, Float16> ||
                      std::is_same_v<T, BFloat16>) {
          reduce_into(d, src[i], red);
        } else {
          d = src[i];
        }
      });
      return Status::ok();
    }));
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  int64_t axis_ = 0;
  Reduction red_ = Reduction::kNone;
};

class ScatterNDKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    NALAR_ASSIGN_OR_RETURN(red_,
                           parse_reduction(cfg.node.get_string("reduction", "none"), "ScatterND"));
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* ind = ctx.input(1);
    const Tensor* upd = ctx.input(2);
    if (!x || !ind || !upd) return invalid_argument("ScatterND: missing input");
    const int64_t r = x->rank(), q = ind->rank();
    if (r < 1 || q < 1) return invalid_argument("ScatterND: 'data' and 'indices' need rank >= 1");
    const int64_t k = ind->dim(q - 1);
    if (k > r)
      return invalid_argument("ScatterND: last dim of 'indices' " + ind->describe() +
                              " exceeds the rank of 'data' " + x->describe());
    Shape want(ind->shape().begin(), ind->shape().end() - 1);
    want.insert(want.end(), x->shape().begin() + k, x->shape().end());
    if (upd->shape() != want || upd->dtype() != x->dtype())
      return invalid_argument("ScatterND: 'updates' must be " +
                              std::string(dtype_name(x->dtype())) + shape_to_string(want) +
                              ", got " + upd->describe());
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> raw, read_int64s(*ind, "ScatterND"));
    int64_t slice = 1;
    for (int64_t d = k; d < r; ++d) slice *= x->dim(d);
    int64_t tuples = 1;  // index tuples: every dim of 'indices' but the last
    for (int64_t d = 0; d + 1 < q; ++d) tuples *= ind->dim(d);
    const std::vector<int64_t> st = strides_of(x->shape());
    std::vector<int64_t> offsets(static_cast<size_t>(tuples), 0);
    for (int64_t t = 0; t < tuples && k > 0; ++t) {
      int64_t off = 0;
      for (int64_t j = 0; j < k; ++j) {
        int64_t v = raw[static_cast<size_t>(t * k + j)];
        const int64_t n = x->dim(j);
        if (v < -n || v >= n)
          return invalid_argument("ScatterND: index " + std::to_string(v) +
                                  " is out of range for a dim of size " + std::to_string(n));
        if (v < 0) v += n;
        off += v * st[static_cast<size_t>(j)];
      }
      offsets[static_cast<size_t>(t)] = off;
    }
    Tensor out = x->clone();
    const Reduction red = red_;
    NALAR_RETURN_IF_ERROR(dispatch_for(red, x->dtype(), "ScatterND", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = upd->data<T>();
      T* dst = out.data<T>();
      for (int64_t t = 0; t < tuples; ++t) {
        T* d = dst + offsets[static_cast<size_t>(t)];
        const T* s = src + t * slice;
        if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, Float16> ||
                      std::is_same_v<T, BFloat16>) {
          if (red != Reduction::kNone) {
            for (int64_t i = 0; i < slice; ++i) reduce_into(d[i], s[i], red);
            continue;
          }
        }
        std::copy_n(s, slice, d);
      }
      return Status::ok();
    }));
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  Reduction red_ = Reduction::kNone;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Scatter", 9, kMaxOpset, ScatterElementsKernel);
NALAR_REGISTER_KERNEL("", "ScatterElements", 11, kMaxOpset, ScatterElementsKernel);
NALAR_REGISTER_KERNEL("", "ScatterND", 11, kMaxOpset, ScatterNDKernel);

}  // namespace nalar
