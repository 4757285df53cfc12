// Graph optimisation: rewrites the IR before a Plan is compiled from it. Passes are independent of
// the kernels (constant folding borrows the kernels to evaluate, nothing more) and keep results
// exact up to float rounding.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "nalar/status.h"
#include "onnx/model.h"

namespace nalar {

// Optimisation levels, as in SessionOptions::optimization_level.
inline constexpr int kOptNone = 0;
// Dead code, Identity/Dropout elimination, constant folding, Conv+BatchNormalization folding.
inline constexpr int kOptBasic = 1;
// Basic, plus Conv followed by a per-channel constant Mul or Add folded into the Conv, the
// transformer fusions (LayerNorm, GELU, MatMul + bias [+ GELU]) and Conv [+ residual Add]
// [+ activation] fused into com.microsoft FusedConv.
inline constexpr int kOptExtended = 2;

// Optimises the main graph of a model in place. `opsets` are the model's imports (domain ->
// version). Runs the passes of `level` until none changes the graph (a few rounds at most).
Status optimize_graph(Graph& graph, const std::map<std::string, int64_t>& opsets, int level);

}  // namespace nalar
