// Small helpers every kernel family uses: axes, broadcasting, integer tensors, parallel loops.
#pragma once

#include <omp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nalar/status.h"
#include "nalar/tensor.h"

namespace nalar {

// Maps a possibly negative axis into [0, rank); error names the op and the valid range.
Result<int64_t> normalize_axis(int64_t axis, int64_t rank, const char* op);

// Numpy-style multidirectional broadcast of two shapes.
Result<Shape> broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Row-major strides of `shape`.
std::vector<int64_t> strides_of(const Shape& shape);

// Strides for reading `input` as if it had `out_shape` (0 on broadcast dims). `input` must be
// broadcastable to `out_shape`.
std::vector<int64_t> broadcast_strides(const Shape& input, const Shape& out_shape);

// Reads an int32 or int64 tensor (shapes, axes, indices) as int64 values.
Result<std::vector<int64_t>> read_int64s(const Tensor& t, const char* what);

// Runs fn(begin, end) over [0, n) split across OpenMP threads when n is at least `grain`.
template <class Fn>
void parallel_for(int64_t n, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads <= 1 || n < grain * 2) {
    fn(int64_t{0}, n);
    return;
  }
  const int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
    fn(begin, end);
  }
}

}  // namespace nalar
