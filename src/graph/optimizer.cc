// The pass driver: runs the passes of the requested level in rounds until a round changes
// nothing. Each pass is linear-ish in the graph size, and real graphs settle in two or three
// rounds, so the cap only guards against a pass pair that would undo each other.
#include "graph/optimizer.h"

#include <set>

#include "graph/passes.h"

namespace nalar {

namespace {

// Passes assume a well-formed graph: acyclic, every value defined. A broken one is left as is,
// so that the planner reports the problem in the model's own terms.
bool well_formed(const Graph& graph) {
  if (graph::topological_order(graph).size() != graph.nodes.size()) return false;
  std::set<std::string> defined;
  for (const auto& in : graph.inputs) defined.insert(in.name);
  for (const auto& [name, t] : graph.initializers) defined.insert(name);
  for (const auto& n : graph.nodes)
    for (const auto& o : n.outputs)
      if (!o.empty() && !defined.insert(o).second) return false;  // defined twice
  for (const auto& n : graph.nodes)
    for (const auto& in : n.inputs)
      if (!in.empty() && !defined.count(in)) return false;
  for (const auto& out : graph.outputs)
    if (!defined.count(out.name)) return false;
  return true;
}

}  // namespace

Status optimize_graph(Graph& graph, const std::map<std::string, int64_t>& opsets, int level) {
  if (level <= kOptNone || !well_formed(graph)) return Status::ok();
  graph::PassContext ctx;
  ctx.opsets = opsets;
  ctx.level = level;
  using Pass = Result<bool> (*)(Graph&, const graph::PassContext&);
  std::vector<Pass> passes = {graph::eliminate_dead_code, graph::eliminate_identities,
                              graph::fold_constants, graph::fold_conv_batchnorm};
  if (level >= kOptExtended) {
    passes.push_back(graph::fold_conv_mul_add);
    passes.push_back(graph::fuse_transformer_patterns);
  }
  constexpr int kMaxRounds = 8;
  for (int round = 0; round < kMaxRounds; ++round) {
    bool changed = false;
    for (Pass pass : passes) {
      NALAR_ASSIGN_OR_RETURN(bool c, pass(graph, ctx));
      changed = changed || c;
    }
    if (!changed) break;
  }
  // Fusion comes after folding has settled, so that BatchNormalization and per-channel Mul/Add
  // are already inside the Conv it fuses.
  if (level >= kOptExtended) {
    NALAR_ASSIGN_OR_RETURN(bool fused, graph::fuse_conv_activation(graph, ctx));
    (void)fused;
  }
  // Folding leaves replaced weights behind; one last sweep drops them.
  NALAR_ASSIGN_OR_RETURN(bool unused, graph::eliminate_dead_code(graph, ctx));
  (void)unused;
  // Layouts are chosen on the final graph: no later pass may see an NHWC value.
  if (level >= kOptExtended) {
    NALAR_ASSIGN_OR_RETURN(bool nhwc, graph::propagate_nhwc_layout(graph, ctx));
    (void)nhwc;
  }
  return Status::ok();
}

}  // namespace nalar
