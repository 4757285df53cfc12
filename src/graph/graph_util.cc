// Graph queries shared by the passes.
#include <algorithm>

#include "graph/passes.h"

namespace nalar::graph {

namespace {

void collect_graph_refs(const Graph& g, std::set<std::string>& names) {
  for (const auto& n : g.nodes) {
    for (const auto& in : n.inputs)
      if (!in.empty()) names.insert(in);
    for (const auto& out : n.outputs)
      if (!out.empty()) names.insert(out);
    collect_subgraph_refs(n, names);
  }
  for (const auto& out : g.outputs) names.insert(out.name);
}

}  // namespace

bool has_subgraph(const Node& node) {
  for (const auto& [name, a] : node.attributes)
    if (a.g || !a.graphs.empty()) return true;
  return false;
}

void collect_subgraph_refs(const Node& node, std::set<std::string>& names) {
  for (const auto& [name, a] : node.attributes) {
    if (a.g) collect_graph_refs(*a.g, names);
    for (const auto& g : a.graphs)
      if (g) collect_graph_refs(*g, names);
  }
}

UseInfo analyze(const Graph& graph) {
  UseInfo info;
  for (const auto& in : graph.inputs) info.graph_inputs.insert(in.name);
  for (const auto& out : graph.outputs) info.graph_outputs.insert(out.name);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    for (const auto& in : n.inputs)
      if (!in.empty()) ++info.node_uses[in];
    for (const auto& out : n.outputs)
      if (!out.empty()) info.producer[out] = i;
    collect_subgraph_refs(n, info.subgraph_refs);
  }
  return info;
}

const Tensor* constant_value(const Graph& graph, const UseInfo& info, const std::string& name) {
  if (name.empty() || info.graph_inputs.count(name)) return nullptr;
  auto it = graph.initializers.find(name);
  return it == graph.initializers.end() ? nullptr : &it->second;
}

std::string unique_name(const Graph& graph, const UseInfo& info, const std::string& base) {
  auto taken = [&](const std::string& n) {
    return graph.initializers.count(n) || info.producer.count(n) || info.graph_inputs.count(n) ||
           info.graph_outputs.count(n) || info.subgraph_refs.count(n) || info.node_uses.count(n);
  };
  if (!taken(base)) return base;
  for (int i = 1;; ++i) {
    std::string n = base + "_" + std::to_string(i);
    if (!taken(n)) return n;
  }
}

std::vector<size_t> topological_order(const Graph& graph) {
  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (const auto& o : graph.nodes[i].outputs)
      if (!o.empty()) producer[o] = i;
  std::vector<size_t> pending(graph.nodes.size(), 0);
  std::vector<std::vector<size_t>> consumers(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    std::set<size_t> deps;
    for (const auto& in : graph.nodes[i].inputs) {
      auto it = in.empty() ? producer.end() : producer.find(in);
      if (it != producer.end() && it->second != i) deps.insert(it->second);
    }
    // A subgraph may read values of this graph produced by other nodes.
    std::set<std::string> refs;
    collect_subgraph_refs(graph.nodes[i], refs);
    for (const auto& r : refs) {
      auto it = producer.find(r);
      if (it != producer.end() && it->second != i) deps.insert(it->second);
    }
    pending[i] = deps.size();
    for (size_t d : deps) consumers[d].push_back(i);
  }
  std::vector<size_t> order;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    if (pending[i] == 0) order.push_back(i);
  for (size_t q = 0; q < order.size(); ++q)
    for (size_t c : consumers[order[q]])
      if (--pending[c] == 0) order.push_back(c);
  return order;
}

void replace_uses(Graph& graph, const std::string& from, const std::string& to) {
  for (auto& n : graph.nodes)
    for (auto& in : n.inputs)
      if (in == from) in = to;
}

void remove_nodes(Graph& graph, const std::set<size_t>& dead) {
  if (dead.empty()) return;
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size() - std::min(dead.size(), graph.nodes.size()));
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    if (!dead.count(i)) kept.push_back(std::move(graph.nodes[i]));
  graph.nodes = std::move(kept);
}

}  // namespace nalar::graph
