#include "kernels/common.h"

#include <algorithm>

namespace nalar {

Result<int64_t> normalize_axis(int64_t axis, int64_t rank, const char* op) {
  const int64_t lo = rank == 0 ? -1 : -rank, hi = rank == 0 ? 0 : rank - 1;
  if (axis < lo || axis > hi)
    return invalid_argument(std::string(op) + ": axis " + std::to_string(axis) +
                            " is out of range for rank " + std::to_string(rank) + " (expected " +
                            std::to_string(lo) + " to " + std::to_string(hi) + ")");
  return axis < 0 ? axis + std::max<int64_t>(rank, 1) : axis;
}

Result<Shape> broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return invalid_argument(std::string(op) + ": shapes " + shape_to_string(a) + " and " +
                              shape_to_string(b) + " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

std::vector<int64_t> broadcast_strides(const Shape& input, const Shape& out_shape) {
  std::vector<int64_t> in_strides = strides_of(input);
  std::vector<int64_t> s(out_shape.size(), 0);
  const size_t offset = out_shape.size() - input.size();
  for (size_t i = 0; i < input.size(); ++i)
    s[i + offset] = input[i] == 1 ? 0 : in_strides[i];
  return s;
}

Result<std::vector<int64_t>> read_int64s(const Tensor& t, const char* what) {
  std::vector<int64_t> v(static_cast<size_t>(t.size()));
  if (t.dtype() == DataType::kInt64) {
    for (int64_t i = 0; i < t.size(); ++i) v[i] = t.data<int64_t>()[i];
  } else if (t.dtype() == DataType::kInt32) {
    for (int64_t i = 0; i < t.size(); ++i) v[i] = t.data<int32_t>()[i];
  } else {
    return invalid_argument(std::string(what) + ": expected an int64 or int32 tensor, got " +
                            dtype_name(t.dtype()));
  }
  return v;
}

}  // namespace nalar
