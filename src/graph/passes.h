// The individual passes and the graph queries they share. Each pass returns whether it changed
// the graph; errors are reserved for broken invariants (a pass that cannot apply just skips).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "nalar/status.h"
#include "onnx/model.h"

namespace nalar::graph {

struct PassContext {
  std::map<std::string, int64_t> opsets;
  int level = 0;

  int64_t opset(const std::string& domain) const {
    auto it = opsets.find(canonical_domain(domain));
    return it == opsets.end() ? 0 : it->second;
  }
};

// Who uses what in one graph (not its subgraphs' internals). Rebuilt by every pass: cheap, and
// never stale.
struct UseInfo {
  std::map<std::string, int> node_uses;    // name -> number of node-input slots reading it
  std::map<std::string, size_t> producer;  // name -> index of the node producing it
  std::set<std::string> graph_inputs;
  std::set<std::string> graph_outputs;
  std::set<std::string> subgraph_refs;  // names mentioned anywhere inside nested graphs

  int uses(const std::string& name) const {
    auto it = node_uses.find(name);
    return it == node_uses.end() ? 0 : it->second;
  }
  // Read by something other than this graph's node inputs: the caller, or a nested graph.
  bool escapes(const std::string& name) const {
    return graph_outputs.count(name) || subgraph_refs.count(name);
  }
  bool unused(const std::string& name) const { return uses(name) == 0 && !escapes(name); }
};

UseInfo analyze(const Graph& graph);

// True when the node carries a graph attribute (If/Loop/Scan bodies).
bool has_subgraph(const Node& node);
// Adds every name a node's graph attributes mention (inputs and outputs of their nodes, their
// graph outputs, recursively): a superset of what they capture from enclosing scopes.
void collect_subgraph_refs(const Node& node, std::set<std::string>& names);

// The initializer's value when `name` is a constant for the session's life: an initializer that
// is not also a graph input (those are overridable defaults). nullptr otherwise.
const Tensor* constant_value(const Graph& graph, const UseInfo& info, const std::string& name);

// A name not used anywhere in the graph or its subgraphs, derived from `base`.
std::string unique_name(const Graph& graph, const UseInfo& info, const std::string& base);

// Node indices in dependency order (graph inputs and initializers are ready). Nodes on a cycle
// are left out; the planner reports cycles.
std::vector<size_t> topological_order(const Graph& graph);

// Replaces every node-input use of `from` with `to` in this graph's nodes.
void replace_uses(Graph& graph, const std::string& from, const std::string& to);

// Removes the nodes whose index is in `dead`, keeping the order of the rest.
void remove_nodes(Graph& graph, const std::set<size_t>& dead);

Result<bool> eliminate_dead_code(Graph& graph, const PassContext& ctx);
Result<bool> eliminate_identities(Graph& graph, const PassContext& ctx);
Result<bool> fold_constants(Graph& graph, const PassContext& ctx);
Result<bool> fold_conv_batchnorm(Graph& graph, const PassContext& ctx);
// Level 2: Conv followed by Mul/Add with a per-output-channel constant.
Result<bool> fold_conv_mul_add(Graph& graph, const PassContext& ctx);
// Level 2: decomposed LayerNorm and GELU, MatMul + bias (+ GELU) into fused nodes.
Result<bool> fuse_transformer_patterns(Graph& graph, const PassContext& ctx);
// Level 2: Conv [+ residual Add] [+ activation] -> com.microsoft FusedConv.
Result<bool> fuse_conv_activation(Graph& graph, const PassContext& ctx);
// Level 2, last: 2-D float activations stay NHWC across conv chains (layout_propagation.cc).
Result<bool> propagate_nhwc_layout(Graph& graph, const PassContext& ctx);

}  // namespace nalar::graph
