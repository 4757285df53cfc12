// Helpers for the shape and data-movement kernels (Transpose, Slice, Concat, Pad, Tile, ...).
// Moving elements never needs their arithmetic type, only their size, so most kernels dispatch on
// element size (dispatch_by_size) and share one strided-copy engine (strided_copy).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "nalar/status.h"
#include "nalar/tensor.h"

namespace nalar {

// A 16-byte plain element (complex128) for size-based dispatch.
struct Bytes16 {
  uint64_t w[2];
};

// Runs fn(TypeTag<T>) with a type that copies elements of `t` faithfully: std::string for strings,
// otherwise an unsigned integer (or Bytes16) of the same size.
template <class Fn>
Status dispatch_by_size(DataType t, const char* op, Fn&& fn) {
  if (t == DataType::kString) return fn(TypeTag<std::string>{});
  switch (dtype_size(t)) {
    case 1:
      return fn(TypeTag<uint8_t>{});
    case 2:
      return fn(TypeTag<uint16_t>{});
    case 4:
      return fn(TypeTag<uint32_t>{});
    case 8:
      return fn(TypeTag<uint64_t>{});
    case 16:
      return fn(TypeTag<Bytes16>{});
    default:
      return unsupported_dtype(op, t);
  }
}

// Upper bound on the elements one output may have; larger requests are refused up front.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 40;

// Element count of `shape`, or an error naming `op` when a dim is negative or the count is too big.
Result<int64_t> checked_size(const Shape& shape, const char* op);

// Creates a tensor of `shape` after checked_size() accepted it.
Result<Tensor> create_checked(DataType dtype, const Shape& shape, const char* op);

// A strided view: element (i0, i1, ...) lives at base + sum(ik * strides[k]).
struct StridedView {
  int64_t base = 0;
  std::vector<int64_t> strides;
};

// Copies every element of the index space `shape` from src's view to dst's view (same dtype).
// Merges contiguous dims, drops unit dims, uses block copies for contiguous rows, cache tiles for
// transposes, and OpenMP for large copies. Strides may be 0 (broadcast, src only) or negative.
void strided_copy(const Tensor& src, const StridedView& sv, Tensor& dst, const StridedView& dv,
                  const Shape& shape);

// Copies n consecutive elements src[src_off..] to dst[dst_off..] (same dtype).
void copy_block(const Tensor& src, int64_t src_off, Tensor& dst, int64_t dst_off, int64_t n);

// Checks that perm is a permutation of [0, rank) (entries may be negative, counted from the end)
// and returns it normalised.
Result<std::vector<int64_t>> normalize_perm(const std::vector<int64_t>& perm, int64_t rank,
                                            const char* op);

// Output shape and source view that transpose a tensor of `shape` by a valid `perm`.
Shape permuted_shape(const Shape& shape, const std::vector<int64_t>& perm);
StridedView permuted_view(const Shape& shape, const std::vector<int64_t>& perm);

// out = x transposed by a valid perm (a zero-copy reshape when the permutation moves no data).
Result<Tensor> transpose_tensor(const Tensor& x, const std::vector<int64_t>& perm, const char* op);

// Calls fn(flat, offset) for each flat index in [begin, end) of the row-major index space of
// `shape`, where offset = sum(coord[k] * strides[k]). Walks an odometer, no divisions per element.
template <class Fn>
void for_each_offset(const Shape& shape, const std::vector<int64_t>& strides, int64_t begin,
                     int64_t end, Fn&& fn) {
  const size_t r = shape.size();
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0, rem = begin;
  for (size_t k = r; k-- > 0;) {
    idx[k] = rem % shape[k];
    rem /= shape[k];
    off += idx[k] * strides[k];
  }
  for (int64_t i = begin; i < end; ++i) {
    fn(i, off);
    for (size_t k = r; k-- > 0;) {
      off += strides[k];
      if (++idx[k] < shape[k]) break;
      off -= strides[k] * shape[k];
      idx[k] = 0;
    }
  }
}

// Reads an optional 1-D (or scalar) int32/int64 input; `present` says whether it was given.
Result<std::vector<int64_t>> read_optional_ints(const Tensor* t, const char* what, bool* present);

// Reads a scalar (or 1-element) int32/int64 tensor.
Result<int64_t> read_int_scalar(const Tensor& t, const char* what);

// Normalises a list of axes against `rank`, rejecting duplicates.
Result<std::vector<int64_t>> normalize_axes(const std::vector<int64_t>& axes, int64_t rank,
                                            const char* op);

}  // namespace nalar
