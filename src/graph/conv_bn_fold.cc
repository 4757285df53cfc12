// Folding per-output-channel affine ops into a preceding Conv's constant weights:
//   Conv -> BatchNormalization (inference)   W' = W * s,  B' = (B - mean) * s + beta,
//                                            s = gamma / sqrt(var + eps)           (level 1)
//   Conv -> Mul by c[M]                      W' = W * c,  B' = B * c               (level 2)
//   Conv -> Add of c[M]                      B' = B + c                            (level 2)
// Only when the Conv's output feeds that one node and nothing else, and every parameter is a
// float constant. New weights get new names (the old ones may be shared with other nodes; dead
// code elimination drops them when they are not). Arithmetic is in double, rounded once.
#include <cmath>
#include <optional>

#include "graph/passes.h"

namespace nalar::graph {

namespace {

struct ConvMatch {
  size_t node = 0;
  const Tensor* w = nullptr;
  const Tensor* b = nullptr;  // nullptr when the Conv has no bias
  int64_t channels = 0;       // M, the output channels
  size_t consumer = 0;        // the single node reading the Conv's output
};

bool is_float_constant(const Tensor* t) { return t && t->dtype() == DataType::kFloat; }

// Finds node i as a Conv with constant float weights whose output has exactly one reader.
std::optional<ConvMatch> match_conv(const Graph& g, const UseInfo& info,
                                    const std::map<std::string, std::vector<size_t>>& readers,
                                    size_t i) {
  const Node& n = g.nodes[i];
  if (n.op_type != "Conv" || !n.domain.empty() || n.inputs.size() < 2 || n.outputs.empty())
    return std::nullopt;
  ConvMatch m;
  m.node = i;
  m.w = constant_value(g, info, n.inputs[1]);
  if (!is_float_constant(m.w) || m.w->rank() < 3 || m.w->dim(0) <= 0) return std::nullopt;
  m.channels = m.w->dim(0);
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    m.b = constant_value(g, info, n.inputs[2]);
    if (!is_float_constant(m.b) || m.b->rank() != 1 || m.b->size() != m.channels)
      return std::nullopt;
  }
  const std::string& y = n.outputs[0];
  if (y.empty() || info.escapes(y) || info.uses(y) != 1) return std::nullopt;
  for (size_t o = 1; o < n.outputs.size(); ++o)
    if (!n.outputs[o].empty()) return std::nullopt;
  auto r = readers.find(y);
  if (r == readers.end() || r->second.size() != 1) return std::nullopt;
  m.consumer = r->second[0];
  return m;
}

std::map<std::string, std::vector<size_t>> reader_map(const Graph& g) {
  std::map<std::string, std::vector<size_t>> readers;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs)
      if (!in.empty()) readers[in].push_back(i);
  return readers;
}

// Rewrites the Conv with per-channel weight scale and bias (both length M; scale may be empty
// for "unchanged"), takes over the consumer's output, and marks the consumer dead.
void rewrite(Graph& g, const UseInfo& info, const ConvMatch& m, const std::vector<double>& scale,
             const std::vector<double>& bias, std::set<size_t>& dead) {
  Node& conv = g.nodes[m.node];
  if (!scale.empty()) {
    Tensor w = Tensor::create(DataType::kFloat, m.w->shape());
    const int64_t per_channel = m.w->size() / m.channels;
    const float* src = m.w->data<float>();
    float* dst = w.data<float>();
    for (int64_t c = 0; c < m.channels; ++c)
      for (int64_t k = 0; k < per_channel; ++k) {
        const int64_t at = c * per_channel + k;
        dst[at] = static_cast<float>(static_cast<double>(src[at]) * scale[static_cast<size_t>(c)]);
      }
    const std::string name = unique_name(g, info, conv.inputs[1] + "_folded");
    g.initializers[name] = std::move(w);
    conv.inputs[1] = name;
  }
  if (!bias.empty()) {
    Tensor b = Tensor::create(DataType::kFloat, {m.channels});
    for (int64_t c = 0; c < m.channels; ++c)
      b.data<float>()[c] = static_cast<float>(bias[static_cast<size_t>(c)]);
    const std::string name =
        unique_name(g, info, (conv.name.empty() ? conv.inputs[1] : conv.name) + "_bias_folded");
    g.initializers[name] = std::move(b);
    conv.inputs.resize(3);
    conv.inputs[2] = name;
  }
  conv.outputs[0] = g.nodes[m.consumer].outputs[0];
  dead.insert(m.consumer);
}

double bias_at(const ConvMatch& m, int64_t c) {
  return m.b ? static_cast<double>(m.b->data<float>()[c]) : 0.0;
}

}  // namespace

Result<bool> fold_conv_batchnorm(Graph& graph, const PassContext& ctx) {
  const UseInfo info = analyze(graph);
  const auto readers = reader_map(graph);
  const int64_t opset = ctx.opset("");
  std::set<size_t> dead;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    auto m = match_conv(graph, info, readers, i);
    if (!m || dead.count(m->consumer)) continue;
    const Node& bn = graph.nodes[m->consumer];
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.inputs.size() < 5 ||
        bn.inputs[0] != graph.nodes[i].outputs[0] || bn.outputs.empty() || bn.outputs[0].empty())
      continue;
    // Training mode (BN-14's attribute, or extra statistics outputs someone reads) and
    // per-activation normalisation (spatial=0 before BN-9) are not per-channel affine maps.
    if (bn.get_int("training_mode", 0) != 0) continue;
    if (opset < 9 && bn.get_int("spatial", 1) == 0) continue;
    bool extra_outputs = false;
    for (size_t o = 1; o < bn.outputs.size(); ++o)
      extra_outputs = extra_outputs || !info.unused(bn.outputs[o]);
    if (extra_outputs) continue;
    const Tensor* p[4];
    bool ok = true;
    for (size_t k = 0; k < 4; ++k) {
      p[k] = constant_value(graph, info, bn.inputs[k + 1]);
      ok = ok && is_float_constant(p[k]) && p[k]->size() == m->channels;
    }
    if (!ok) continue;
    const double eps = static_cast<double>(bn.get_float("epsilon", 1e-5f));
    std::vector<double> scale(static_cast<size_t>(m->channels)), bias(scale.size());
    for (int64_t c = 0; c < m->channels; ++c) {
      const double gamma = p[0]->data<float>()[c], beta = p[1]->data<float>()[c],
                   mean = p[2]->data<float>()[c], var = p[3]->data<float>()[c];
      const double s = gamma / std::sqrt(var + eps);
      scale[static_cast<size_t>(c)] = s;
      bias[static_cast<size_t>(c)] = (bias_at(*m, c) - mean) * s + beta;
    }
    rewrite(graph, info, *m, scale, bias, dead);
  }
  remove_nodes(graph, dead);
  return !dead.empty();
}

Result<bool> fold_conv_mul_add(Graph& graph, const PassContext& ctx) {
  const int64_t opset = ctx.opset("");
  if (opset < 7) return false;  // Mul/Add before 7 broadcast by `axis`, not numpy-style
  const UseInfo info = analyze(graph);
  const auto readers = reader_map(graph);
  std::set<size_t> dead;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    auto m = match_conv(graph, info, readers, i);
    if (!m || dead.count(m->consumer)) continue;
    const Node& op = graph.nodes[m->consumer];
    const bool is_mul = op.op_type == "Mul", is_add = op.op_type == "Add";
    if (!(is_mul || is_add) || !op.domain.empty() || op.inputs.size() != 2 ||
        op.outputs.size() != 1 || op.outputs[0].empty())
      continue;
    const std::string& y = graph.nodes[i].outputs[0];
    if (op.inputs[0] == op.inputs[1]) continue;
    const std::string& other = op.inputs[0] == y ? op.inputs[1] : op.inputs[0];
    const Tensor* c = constant_value(graph, info, other);
    if (!is_float_constant(c)) continue;
    // c must broadcast over [N, M, spatial...] without changing that shape, varying (if at all)
    // only along the channel axis.
    const int64_t rank = m->w->rank();
    if (c->rank() > rank) continue;
    bool per_channel = true;
    bool varies = false;
    for (int64_t d = 0; d < c->rank(); ++d) {
      const int64_t axis = rank - c->rank() + d;
      const int64_t size = c->dim(d);
      if (axis == 1 && size == m->channels)
        varies = size != 1;
      else if (size != 1)
        per_channel = false;
    }
    if (!per_channel) continue;
    auto value = [&](int64_t ch) { return static_cast<double>(c->data<float>()[varies ? ch : 0]); };
    std::vector<double> scale, bias;
    if (is_mul) {
      scale.resize(static_cast<size_t>(m->channels));
      for (int64_t ch = 0; ch < m->channels; ++ch) scale[static_cast<size_t>(ch)] = value(ch);
      if (m->b) {
        bias.resize(scale.size());
        for (int64_t ch = 0; ch < m->channels; ++ch)
          bias[static_cast<size_t>(ch)] = bias_at(*m, ch) * value(ch);
      }
    } else {
      bias.resize(static_cast<size_t>(m->channels));
      for (int64_t ch = 0; ch < m->channels; ++ch)
        bias[static_cast<size_t>(ch)] = bias_at(*m, ch) + value(ch);
    }
    rewrite(graph, info, *m, scale, bias, dead);
  }
  remove_nodes(graph, dead);
  return !dead.empty();
}

}  // namespace nalar::graph
