// Helpers for the control-flow kernels (Loop, Scan): slicing one step out of a tensor along an
// axis, stacking per-iteration values along a new axis, and shapes for empty results.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace nalar::cf {

// Copies n elements (strings by assignment, everything else bytewise).
inline void copy_elements(const Tensor& src, int64_t src_off, Tensor& dst, int64_t dst_off,
                          int64_t n) {
  if (n <= 0) return;
  if (src.dtype() == DataType::kString) {
    const std::string* s = src.data<std::string>() + src_off;
    std::string* d = dst.data<std::string>() + dst_off;
    for (int64_t i = 0; i < n; ++i) d[i] = s[i];
    return;
  }
  const size_t es = dtype_size(src.dtype());
  std::memcpy(static_cast<char*>(dst.raw()) + static_cast<size_t>(dst_off) * es,
              static_cast<const char*>(src.raw()) + static_cast<size_t>(src_off) * es,
              static_cast<size_t>(n) * es);
}

// Element i of `t` along `axis` (that axis removed). axis < rank, i < dim(axis).
inline Tensor take(const Tensor& t, int64_t axis, int64_t i) {
  Shape shape = t.shape();
  const int64_t len = shape[static_cast<size_t>(axis)];
  shape.erase(shape.begin() + axis);
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= t.dim(a);
  for (int64_t a = axis + 1; a < t.rank(); ++a) inner *= t.dim(a);
  Tensor out = Tensor::create(t.dtype(), shape);
  for (int64_t o = 0; o < outer; ++o)
    copy_elements(t, (o * len + i) * inner, out, o * inner, inner);
  return out;
}

// Stacks `parts` (all of shape `elem` and dtype `dt`) along a new axis `axis` of length `total`
// (>= parts.size(); positions past the parts stay zero). Part i goes to position i, or
// total-1-i when `reverse`.
inline Tensor stack(const std::vector<Tensor>& parts, DataType dt, const Shape& elem, int64_t axis,
                    int64_t total, bool reverse) {
  Shape shape = elem;
  shape.insert(shape.begin() + axis, total);
  Tensor out = Tensor::create(dt, shape);
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= elem[static_cast<size_t>(a)];
  for (size_t a = static_cast<size_t>(axis); a < elem.size(); ++a) inner *= elem[a];
  for (size_t p = 0; p < parts.size(); ++p) {
    const int64_t pos = reverse ? total - 1 - static_cast<int64_t>(p) : static_cast<int64_t>(p);
    for (int64_t o = 0; o < outer; ++o)
      copy_elements(parts[p], o * inner, out, (o * total + pos) * inner, inner);
  }
  return out;
}

// Checks that every part has the dtype and shape of the first one.
inline Status check_same(const std::vector<Tensor>& parts, const char* op,
                         const std::string& what) {
  for (size_t p = 1; p < parts.size(); ++p)
    if (parts[p].dtype() != parts[0].dtype() || parts[p].shape() != parts[0].shape())
      return invalid_argument(std::string(op) + ": " + what + " changes from " +
                              parts[0].describe() + " to " + parts[p].describe() +
                              " between iterations");
  return Status::ok();
}

// An empty result for a value declared by `info` with a zero-length axis inserted at `axis` (when
// the declared element shape is unknown, a 1-D empty tensor).
inline Tensor empty_like_info(const TensorInfo* info, int64_t axis) {
  DataType dt = info && info->dtype != DataType::kUndefined ? info->dtype : DataType::kFloat;
  Shape elem;
  bool known = info && info->has_shape;
  if (known)
    for (const auto& d : info->shape) {
      if (!d.is_fixed()) {
        known = false;
        break;
      }
      elem.push_back(d.value);
    }
  if (!known) return Tensor::create(dt, {0});
  if (axis < 0) axis += static_cast<int64_t>(elem.size()) + 1;
  if (axis < 0 || axis > static_cast<int64_t>(elem.size())) axis = 0;
  elem.insert(elem.begin() + axis, 0);
  return Tensor::create(dt, elem);
}

}  // namespace nalar::cf
