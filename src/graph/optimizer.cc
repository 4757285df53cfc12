// The pass driver: runs the passes of the requested level in rounds until a round changes
// nothing. Each pass is linear-ish in the graph size, and real graphs settle in two or three
// rounds, so the cap only guards against a pass pair that would undo each other.
#include "graph/optimizer.h"

#include "graph/passes.h"

namespace nalar {

Status optimize_graph(Graph& graph, const std::map<std::string, int64_t>& opsets, int level) {
  if (level <= kOptNone) return Status::ok();
  graph::PassContext ctx;
  ctx.opsets = opsets;
  ctx.level = level;
  using Pass = Result<bool> (*)(Graph&, const graph::PassContext&);
  std::vector<Pass> passes = {graph::eliminate_dead_code, graph::eliminate_identities,
                              graph::fold_constants, graph::fold_conv_batchnorm};
  if (level >= kOptExtended) passes.push_back(graph::fold_conv_mul_add);
  constexpr int kMaxRounds = 8;
  for (int round = 0; round < kMaxRounds; ++round) {
    bool changed = false;
    for (Pass pass : passes) {
      NALAR_ASSIGN_OR_RETURN(bool c, pass(graph, ctx));
      changed = changed || c;
    }
    if (!changed) break;
  }
  // Folding leaves replaced weights behind; one last sweep drops them.
  NALAR_ASSIGN_OR_RETURN(bool unused, graph::eliminate_dead_code(graph, ctx));
  (void)unused;
  return Status::ok();
}

}  // namespace nalar
