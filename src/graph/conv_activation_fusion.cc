// Conv fusion (level 2): a float Conv with constant weights, optionally followed by a residual
// Add and then by one activation, becomes one com.microsoft FusedConv node
//   Y = activation(Conv(X, W, B) + Z)
// so that oneDNN applies the add (sum post-op) and the activation (eltwise post-op) while the
// output is still in cache. Patterns:
//   Conv -> act                         act: Relu, LeakyRelu, Clip (constant bounds), Sigmoid,
//                                            Tanh, HardSigmoid, HardSwish
//   Conv -> Sigmoid, Mul(conv, sigmoid) swish (SiLU as exported by PyTorch)
//   Conv -> Add(conv, Z) [-> act]       residual
// Every intermediate value must be read by the fused nodes only (no other reader, not a graph
// output, not captured by a subgraph). The fused node takes the position of the last node of the
// pattern, where all its inputs (Z included) are defined.
#include <algorithm>
#include <optional>

#include "graph/passes.h"

namespace nalar::graph {

namespace {

struct Act {
  std::string name;  // FusedConv's activation attribute; empty for none
  std::vector<float> params;
};

Attribute string_attr(const std::string& name, const std::string& v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kString;
  a.s = v;
  return a;
}

Attribute floats_attr(const std::string& name, const std::vector<float>& v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kFloats;
  a.floats = v;
  return a;
}

// A scalar float constant (shape [] or [1]) read from input `i` of `n`, or nullopt.
std::optional<float> scalar_input(const Graph& g, const UseInfo& info, const Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i].empty()) return std::nullopt;
  const Tensor* t = constant_value(g, info, n.inputs[i]);
  if (!t || t->dtype() != DataType::kFloat || t->size() != 1) return std::nullopt;
  return t->data<float>()[0];
}

// The node as a FusedConv activation (single input, single output), or nullopt.
std::optional<Act> as_activation(const Graph& g, const UseInfo& info, const Node& n,
                                 int64_t opset) {
  if (!n.domain.empty() || n.outputs.size() != 1 || n.outputs[0].empty() || n.inputs.empty())
    return std::nullopt;
  const std::string& op = n.op_type;
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "HardSwish") {
    if (n.inputs.size() != 1) return std::nullopt;
    return Act{op, {}};
  }
  if (op == "LeakyRelu") {
    if (n.inputs.size() != 1) return std::nullopt;
    return Act{op, {n.get_float("alpha", 0.01f)}};
  }
  if (op == "HardSigmoid") {
    if (n.inputs.size() != 1) return std::nullopt;
    return Act{op, {n.get_float("alpha", 0.2f), n.get_float("beta", 0.5f)}};
  }
  if (op == "Clip") {
    constexpr float kMax = 3.4028234663852886e38f;
    float lo = -kMax, hi = kMax;
    if (opset < 11) {
      if (n.inputs.size() != 1) return std::nullopt;
      lo = n.get_float("min", lo), hi = n.get_float("max", hi);
    } else {
      if (n.inputs.size() > 3) return std::nullopt;
      if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
        auto v = scalar_input(g, info, n, 1);
        if (!v) return std::nullopt;
        lo = *v;
      }
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        auto v = scalar_input(g, info, n, 2);
        if (!v) return std::nullopt;
        hi = *v;
      }
    }
    return Act{op, {lo, hi}};
  }
  return std::nullopt;
}

// Readers of every value, by node index (a node reading a value twice is listed twice).
std::map<std::string, std::vector<size_t>> readers_of(const Graph& g) {
  std::map<std::string, std::vector<size_t>> r;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs)
      if (!in.empty()) r[in].push_back(i);
  return r;
}

}  // namespace

Result<bool> fuse_conv_activation(Graph& graph, const PassContext& ctx) {
  const int64_t opset = ctx.opset("");
  if (opset < 7) return false;  // Add/Mul before 7 broadcast by `axis`
  const UseInfo info = analyze(graph);
  const auto readers = readers_of(graph);
  std::set<size_t> dead;
  // The sole reader of `v` when it is internal (read once, not escaping), else nullopt.
  auto sole_reader = [&](const std::string& v) -> std::optional<size_t> {
    if (v.empty() || info.escapes(v) || info.uses(v) != 1) return std::nullopt;
    auto it = readers.find(v);
    if (it == readers.end() || it->second.size() != 1 || dead.count(it->second[0]))
      return std::nullopt;
    return it->second[0];
  };
  std::vector<std::pair<size_t, Node>> fused;  // position -> new node
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (dead.count(i)) continue;
    const Node& conv = graph.nodes[i];
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.inputs.size() < 2 ||
        conv.inputs.size() > 3 || conv.outputs.size() != 1 || conv.outputs[0].empty())
      continue;
    const Tensor* w = constant_value(graph, info, conv.inputs[1]);
    if (!w || w->dtype() != DataType::kFloat) continue;  // float only: oneDNN post-ops
    const std::string& y = conv.outputs[0];

    std::vector<size_t> group;  // nodes replaced, besides the Conv
    std::string z, out;
    std::optional<Act> act;
    // Swish: y read by exactly Sigmoid(y) and Mul(y, sigmoid).
    auto ry = readers.find(y);
    if (!info.escapes(y) && info.uses(y) == 2 && ry != readers.end() && ry->second.size() == 2) {
      size_t a = ry->second[0], b = ry->second[1];
      if (graph.nodes[a].op_type != "Sigmoid") std::swap(a, b);
      const Node& sig = graph.nodes[a];
      const Node& mul = graph.nodes[b];
      if (a != b && !dead.count(a) && !dead.count(b) && sig.op_type == "Sigmoid" &&
          sig.domain.empty() && sig.inputs.size() == 1 && sig.outputs.size() == 1 &&
          mul.op_type == "Mul" && mul.domain.empty() && mul.inputs.size() == 2 &&
          mul.outputs.size() == 1 && !mul.outputs[0].empty()) {
        const std::string& s = sig.outputs[0];
        auto rs = sole_reader(s);
        const bool operands = (mul.inputs[0] == y && mul.inputs[1] == s) ||
                              (mul.inputs[1] == y && mul.inputs[0] == s);
        if (rs && *rs == b && operands) {
          act = Act{"Swish", {}};
          group = {a, b};
          out = mul.outputs[0];
        }
      }
    }
    if (!act) {
      auto r = sole_reader(y);
      if (!r) continue;
      const Node& next = graph.nodes[*r];
      if (auto a = as_activation(graph, info, next, opset)) {
        if (next.inputs[0] != y) continue;  // y is a Clip bound, not its input
        act = a;
        group = {*r};
        out = next.outputs[0];
      } else if (next.op_type == "Add" && next.domain.empty() && next.inputs.size() == 2 &&
                 next.outputs.size() == 1 && !next.outputs[0].empty() &&
                 next.inputs[0] != next.inputs[1]) {
        z = next.inputs[0] == y ? next.inputs[1] : next.inputs[0];
        // A constant addend is a bias (fold_conv_mul_add's job, or a broadcast we leave alone).
        if (constant_value(graph, info, z) || graph.initializers.count(z)) continue;
        group = {*r};
        out = next.outputs[0];
        if (auto r2 = sole_reader(out)) {
          const Node& after = graph.nodes[*r2];
          if (auto a2 = as_activation(graph, info, after, opset); a2 && after.inputs[0] == out) {
            act = a2;
            group.push_back(*r2);
            out = after.outputs[0];
          }
        }
      } else {
        continue;
      }
    }
    Node f;
    f.name = conv.name.empty() ? out + "_fused" : conv.name + "_fused";
    f.op_type = "FusedConv";
    f.domain = "com.microsoft";
    f.inputs = conv.inputs;
    if (!z.empty()) {
      f.inputs.resize(3);  // B stays "" when absent
      f.inputs.push_back(z);
    }
    f.outputs = {out};
    f.attributes = conv.attributes;
    if (act) {
      f.attributes["activation"] = string_attr("activation", act->name);
      if (!act->params.empty())
        f.attributes["activation_params"] = floats_attr("activation_params", act->params);
    }
    size_t pos = i;
    for (size_t k : group) {
      pos = std::max(pos, k);
      dead.insert(k);
    }
    dead.insert(i);
    fused.emplace_back(pos, std::move(f));
  }
  if (fused.empty()) return false;
  // Put each fused node at its position, then drop the replaced nodes.
  for (auto& [pos, node] : fused) graph.nodes[pos] = std::move(node), dead.erase(pos);
  remove_nodes(graph, dead);
  return true;
}

}  // namespace nalar::graph
