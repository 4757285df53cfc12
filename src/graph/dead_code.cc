// Dead code elimination: keeps only the nodes that graph outputs depend on, then drops
// initializers nothing reads. Liveness flows backwards from the graph outputs through node inputs
// and through every name a node's subgraphs mention (an If/Loop/Scan body may read an outer value
// by name without listing it as an input).
#include "graph/passes.h"

namespace nalar::graph {

Result<bool> eliminate_dead_code(Graph& graph, const PassContext& /*ctx*/) {
  const UseInfo info = analyze(graph);
  std::set<std::string> live;
  std::vector<std::string> work;
  auto mark = [&](const std::string& name) {
    if (!name.empty() && live.insert(name).second) work.push_back(name);
  };
  for (const auto& out : graph.outputs) mark(out.name);
  std::vector<bool> live_node(graph.nodes.size(), false);
  while (!work.empty()) {
    std::string name = std::move(work.back());
    work.pop_back();
    auto it = info.producer.find(name);
    if (it == info.producer.end() || live_node[it->second]) continue;
    live_node[it->second] = true;
    const Node& n = graph.nodes[it->second];
    for (const auto& in : n.inputs) mark(in);
    std::set<std::string> refs;
    collect_subgraph_refs(n, refs);
    for (const auto& r : refs) mark(r);
  }

  std::set<size_t> dead;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    if (!live_node[i]) dead.insert(i);
  remove_nodes(graph, dead);

  bool changed = !dead.empty();
  for (auto it = graph.initializers.begin(); it != graph.initializers.end();) {
    if (!live.count(it->first) && !info.graph_inputs.count(it->first)) {
      it = graph.initializers.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  return changed;
}

}  // namespace nalar::graph
