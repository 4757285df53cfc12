// Layout propagation (level 2): keeps 2-D float activations in NHWC (channels last) across
// chains of convolutions, pooling and elementwise ops, so that oneDNN's brgconv / jit_dw run on
// their native layout and the reorders into and out of it happen only at the chain's edges.
//
// An NHWC value keeps its logical NCHW shape; only the bytes are ordered N, H, W, C. Kernels
// learn it from attributes this pass sets:
//   Conv / FusedConv  nalar_nhwc_in (X, and Z when the output is NHWC), nalar_nhwc_out (Y)
//   MaxPool / AveragePool            nalar_nhwc (X and Y)
//   GlobalAveragePool / GlobalMaxPool nalar_nhwc_in (Y [N,C,1,1] is the same bytes either way)
// Unary elementwise ops and same-shape binary ops are layout-blind and pass NHWC through.
// Every other reader of an NHWC value, a graph output and a subgraph capture get the value back
// under its own name through a com.nalar NhwcToNchw node placed before the first such use.
#include <algorithm>
#include <functional>
#include <optional>

#include "graph/passes.h"

namespace nalar::graph {

namespace {

Attribute int_attr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInt;
  a.i = v;
  return a;
}

bool is_conv(const Node& n) {
  return (n.op_type == "Conv" && n.domain.empty()) ||
         (n.op_type == "FusedConv" && n.domain == "com.microsoft");
}

// Without the Indices output and the one average window that oneDNN cannot express.
bool is_window_pool(const Node& n) {
  if (!n.domain.empty() || n.outputs.size() != 1) return false;
  if (n.op_type == "MaxPool") return true;
  return n.op_type == "AveragePool" &&
         !(n.get_int("count_include_pad", 0) != 0 && n.get_int("ceil_mode", 0) != 0);
}

bool is_global_pool(const Node& n) {
  return n.domain.empty() && (n.op_type == "GlobalAveragePool" || n.op_type == "GlobalMaxPool");
}

// Ops that map each element on its own (extra inputs, like Clip's bounds, are scalars).
bool is_unary_elementwise(const Node& n) {
  static const std::set<std::string> ops = {"Relu", "LeakyRelu",   "Clip",      "Sigmoid",
                                            "Tanh", "HardSigmoid", "HardSwish", "Elu",
                                            "Selu", "Softplus",    "Neg",       "Abs"};
  return n.domain.empty() && n.outputs.size() == 1 && !n.inputs.empty() && ops.count(n.op_type);
}

bool is_binary_elementwise(const Node& n) {
  return n.domain.empty() && n.inputs.size() == 2 && n.outputs.size() == 1 &&
         (n.op_type == "Add" || n.op_type == "Sub" || n.op_type == "Mul" || n.op_type == "Div");
}

// Statically known shapes, by value name (inference results, graph inputs and outputs).
using ShapeMap = std::map<std::string, std::vector<Dim>>;

ShapeMap known_shapes(const Graph& g) {
  ShapeMap m;
  auto add = [&](const std::vector<TensorInfo>& infos) {
    for (const auto& t : infos)
      if (t.has_shape) m[t.name] = t.shape;
  };
  add(g.value_infos);
  add(g.inputs);
  add(g.outputs);
  return m;
}

// True when both shapes are known and provably equal (same fixed sizes or same symbols).
bool same_shape(const ShapeMap& shapes, const std::string& a, const std::string& b) {
  auto ia = shapes.find(a), ib = shapes.find(b);
  if (ia == shapes.end() || ib == shapes.end() || ia->second.size() != ib->second.size())
    return false;
  for (size_t i = 0; i < ia->second.size(); ++i) {
    const Dim& x = ia->second[i];
    const Dim& y = ib->second[i];
    if (x.is_fixed() ? x.value != y.value : (x.param.empty() || x.param != y.param)) return false;
  }
  return true;
}

// A float Conv/FusedConv on 4-D data with constant weights: the kind whose kernel reads and
// writes NHWC. A broadcasting residual Z (shape differs from Y) stays on the plain path.
bool conv_can_nhwc(const Graph& g, const UseInfo& info, const ShapeMap& shapes, const Node& n) {
  if (!is_conv(n) || n.inputs.size() < 2 || n.outputs.size() != 1 || n.outputs[0].empty())
    return false;
  const Tensor* w = constant_value(g, info, n.inputs[1]);
  if (!w || w->dtype() != DataType::kFloat || w->rank() != 4 || w->size() == 0) return false;
  if (n.inputs.size() > 3 && !n.inputs[3].empty() && !same_shape(shapes, n.inputs[3], n.outputs[0]))
    return false;
  return true;
}

// `s` has the static shape [N or 1, C, 1, 1] of a per-channel scale for `x` [N, C, H, W].
bool is_channel_scale_of(const ShapeMap& shapes, const std::string& s, const std::string& x) {
  auto is = shapes.find(s), ix = shapes.find(x);
  if (is == shapes.end() || ix == shapes.end() || is->second.size() != 4 || ix->second.size() != 4)
    return false;
  auto same = [](const Dim& a, const Dim& b) {
    return a.is_fixed() ? a.value == b.value : (!a.param.empty() && a.param == b.param);
  };
  const auto& sd = is->second;
  const auto& xd = ix->second;
  return (sd[0].value == 1 || same(sd[0], xd[0])) && same(sd[1], xd[1]) && sd[2].value == 1 &&
         sd[3].value == 1;
}

// Output spatial size known to be 1x1: NHWC and NCHW are the same bytes, nothing to gain.
bool spatial_is_one(const ShapeMap& shapes, const std::string& v) {
  auto it = shapes.find(v);
  return it != shapes.end() && it->second.size() == 4 && it->second[2].value == 1 &&
         it->second[3].value == 1;
}

}  // namespace

Result<bool> propagate_nhwc_layout(Graph& graph, const PassContext& /*ctx*/) {
  const UseInfo info = analyze(graph);
  const ShapeMap shapes = known_shapes(graph);
  std::map<std::string, std::vector<size_t>> readers;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (const auto& in : graph.nodes[i].inputs)
      if (!in.empty()) readers[in].push_back(i);

  // Producing NHWC pays when the value reaches, through layout-blind elementwise ops, a reader
  // that consumes NHWC natively (another convolution or a pool); a chain that ends in plain
  // readers only would move the reorder, not remove it.
  std::map<std::string, bool> worth_memo;
  std::function<bool(const std::string&, int)> worth_nhwc = [&](const std::string& v,
                                                                int depth) -> bool {
    auto memo = worth_memo.find(v);
    if (memo != worth_memo.end()) return memo->second;
    bool worth = false;
    auto it = readers.find(v);
    if (it != readers.end() && depth < 64) {
      for (size_t ri : it->second) {
        const Node& r = graph.nodes[ri];
        if (is_conv(r)) {
          // X, or the residual Z of a convolution (whose output is then NHWC as well).
          worth |= (r.inputs[0] == v || (r.inputs.size() > 3 && r.inputs[3] == v)) &&
                   conv_can_nhwc(graph, info, shapes, r);
        } else if (is_window_pool(r) || is_global_pool(r)) {
          worth |= r.inputs[0] == v;
        } else if (is_unary_elementwise(r) || is_binary_elementwise(r)) {
          worth |= worth_nhwc(r.outputs[0], depth + 1);
        }
        if (worth) break;
      }
    }
    worth_memo[v] = worth;
    return worth;
  };

  std::set<std::string> taken;  // names this pass made up
  auto fresh = [&](const std::string& base) {
    std::string n = unique_name(graph, info, base);
    for (int i = 1; taken.count(n); ++i)
      n = unique_name(graph, info, base + "_" + std::to_string(i));
    taken.insert(n);
    return n;
  };

  std::map<std::string, std::string> nhwc_of;    // original name -> its NHWC value
  std::set<std::string> plain_ready;             // NHWC values whose plain form was emitted
  std::map<std::string, std::string> nhwc_copy;  // plain value -> an NHWC copy made for a reader
  std::vector<Node> out;
  out.reserve(graph.nodes.size() + 16);
  auto emit_to_plain = [&](const std::string& v) {
    if (plain_ready.count(v)) return;
    Node c;
    c.name = v + "_to_nchw";
    c.op_type = "NhwcToNchw";
    c.domain = "com.nalar";
    c.inputs = {nhwc_of.at(v)};
    c.outputs = {v};
    out.push_back(std::move(c));
    plain_ready.insert(v);
  };
  auto emit_to_nhwc = [&](const std::string& v) -> std::string {
    auto it = nhwc_copy.find(v);
    if (it != nhwc_copy.end()) return it->second;
    Node c;
    c.name = v + "_to_nhwc";
    c.op_type = "NchwToNhwc";
    c.domain = "com.nalar";
    c.inputs = {v};
    c.outputs = {fresh(v + "_nhwc")};
    out.push_back(c);
    nhwc_copy[v] = c.outputs[0];
    return c.outputs[0];
  };

  bool changed = false;
  for (size_t idx : topological_order(graph)) {
    Node n = graph.nodes[idx];
    auto in_nhwc = [&](size_t s) { return s < n.inputs.size() && nhwc_of.count(n.inputs[s]); };
    // Input slots that will read NHWC, and whether the output is NHWC.
    std::set<size_t> take;
    bool out_nhwc = false;
    if (is_conv(n) && conv_can_nhwc(graph, info, shapes, n)) {
      const bool in0 = in_nhwc(0);
      out_nhwc = !spatial_is_one(shapes, n.outputs[0]) && worth_nhwc(n.outputs[0], 0);
      if (in0) take.insert(0);
      if (n.inputs.size() > 3 && !n.inputs[3].empty() && out_nhwc) take.insert(3);
      if (in0 || out_nhwc) {
        changed = true;
        n.attributes["nalar_nhwc_in"] = int_attr("nalar_nhwc_in", in0 ? 1 : 0);
        n.attributes["nalar_nhwc_out"] = int_attr("nalar_nhwc_out", out_nhwc ? 1 : 0);
      }
    } else if (is_window_pool(n) && n.outputs.size() == 1 && in_nhwc(0)) {
      take.insert(0);
      out_nhwc = true;
      changed = true;
      n.attributes["nalar_nhwc"] = int_attr("nalar_nhwc", 1);
    } else if (is_global_pool(n) && n.outputs.size() == 1 && in_nhwc(0)) {
      take.insert(0);
      changed = true;
      n.attributes["nalar_nhwc_in"] = int_attr("nalar_nhwc_in", 1);
    } else if (is_unary_elementwise(n) && in_nhwc(0)) {
      take.insert(0);
      out_nhwc = true;
    } else if (is_binary_elementwise(n) && n.op_type == "Mul" && in_nhwc(0) != in_nhwc(1) &&
               is_channel_scale_of(shapes, n.inputs[in_nhwc(0) ? 1 : 0],
                                   n.inputs[in_nhwc(0) ? 0 : 1]) &&
               same_shape(shapes, n.inputs[in_nhwc(0) ? 0 : 1], n.outputs[0])) {
      // Squeeze-and-excitation: X (NHWC) times a per-channel scale.
      if (!in_nhwc(0)) std::swap(n.inputs[0], n.inputs[1]);
      n.op_type = "NhwcChannelMul";
      n.domain = "com.nalar";
      take.insert(0);
      out_nhwc = true;
      changed = true;
    } else if (is_binary_elementwise(n) && in_nhwc(0) && in_nhwc(1) &&
               same_shape(shapes, n.inputs[0], n.inputs[1]) &&
               same_shape(shapes, n.inputs[0], n.outputs[0])) {
      take = {0, 1};
      out_nhwc = true;
    }
    for (size_t s = 0; s < n.inputs.size(); ++s) {
      const std::string v = n.inputs[s];
      if (v.empty()) continue;
      if (take.count(s)) {
        n.inputs[s] = nhwc_of.count(v) ? nhwc_of.at(v) : emit_to_nhwc(v);
      } else if (nhwc_of.count(v)) {
        emit_to_plain(v);  // the reader keeps the original name
      }
    }
    // Values a nested graph captures are read in the plain layout too.
    std::set<std::string> refs;
    collect_subgraph_refs(n, refs);
    for (const auto& r : refs)
      if (nhwc_of.count(r)) emit_to_plain(r);
    std::string original;
    if (out_nhwc) {
      original = n.outputs[0];
      n.outputs[0] = fresh(original + "_nhwc");
      nhwc_of[original] = n.outputs[0];
      changed = true;
    }
    out.push_back(std::move(n));
    if (out_nhwc && info.escapes(original)) emit_to_plain(original);
  }
  if (!changed) return false;
  graph.nodes = std::move(out);
  return true;
}

}  // namespace nalar::graph
