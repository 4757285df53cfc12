#include "serving/reshape.h"

namespace nalar::serving {

Result<Tensor> reshape_to(const std::string& name, const Tensor& t,
                          const std::vector<int64_t>& dims, bool batched) {
  Shape shape;
  if (batched) {
    if (t.rank() == 0) return invalid_argument("'" + name + "' has no batch dimension to keep");
    shape.push_back(t.dim(0));
  }
  int64_t known = batched ? t.dim(0) : 1;
  int infer_at = -1;
  for (int64_t d : dims) {
    if (d == -1) {
      if (infer_at >= 0) return invalid_argument("'" + name + "': reshape with more than one -1");
      infer_at = static_cast<int>(shape.size());
      shape.push_back(1);
    } else {
      shape.push_back(d);
      known *= d;
    }
  }
  if (infer_at >= 0) {
    if (known == 0 || t.size() % known != 0)
      return invalid_argument("'" + name + "' of shape " + shape_to_string(t.shape()) +
                              " cannot be reshaped to " + shape_to_string(shape) +
                              " (the -1 does not divide evenly)");
    shape[static_cast<size_t>(infer_at)] = t.size() / known;
  } else if (known != t.size()) {
    return invalid_argument("'" + name + "' of shape " + shape_to_string(t.shape()) + " has " +
                            std::to_string(t.size()) + " elements, its reshape " +
                            shape_to_string(shape) + " needs " + std::to_string(known));
  }
  return t.reshaped(std::move(shape));
}

Result<NamedTensors> apply_reshapes(
    const NamedTensors& tensors,
    const std::vector<std::pair<std::string, std::vector<int64_t>>>& reshapes, bool batched) {
  NamedTensors out;
  out.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    const std::vector<int64_t>* dims = nullptr;
    for (const auto& [n, d] : reshapes)
      if (n == name) dims = &d;
    if (!dims) {
      out.emplace_back(name, t);
      continue;
    }
    NALAR_ASSIGN_OR_RETURN(Tensor r, reshape_to(name, t, *dims, batched));
    out.emplace_back(name, std::move(r));
  }
  return out;
}

}  // namespace nalar::serving
