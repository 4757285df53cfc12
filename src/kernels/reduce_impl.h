// The Reduce* family, shared by reduce.cc and reduce_more.cc (split in two translation units to
// keep each one's template instantiations small).
//
// Every reduction is "map each element, combine with an associative op, finish": e.g. ReduceL2
// maps x -> x*x, combines with +, finishes with sqrt. The input is viewed as merged blocks of
// kept/reduced dims (reduce_util.h) so the common layouts get tight loops:
//   [K, R]     rows reduced contiguously (the usual "last axis" case), OpenMP over rows;
//   [K0, R, K1] columns accumulated row by row (vectorised over K1);
//   anything else: a general gather over precomputed offsets.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"
#include "kernels/reduce_util.h"

namespace nalar {
namespace reduce_detail {

enum class ROp { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

template <class T>
inline constexpr bool kIsHalf = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;
template <class T>
inline constexpr bool kIsFloating = kIsHalf<T> || std::is_floating_point_v<T>;

template <class A, class T>
inline A to_acc(T x) {
  if constexpr (kIsHalf<T>)
    return static_cast<A>(static_cast<float>(x));
  else
    return static_cast<A>(x);
}

// Converts a finished value to the element type; float -> integer saturates (NaN -> 0) so that
// e.g. ReduceLogSum of an all-zero integer tensor (-inf) stays defined.
template <class T, class V>
inline T from_value(V v) {
  if constexpr (kIsHalf<T>) {
    return T(static_cast<float>(v));
  } else if constexpr (std::is_integral_v<T> && std::is_floating_point_v<V>) {
    if (v != v) return T(0);
    if (v <= static_cast<V>(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    if (v >= static_cast<V>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return static_cast<T>(v);
  }
}

// The accumulator: float for float/float16/bfloat16, double for double, 64-bit integers for
// integers (wrap-around matches an int32 accumulator's low bits), double for integer LogSumExp.
template <ROp op, class T>
struct AccOf {
  using type = std::conditional_t<
      kIsFloating<T>, std::conditional_t<std::is_same_v<T, double>, double, float>,
      std::conditional_t<op == ROp::kLogSumExp, double,
                         std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>>;
};

template <ROp op, class T>
struct Reducer {
  using A = typename AccOf<op, T>::type;
  using Elem = T;
  static constexpr bool kShift = op == ROp::kLogSumExp;

  static A identity() {
    if constexpr (op == ROp::kMax) {
      if constexpr (kIsFloating<T>)
        return -std::numeric_limits<A>::infinity();
      else
        return static_cast<A>(std::numeric_limits<T>::lowest());
    } else if constexpr (op == ROp::kMin) {
      if constexpr (kIsFloating<T>)
        return std::numeric_limits<A>::infinity();
      else
        return static_cast<A>(std::numeric_limits<T>::max());
    } else if constexpr (op == ROp::kProd) {
      return A(1);
    } else {
      return A(0);
    }
  }
  static A map(A v, [[maybe_unused]] A shift) {
    if constexpr (op == ROp::kL1) {
      if constexpr (std::is_unsigned_v<A>)
        return v;
      else
        return v < A(0) ? -v : v;
    } else if constexpr (op == ROp::kL2 || op == ROp::kSumSquare) {
      return v * v;
    } else if constexpr (op == ROp::kLogSumExp) {
      return std::exp(v - shift);
    } else {
      return v;
    }
  }
  static A combine(A a, A b) {
    if constexpr (op == ROp::kProd) {
      return a * b;
    } else if constexpr (op == ROp::kMax) {
      return (a > b || a != a) ? a : b;  // NaN propagates like numpy
    } else if constexpr (op == ROp::kMin) {
      return (a < b || a != a) ? a : b;
    } else {
      return a + b;
    }
  }
  static T finish(A a, int64_t n, [[maybe_unused]] A shift) {
    if constexpr (op == ROp::kMean) {
      if constexpr (std::is_integral_v<A>)
        return n == 0 ? T(0) : from_value<T>(a / static_cast<A>(n));
      else
        return from_value<T>(a / static_cast<A>(n));
    } else if constexpr (op == ROp::kL2) {
      if constexpr (std::is_integral_v<A>)
        return from_value<T>(std::sqrt(static_cast<double>(a)));
      else
        return from_value<T>(std::sqrt(a));
    } else if constexpr (op == ROp::kLogSum) {
      if constexpr (std::is_integral_v<A>)
        return from_value<T>(std::log(static_cast<double>(a)));
      else
        return from_value<T>(std::log(a));
    } else if constexpr (op == ROp::kLogSumExp) {
      return from_value<T>(std::log(a) + shift);
    } else {
      return from_value<T>(a);
    }
  }
};

// Reduces one contiguous span with 16 independent partial results, so the loop vectorises and
// long float sums lose less precision than a single running total.
template <class R>
inline typename R::A reduce_span(const typename R::Elem* x, int64_t n, typename R::A shift) {
  using A = typename R::A;
  constexpr int kLanes = 16;
  A part[kLanes];
  for (int j = 0; j < kLanes; ++j) part[j] = R::identity();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j)
      part[j] = R::combine(part[j], R::map(to_acc<A>(x[i + j]), shift));
  A acc = R::identity();
  for (; i < n; ++i) acc = R::combine(acc, R::map(to_acc<A>(x[i]), shift));
  for (int j = 0; j < kLanes; ++j) acc = R::combine(acc, part[j]);
  return acc;
}

// [rows, n] -> [rows]
template <class R>
void reduce_rows(const typename R::Elem* x, typename R::Elem* y, int64_t rows, int64_t n,
                 const typename R::A* shift) {
  using A = typename R::A;
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(n, 1));
  parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const A s = R::kShift ? shift[r] : A(0);
      y[r] = R::finish(reduce_span<R>(x + r * n, n, s), n, s);
    }
  });
}

// [outer, n, inner] -> [outer, inner], in column tiles so the accumulators stay in L1.
template <class R>
void reduce_columns(const typename R::Elem* x, typename R::Elem* y, int64_t outer, int64_t n,
                    int64_t inner, const typename R::A* shift) {
  using A = typename R::A;
  constexpr int64_t kTile = 256;
  const int64_t tiles = (inner + kTile - 1) / kTile;
  const int64_t work = n * std::min(inner, kTile);
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(work, 1));
  parallel_for(outer * tiles, grain, [&](int64_t begin, int64_t end) {
    A acc[kTile];
    A s[kTile];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t o = task / tiles;
      const int64_t c0 = (task % tiles) * kTile;
      const int64_t w = std::min(kTile, inner - c0);
      for (int64_t c = 0; c < w; ++c) {
        acc[c] = R::identity();
        s[c] = R::kShift ? shift[o * inner + c0 + c] : A(0);
      }
      for (int64_t r = 0; r < n; ++r) {
        const typename R::Elem* row = x + (o * n + r) * inner + c0;
        for (int64_t c = 0; c < w; ++c)
          acc[c] = R::combine(acc[c], R::map(to_acc<A>(row[c]), s[c]));
      }
      for (int64_t c = 0; c < w; ++c) y[o * inner + c0 + c] = R::finish(acc[c], n, s[c]);
    }
  });
}

// Any layout: every output gathers its reduced elements through a shared offset list.
template <class R>
void reduce_general(const typename R::Elem* x, typename R::Elem* y, const Shape& in,
                    const std::vector<bool>& mask, int64_t out_count, const typename R::A* shift) {
  using A = typename R::A;
  const std::vector<int64_t> strides = strides_of(in);
  std::vector<int64_t> kept_dims, kept_strides;
  std::vector<int64_t> offsets{0};
  for (size_t i = 0; i < in.size(); ++i) {
    if (mask[i]) {
      std::vector<int64_t> next;
      next.reserve(offsets.size() * static_cast<size_t>(in[i]));
      for (int64_t off : offsets)
        for (int64_t k = 0; k < in[i]; ++k) next.push_back(off + k * strides[i]);
      offsets.swap(next);
    } else {
      kept_dims.push_back(in[i]);
      kept_strides.push_back(strides[i]);
    }
  }
  const int64_t n = static_cast<int64_t>(offsets.size());
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1));
  parallel_for(out_count, grain, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      int64_t base = 0, rem = o;
      for (size_t d = kept_dims.size(); d-- > 0;) {
        base += (rem % kept_dims[d]) * kept_strides[d];
        rem /= kept_dims[d];
      }
      const A s = R::kShift ? shift[o] : A(0);
      A acc = R::identity();
      for (int64_t k = 0; k < n; ++k)
        acc = R::combine(acc, R::map(to_acc<A>(x[base + offsets[k]]), s));
      y[o] = R::finish(acc, n, s);
    }
  });
}

// Picks the loop for the layout. `x` has shape `in`; `y` has out_count elements (> 0), and every
// reduced extent is > 0.
template <class R>
void reduce_any(const typename R::Elem* x, typename R::Elem* y, const Shape& in,
                const std::vector<bool>& mask, int64_t out_count, const typename R::A* shift) {
  const std::vector<ReduceBlock> b = merge_reduce_blocks(in, mask);
  const int64_t total = shape_size(in);
  if (b.empty() || (b.size() == 1 && !b[0].reduced)) {  // nothing actually reduced
    reduce_rows<R>(x, y, total, 1, shift);
  } else if (b.back().reduced && b.size() <= 2) {  // [R] or [K, R]
    reduce_rows<R>(x, y, b.size() == 2 ? b[0].extent : 1, b.back().extent, shift);
  } else if (b.size() == 2) {  // [R, K]
    reduce_columns<R>(x, y, 1, b[0].extent, b[1].extent, shift);
  } else if (b.size() == 3 && b[1].reduced) {  // [K0, R, K1]
    reduce_columns<R>(x, y, b[0].extent, b[1].extent, b[2].extent, shift);
  } else {
    reduce_general<R>(x, y, in, mask, out_count, shift);
  }
}

template <ROp op, class T>
void run_reduce(const Tensor& x, const std::vector<bool>& mask, Tensor& y) {
  using R = Reducer<op, T>;
  using A = typename R::A;
  const int64_t out_count = y.size();
  if (out_count == 0) return;
  T* yp = y.data<T>();
  int64_t reduced = 1;
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i]) reduced *= x.dim(static_cast<int64_t>(i));
  if (reduced == 0) {  // empty-set reduction: the identity, finished (0, 1, -inf, NaN for mean...)
    const T v = R::finish(R::identity(), 0, A(0));
    std::fill(yp, yp + out_count, v);
    return;
  }
  const T* xp = x.data<T>();
  std::vector<A> shift;
  if constexpr (R::kShift) {
    // log(sum(exp(x))) = m + log(sum(exp(x - m))) with m the max, so exp cannot overflow.
    std::vector<T> m(static_cast<size_t>(out_count));
    reduce_any<Reducer<ROp::kMax, T>>(xp, m.data(), x.shape(), mask, out_count, nullptr);
    shift.resize(m.size());
    for (size_t i = 0; i < m.size(); ++i) {
      const A v = to_acc<A>(m[i]);
      shift[i] = std::isfinite(v) ? v : A(0);
    }
  }
  reduce_any<R>(xp, yp, x.shape(), mask, out_count, shift.data());
}

// The element types ONNX allows for the Reduce family (int16/uint16 are not among them).
template <class Fn>
Status dispatch_reduce(DataType t, const char* op, Fn&& fn) {
  switch (t) {
    case DataType::kFloat:
      return fn(TypeTag<float>{});
    case DataType::kDouble:
      return fn(TypeTag<double>{});
    case DataType::kFloat16:
      return fn(TypeTag<Float16>{});
    case DataType::kBFloat16:
      return fn(TypeTag<BFloat16>{});
    case DataType::kInt8:
      return fn(TypeTag<int8_t>{});
    case DataType::kUint8:
      return fn(TypeTag<uint8_t>{});
    case DataType::kInt32:
      return fn(TypeTag<int32_t>{});
    case DataType::kInt64:
      return fn(TypeTag<int64_t>{});
    case DataType::kUint32:
      return fn(TypeTag<uint32_t>{});
    case DataType::kUint64:
      return fn(TypeTag<uint64_t>{});
    default:
      return unsupported_dtype(op, t);
  }
}

constexpr const char* op_name(ROp op) {
  switch (op) {
    case ROp::kSum:
      return "ReduceSum";
    case ROp::kMean:
      return "ReduceMean";
    case ROp::kMax:
      return "ReduceMax";
    case ROp::kMin:
      return "ReduceMin";
    case ROp::kProd:
      return "ReduceProd";
    case ROp::kL1:
      return "ReduceL1";
    case ROp::kL2:
      return "ReduceL2";
    case ROp::kLogSum:
      return "ReduceLogSum";
    case ROp::kLogSumExp:
      return "ReduceLogSumExp";
    case ROp::kSumSquare:
      return "ReduceSumSquare";
  }
  return "Reduce";
}

template <ROp op>
class ReduceKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    keepdims_ = cfg.node.get_int("keepdims", 1) != 0;
    noop_with_empty_axes_ = cfg.node.get_int("noop_with_empty_axes", 0) != 0;
    // Axes moved from attribute to optional input: ReduceSum in opset 13, the rest in 18.
    axes_from_input_ = cfg.opset >= (op == ROp::kSum ? 13 : 18);
    if (!axes_from_input_) {
      axes_ = cfg.node.get_ints("axes");
    } else if (const Tensor* a = cfg.constant(1); a && a->defined()) {
      NALAR_ASSIGN_OR_RETURN(axes_, read_int64s(*a, name_));
      constant_axes_ = true;
    }
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x || !x->defined()) return invalid_argument(std::string(name_) + ": missing input 'data'");
    std::vector<int64_t> axes = axes_;
    if (axes_from_input_ && !constant_axes_) {
      const Tensor* a = ctx.input(1);
      if (a && a->defined()) {
        if (a->rank() > 1)
          return invalid_argument(std::string(name_) + ": 'axes' must be 1-D, got " +
                                  shape_to_string(a->shape()));
        NALAR_ASSIGN_OR_RETURN(axes, read_int64s(*a, name_));
      }
    }
    if (axes.empty() && noop_with_empty_axes_) {
      ctx.output(0) = *x;
      return Status::ok();
    }
    NALAR_ASSIGN_OR_RETURN(std::vector<bool> mask, reduction_mask(axes, x->rank(), name_));
    Tensor y = Tensor::create(x->dtype(), reduced_shape(x->shape(), mask, keepdims_));
    NALAR_RETURN_IF_ERROR(dispatch_reduce(x->dtype(), name_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      run_reduce<op, T>(*x, mask, y);
      return Status::ok();
    }));
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  static constexpr const char* name_ = op_name(op);
  bool keepdims_ = true;
  bool noop_with_empty_axes_ = false;
  bool axes_from_input_ = false;
  bool constant_axes_ = false;
  std::vector<int64_t> axes_;
};

}  // namespace reduce_detail
}  // namespace nalar
