// The shared elementwise engine: numpy-style broadcasting for 1..3 inputs, with the loops
// specialised so that the common cases (same shape, scalar operand, row/channel broadcast) run as
// plain contiguous loops that the compiler vectorises, and large tensors split across OpenMP.
//
// A BroadcastPlan collapses the output shape into as few dimensions as possible (adjacent dims
// merge when every input walks them the same way), so after collapsing each input's innermost
// stride is 1 (walks the row) or 0 (repeats one value). Loops then run over whole rows.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/common.h"
#include "kernels/kernel.h"
#include "nalar/status.h"
#include "nalar/tensor.h"

namespace nalar {

// Elements per thread below which splitting a loop costs more than it saves.
inline constexpr int64_t kCheapGrain = 32768;  // add, compare, copy
inline constexpr int64_t kCostlyGrain = 4096;  // exp, tanh, erf, pow

// Arithmetic type used to compute on T: float for the 16-bit floats, T otherwise.
template <class T>
struct ComputeTypeOf {
  using type = T;
};
template <>
struct ComputeTypeOf<Float16> {
  using type = float;
};
template <>
struct ComputeTypeOf<BFloat16> {
  using type = float;
};
template <class T>
using ComputeType = typename ComputeTypeOf<T>::type;

template <class T>
inline constexpr bool kIsHalf = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;

struct BroadcastPlan {
  static constexpr int kMaxInputs = 3;
  static constexpr int kMaxRank = 16;  // collapsed dims; more is rejected when planning
  Shape out_shape;
  int64_t total = 0;  // output elements
  int num_inputs = 0;
  std::vector<int64_t> dims;  // collapsed output dims, never empty
  // strides[k][d]: element stride of input k along collapsed dim d (0 where it broadcasts).
  std::array<std::vector<int64_t>, kMaxInputs> strides;

  // 1 when input k walks the innermost dim, 0 when it repeats a value along it.
  int64_t inner_stride(int k) const { return strides[static_cast<size_t>(k)].back(); }
  // True when every input has the output's shape (the plain contiguous case).
  bool all_contiguous() const {
    if (dims.size() != 1) return false;
    for (int k = 0; k < num_inputs; ++k)
      if (inner_stride(k) != 1) return false;
    return true;
  }
};

// Broadcasts `shapes` (1 to 3 of them) together; errors name `op` and the shapes.
Result<BroadcastPlan> make_broadcast_plan(const std::vector<Shape>& shapes, const char* op);

// Calls fn(out_offset, in_offsets, len) for each run of output elements in [begin, end) that
// lies within one innermost row. Offsets are element offsets into the output and each input.
template <int N, class Fn>
void for_each_segment(const BroadcastPlan& p, int64_t begin, int64_t end, Fn&& fn) {
  const int rank = static_cast<int>(p.dims.size());
  const int64_t inner = p.dims.back();
  if (rank == 1) {  // no outer dims: offsets are linear
    std::array<int64_t, N> off;
    for (int k = 0; k < N; ++k) off[k] = begin * p.strides[k][0];
    fn(begin, off, end - begin);
    return;
  }
  // Multi-index of `begin` and the matching input offsets.
  int64_t idx[BroadcastPlan::kMaxRank];
  std::array<int64_t, N> off{};
  int64_t rem = begin;
  for (int d = rank - 1; d >= 0; --d) {
    idx[d] = rem % p.dims[d];
    rem /= p.dims[d];
    for (int k = 0; k < N; ++k) off[k] += idx[d] * p.strides[k][d];
  }
  int64_t pos = begin;
  while (pos < end) {
    const int64_t len = std::min(inner - idx[rank - 1], end - pos);
    fn(pos, off, len);
    pos += len;
    // Advance the multi-index by len (which reaches the row end unless we are done).
    idx[rank - 1] += len;
    for (int k = 0; k < N; ++k) off[k] += len * p.strides[k][rank - 1];
    for (int d = rank - 1; d > 0 && idx[d] == p.dims[d]; --d) {
      for (int k = 0; k < N; ++k) off[k] += p.strides[k][d - 1] - p.dims[d] * p.strides[k][d];
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

// out[i] = f(x[i]) over n contiguous elements.
template <class In, class Out, class F>
void unary_loop(const In* x, Out* y, int64_t n, int64_t grain, F f) {
  parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = f(x[i]);
  });
}

// out = f(a, b) with broadcasting; `o` must hold p.total elements.
template <class A, class B, class O, class F>
void binary_loop(const BroadcastPlan& p, const A* a, const B* b, O* o, int64_t grain, F f) {
  const int64_t sa = p.inner_stride(0), sb = p.inner_stride(1);
  parallel_for(p.total, grain, [&](int64_t begin, int64_t end) {
    for_each_segment<2>(p, begin, end,
                        [&](int64_t oo, const std::array<int64_t, 2>& io, int64_t len) {
                          const A* pa = a + io[0];
                          const B* pb = b + io[1];
                          O* po = o + oo;
                          if (sa && sb) {
                            for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i], pb[i]);
                          } else if (sb) {
                            const A av = *pa;
                            for (int64_t i = 0; i < len; ++i) po[i] = f(av, pb[i]);
                          } else if (sa) {
                            const B bv = *pb;
                            for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i], bv);
                          } else {
                            const O v = f(*pa, *pb);
                            for (int64_t i = 0; i < len; ++i) po[i] = v;
                          }
                        });
  });
}

// out = f(a, b, c) with broadcasting (Where, Clip with tensor bounds).
template <class A, class B, class C, class O, class F>
void ternary_loop(const BroadcastPlan& p, const A* a, const B* b, const C* c, O* o, int64_t grain,
                  F f) {
  const int64_t sa = p.inner_stride(0), sb = p.inner_stride(1), sc = p.inner_stride(2);
  parallel_for(p.total, grain, [&](int64_t begin, int64_t end) {
    for_each_segment<3>(p, begin, end,
                        [&](int64_t oo, const std::array<int64_t, 3>& io, int64_t len) {
                          const A* pa = a + io[0];
                          const B* pb = b + io[1];
                          const C* pc = c + io[2];
                          O* po = o + oo;
                          if (sa && sb && sc) {
                            for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i], pb[i], pc[i]);
                          } else {
                            for (int64_t i = 0; i < len; ++i)
                              po[i] = f(pa[i * sa], pb[i * sb], pc[i * sc]);
                          }
                        });
  });
}

// Creates the output of a broadcasting binary op and runs f over it.
template <class A, class B, class O, class F>
Status binary_op(const Tensor& a, const Tensor& b, Tensor& out, const char* op, int64_t grain,
                 F f) {
  NALAR_ASSIGN_OR_RETURN(BroadcastPlan p, make_broadcast_plan({a.shape(), b.shape()}, op));
  out = Tensor::empty(dtype_of<O>, p.out_shape);
  if (p.total > 0) binary_loop(p, a.data<A>(), b.data<B>(), out.data<O>(), grain, f);
  return Status::ok();
}

// Runs a float function on 16-bit float data by converting blocks to float; other types run
// directly. `f` must be callable on float and on T's compute type.
template <class T, class F>
void float_unary_loop(const T* x, T* y, int64_t n, int64_t grain, F f) {
  if constexpr (kIsHalf<T>) {
    parallel_for(n, grain, [&](int64_t begin, int64_t end) {
      constexpr int64_t kBlock = 256;
      float buf[kBlock];
      for (int64_t s = begin; s < end; s += kBlock) {
        const int64_t len = std::min(kBlock, end - s);
        for (int64_t i = 0; i < len; ++i) buf[i] = static_cast<float>(x[s + i]);
        for (int64_t i = 0; i < len; ++i) buf[i] = f(buf[i]);
        for (int64_t i = 0; i < len; ++i) y[s + i] = T(buf[i]);
      }
    });
  } else {
    unary_loop(x, y, n, grain, f);
  }
}

// The input at `i`, or an error naming the op when it is missing.
inline Result<const Tensor*> require_input(const KernelContext& ctx, size_t i, const char* op) {
  const Tensor* t = ctx.input(i);
  if (!t || !t->defined())
    return invalid_argument(std::string(op) + ": missing input " + std::to_string(i));
  return t;
}

}  // namespace nalar
