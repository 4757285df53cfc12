// Constant folding: a node whose inputs are all constants (initializers that no caller can
// override), or that has no inputs at all (Constant), is evaluated once here with the same kernel
// the plan would run, and its outputs become initializers. Skipped: random ops (each run must
// draw anew), nodes with subgraphs, ops without a kernel, and results over kMaxFoldedBytes, which
// would stay resident for the session's life (ops that can expand a small input hugely are
// estimated before they run, so a ConstantOfShape of a vast shape never allocates).
#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <optional>

#include "graph/passes.h"
#include "kernels/kernel.h"

namespace nalar::graph {

namespace {

constexpr int64_t kMaxFoldedBytes = int64_t{64} << 20;

bool is_random(const Node& n) {
  static const std::set<std::string> kRandom = {
      "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
      "Bernoulli",    "Multinomial",   "Dropout"};
  return n.domain.empty() && kRandom.count(n.op_type);
}

// Left to run time: Resize/Upsample (output size not bounded by the inputs in a way estimated
// here), and DequantizeLinear, whose constant int8 weights stay compact (4x smaller than the
// folded floats) and recognisable to quantized kernels, as in ONNX Runtime.
bool never_fold(const Node& n) {
  static const std::set<std::string> kSkip = {"Resize", "Upsample", "DequantizeLinear"};
  return n.domain.empty() && kSkip.count(n.op_type);
}

int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r;
  if (a < 0 || b < 0) return -1;
  if (__builtin_mul_overflow(a, b, &r)) return std::numeric_limits<int64_t>::max();
  return r;
}

// Integer values of a 1-D int32/int64 tensor; nullopt for anything else.
std::optional<std::vector<int64_t>> int_values(const Tensor* t) {
  if (!t) return std::nullopt;
  std::vector<int64_t> v(static_cast<size_t>(t->size()));
  if (t->dtype() == DataType::kInt64) {
    for (size_t i = 0; i < v.size(); ++i) v[i] = t->data<int64_t>()[i];
  } else if (t->dtype() == DataType::kInt32) {
    for (size_t i = 0; i < v.size(); ++i) v[i] = t->data<int32_t>()[i];
  } else {
    return std::nullopt;
  }
  return v;
}

std::optional<double> scalar_value(const Tensor* t) {
  if (!t || t->size() != 1) return std::nullopt;
  switch (t->dtype()) {
    case DataType::kFloat:
      return static_cast<double>(t->data<float>()[0]);
    case DataType::kDouble:
      return t->data<double>()[0];
    case DataType::kInt16:
      return static_cast<double>(t->data<int16_t>()[0]);
    case DataType::kInt32:
      return static_cast<double>(t->data<int32_t>()[0]);
    case DataType::kInt64:
      return static_cast<double>(t->data<int64_t>()[0]);
    default:
      return std::nullopt;
  }
}

// Upper bound on the elements of the largest output of the ops that can expand their input;
// nullopt when the op is not one of them (or the bound cannot be read), -1 when the inputs are
// malformed (the kernel will say why at run time).
std::optional<int64_t> expanded_elements(const Node& n, const std::vector<const Tensor*>& in,
                                         int64_t opset) {
  auto input = [&](size_t i) -> const Tensor* { return i < in.size() ? in[i] : nullptr; };
  const std::string& op = n.op_type;
  if (!n.domain.empty()) return std::nullopt;
  if (op == "ConstantOfShape") {
    auto dims = int_values(input(0));
    if (!dims) return -1;
    int64_t total = 1;
    for (int64_t d : *dims) total = sat_mul(total, d);
    return total;
  }
  if (op == "Expand") {
    auto dims = int_values(input(1));
    if (!dims || !input(0)) return -1;
    const Shape& s = input(0)->shape();
    const size_t rank = std::max(s.size(), dims->size());
    int64_t total = 1;
    for (size_t k = 0; k < rank; ++k) {
      int64_t a = k < rank - s.size() ? 1 : s[k - (rank - s.size())];
      int64_t b = k < rank - dims->size() ? 1 : (*dims)[k - (rank - dims->size())];
      total = sat_mul(total, std::max(a, b));
    }
    return total;
  }
  if (op == "Tile") {
    auto reps = int_values(input(1));
    if (!reps || !input(0)) return -1;
    int64_t total = input(0)->size();
    for (int64_t r : *reps) total = sat_mul(total, r);
    return total;
  }
  if (op == "OneHot") {
    auto depth = scalar_value(input(1));
    if (!depth || !input(0) || !(*depth >= 0) || *depth > 9e18) return -1;
    return sat_mul(input(0)->size(), static_cast<int64_t>(*depth));
  }
  if (op == "Range") {
    auto start = scalar_value(input(0)), limit = scalar_value(input(1)),
         delta = scalar_value(input(2));
    if (!start || !limit || !delta || *delta == 0) return -1;
    double count = std::ceil((*limit - *start) / *delta);
    if (!(count < 9e18)) return std::numeric_limits<int64_t>::max();
    return count > 0 ? static_cast<int64_t>(count) : 0;
  }
  if (op == "Pad") {
    if (!input(0)) return -1;
    std::vector<int64_t> pads;
    if (opset >= 11) {
      auto p = int_values(input(1));
      if (!p) return -1;
      pads = *p;
    } else {
      pads = n.get_ints(opset >= 2 ? "pads" : "paddings");
    }
    const Shape& s = input(0)->shape();
    // With an axes input fewer pads may be given; bound by growing every dim by all of them.
    int64_t grow = 0;
    for (int64_t p : pads) grow += std::max<int64_t>(p, 0);
    int64_t total = 1;
    for (int64_t d : s) total = sat_mul(total, d + grow);
    return total;
  }
  return std::nullopt;
}

// Evaluates node `n` on constant inputs; nullopt when it cannot or should not be folded.
std::optional<std::vector<Tensor>> evaluate(const Node& n, const std::vector<const Tensor*>& in,
                                            int64_t opset) {
  const KernelFactory* factory = find_kernel(n.domain, n.op_type, opset);
  if (!factory) return std::nullopt;
  if (auto bound = expanded_elements(n, in, opset)) {
    if (*bound < 0) return std::nullopt;
    // 16 bytes is the widest element; stay conservative without knowing the dtype.
    if (*bound > kMaxFoldedBytes / 16) return std::nullopt;
  }
  try {
    std::unique_ptr<Kernel> kernel = (*factory)();
    KernelConfig cfg{n, opset, in, 1, nullptr};
    if (!kernel->prepare(cfg).is_ok()) return std::nullopt;
    KernelContext kctx(in, n.outputs.size(), 1, nullptr);
    if (!kernel->compute(kctx).is_ok()) return std::nullopt;
    int64_t bytes = 0;
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      if (n.outputs[o].empty()) continue;
      const Tensor& t = kctx.output(o);
      if (!t.defined()) return std::nullopt;
      bytes += static_cast<int64_t>(t.nbytes());
    }
    if (bytes > kMaxFoldedBytes) return std::nullopt;
    return std::move(kctx.outputs());
  } catch (const std::exception&) {
    return std::nullopt;  // the same failure will surface, with context, at run time
  }
}

// Shape and Size of a graph input whose declared shape is fully fixed: the session rejects any fed
// tensor whose dims differ from the declared ones, so the answer is known now.
std::optional<Tensor> static_shape_value(const Graph& graph, const UseInfo& info, const Node& n) {
  if (!n.domain.empty() || (n.op_type != "Shape" && n.op_type != "Size") || n.inputs.size() != 1 ||
      n.outputs.size() != 1 || n.outputs[0].empty() || graph.initializers.count(n.inputs[0]))
    return std::nullopt;
  if (!info.graph_inputs.count(n.inputs[0])) return std::nullopt;
  const TensorInfo* decl = nullptr;
  for (const auto& in : graph.inputs)
    if (in.name == n.inputs[0]) decl = &in;
  if (!decl || !decl->has_shape) return std::nullopt;
  std::vector<int64_t> dims;
  for (const Dim& d : decl->shape) {
    if (!d.is_fixed()) return std::nullopt;
    dims.push_back(d.value);
  }
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (n.op_type == "Size") {
    int64_t total = 1;
    for (int64_t d : dims) total = sat_mul(total, d);
    return Tensor::scalar<int64_t>(total);
  }
  // Shape-15 slices the dims with start/end, clamped like Slice.
  auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
  const int64_t start = clamp(n.get_int("start", 0)), end = clamp(n.get_int("end", rank));
  std::vector<int64_t> sliced;
  for (int64_t k = start; k < end; ++k) sliced.push_back(dims[static_cast<size_t>(k)]);
  return Tensor::from_vector<int64_t>(sliced, {static_cast<int64_t>(sliced.size())});
}

}  // namespace

Result<bool> fold_constants(Graph& graph, const PassContext& ctx) {
  UseInfo info = analyze(graph);
  std::set<size_t> folded;
  // Dependency order, so a chain of constant nodes folds in one pass.
  for (size_t i : topological_order(graph)) {
    const Node& n = graph.nodes[i];
    if (is_random(n) || never_fold(n) || has_subgraph(n)) continue;
    if (auto shape = static_shape_value(graph, info, n)) {
      graph.initializers[n.outputs[0]] = std::move(*shape);
      folded.insert(i);
      continue;
    }
    bool all_constant = true, any_output = false;
    std::vector<const Tensor*> in;
    for (const auto& name : n.inputs) {
      if (name.empty()) {
        in.push_back(nullptr);
        continue;
      }
      const Tensor* t = constant_value(graph, info, name);
      if (!t) {
        all_constant = false;
        break;
      }
      in.push_back(t);
    }
    for (const auto& o : n.outputs) {
      any_output = any_output || !o.empty();
      // An output that is also an initializer would be ambiguous; leave such graphs alone.
      if (!o.empty() && graph.initializers.count(o)) all_constant = false;
    }
    if (!all_constant || !any_output) continue;
    auto outputs = evaluate(n, in, ctx.opset(n.domain));
    if (!outputs) continue;
    for (size_t o = 0; o < n.outputs.size(); ++o)
      if (!n.outputs[o].empty()) graph.initializers[n.outputs[o]] = (*outputs)[o];
    folded.insert(i);
  }
  remove_nodes(graph, folded);
  return !folded.empty();
}

}  // namespace nalar::graph
