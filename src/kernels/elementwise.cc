#include "kernels/elementwise.h"

namespace nalar {

Result<BroadcastPlan> make_broadcast_plan(const std::vector<Shape>& shapes, const char* op) {
  BroadcastPlan p;
  if (shapes.empty() || shapes.size() > BroadcastPlan::kMaxInputs)
    return internal_error(std::string(op) + ": broadcast plan needs 1 to 3 inputs");
  p.num_inputs = static_cast<int>(shapes.size());
  for (const Shape& s : shapes)
    for (int64_t d : s)
      if (d < 0)
        return invalid_argument(std::string(op) + ": negative dimension in " + shape_to_string(s));
  p.out_shape = shapes[0];
  for (size_t k = 1; k < shapes.size(); ++k) {
    NALAR_ASSIGN_OR_RETURN(p.out_shape, broadcast_shapes(p.out_shape, shapes[k], op));
  }
  p.total = shape_size(p.out_shape);

  // Per-input strides over the full output rank, then drop size-1 output dims and merge
  // neighbours that every input walks contiguously (or every input repeats).
  std::vector<std::vector<int64_t>> full(shapes.size());
  for (size_t k = 0; k < shapes.size(); ++k) full[k] = broadcast_strides(shapes[k], p.out_shape);
  for (size_t d = 0; d < p.out_shape.size(); ++d) {
    const int64_t n = p.out_shape[d];
    if (n == 1) continue;
    bool merge = !p.dims.empty();
    if (merge) {
      for (size_t k = 0; k < shapes.size(); ++k)
        if (p.strides[k].back() != full[k][d] * n) merge = false;
    }
    if (merge) {
      p.dims.back() *= n;
      for (size_t k = 0; k < shapes.size(); ++k) p.strides[k].back() = full[k][d];
    } else {
      p.dims.push_back(n);
      for (size_t k = 0; k < shapes.size(); ++k) p.strides[k].push_back(full[k][d]);
    }
  }
  if (p.dims.empty()) {  // every dim is 1 (or a scalar): one element
    p.dims.push_back(1);
    for (size_t k = 0; k < shapes.size(); ++k) p.strides[k].push_back(0);
  }
  if (p.dims.size() > static_cast<size_t>(BroadcastPlan::kMaxRank))
    return unimplemented(std::string(op) + ": broadcasting pattern of " +
                         shape_to_string(p.out_shape) + " is too irregular (more than " +
                         std::to_string(BroadcastPlan::kMaxRank) + " collapsed dims)");
  // A size-1 innermost dim walked "contiguously" is the same as a repeat: normalise to 0/1.
  for (size_t k = 0; k < shapes.size(); ++k) {
    int64_t& s = p.strides[k].back();
    if (p.dims.back() == 1) s = 0;
    if (s != 0) s = 1;  // innermost kept dim of a non-broadcast input is contiguous
  }
  return p;
}

}  // namespace nalar
