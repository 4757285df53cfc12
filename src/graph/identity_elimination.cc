// Identity elimination: Identity, and Dropout when it is an identity (inference mode, mask
// unused), are removed by pointing their consumers at their input. When the output is a graph
// output, the producer of the input is renamed instead, which needs that producer to be a node of
// this graph (a graph input or initializer keeps its own name, so such an Identity stays).
#include "graph/passes.h"

namespace nalar::graph {

namespace {

// The Dropout runs as an identity: inference mode and no one reads the mask.
bool is_identity_dropout(const Graph& graph, const UseInfo& info, const Node& n, int64_t opset) {
  if (n.outputs.size() > 1 && !n.outputs[1].empty() && !info.unused(n.outputs[1])) return false;
  if (opset >= 12 && n.inputs.size() > 2 && !n.inputs[2].empty()) {
    const Tensor* t = constant_value(graph, info, n.inputs[2]);
    if (!t || t->dtype() != DataType::kBool || t->size() != 1 || t->data<bool>()[0]) return false;
  }
  // Dropout-1..6 has is_test, but Nalar (like ONNX Runtime) runs every Dropout before 12 as
  // inference; removing it keeps exactly that behaviour.
  return true;
}

}  // namespace

Result<bool> eliminate_identities(Graph& graph, const PassContext& ctx) {
  auto removable = [&](const UseInfo& info, const Node& n) {
    if (!n.domain.empty() || n.inputs.empty() || n.inputs[0].empty() || n.outputs.empty() ||
        n.outputs[0].empty() || n.inputs[0] == n.outputs[0])
      return false;
    // Nested graphs read names directly; renaming inside them is not worth the risk.
    if (info.subgraph_refs.count(n.outputs[0])) return false;
    if (n.op_type == "Identity") return true;
    return n.op_type == "Dropout" && is_identity_dropout(graph, info, n, ctx.opset(""));
  };

  // Outputs that are not graph outputs: all such nodes go at once, their readers rewired to the
  // end of each alias chain. Removing one never changes whether another qualifies.
  const UseInfo info = analyze(graph);
  std::map<std::string, std::string> alias;
  std::set<size_t> dead;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    if (!removable(info, n) || info.graph_outputs.count(n.outputs[0])) continue;
    alias[n.outputs[0]] = n.inputs[0];
    dead.insert(i);
  }
  auto resolve = [&](std::string name) {
    for (size_t hops = 0; hops <= alias.size(); ++hops) {
      auto it = alias.find(name);
      if (it == alias.end()) break;
      name = it->second;
    }
    return name;
  };
  if (!dead.empty()) {
    for (auto& n : graph.nodes)
      for (auto& in : n.inputs)
        if (!in.empty()) in = resolve(in);
    remove_nodes(graph, dead);
  }
  bool changed = !dead.empty();

  // Graph outputs: the producer of the input takes the output's name. Rare (one per output at
  // most), so one at a time with fresh use information.
  for (bool again = true; again;) {
    again = false;
    const UseInfo now = analyze(graph);
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& n = graph.nodes[i];
      if (!removable(now, n)) continue;
      const std::string in = n.inputs[0], out = n.outputs[0];
      auto p = now.producer.find(in);
      if (p == now.producer.end() || now.escapes(in)) continue;
      for (auto& o : graph.nodes[p->second].outputs)
        if (o == in) o = out;
      replace_uses(graph, in, out);
      remove_nodes(graph, {i});
      changed = again = true;
      break;
    }
  }
  return changed;
}

}  // namespace nalar::graph
