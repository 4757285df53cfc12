// Transformer fusions (level 2), matching what exporters emit for BERT/ViT-style encoders:
//   LayerNorm decomposed as ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add
//     -> com.nalar LayerNormalization (the opset-17 kernel, usable from any opset)
//   GELU as x * (1 + Erf(x / sqrt 2)) * 0.5 (or (x * 0.5) * (...))  -> com.microsoft Gelu
//   MatMul(X, constant W[K,N]) + constant bias[N]  -> com.nalar FusedMatMul (bias in the GEMM)
//   FusedMatMul -> Gelu                             -> FusedMatMul with activation "Gelu"
//   [Transpose ->] MatMul [<- Transpose] [-> Div/Mul scalar] [-> Transpose]
//                                                   -> com.nalar PermutedMatMul (strided)
//   Add -> fused LayerNormalization                 -> com.nalar SkipLayerNormalization
//   Add -> Softmax (last axis)                      -> com.nalar AddSoftmax
// Every intermediate value must be read by the matched nodes only (one reader each, never a
// graph output or captured by a subgraph), so the rewrite cannot change what anyone observes.
#include <cmath>
#include <optional>

#include "graph/passes.h"

namespace nalar::graph {

namespace {

class Matcher {
 public:
  explicit Matcher(Graph& g) : g_(g), info_(analyze(g)) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
      for (const auto& in : g.nodes[i].inputs)
        if (!in.empty()) readers_[in].push_back(i);
  }

  Graph& graph() { return g_; }
  const UseInfo& info() const { return info_; }
  std::set<size_t>& dead() { return dead_; }

  // The one live node reading `value`, when nothing else observes it.
  std::optional<size_t> sole_reader(const std::string& value) const {
    if (value.empty() || info_.escapes(value) || info_.uses(value) != 1) return std::nullopt;
    auto it = readers_.find(value);
    if (it == readers_.end() || it->second.size() != 1 || dead_.count(it->second[0]))
      return std::nullopt;
    return it->second[0];
  }
  const std::vector<size_t>& readers(const std::string& value) const {
    static const std::vector<size_t> kNone;
    auto it = readers_.find(value);
    return it == readers_.end() ? kNone : it->second;
  }

  // node i as an ai.onnx `op` with `n_in` inputs and one output.
  const Node* op(size_t i, const char* type, size_t n_in) const {
    const Node& n = g_.nodes[i];
    if (n.op_type != type || !n.domain.empty() || n.inputs.size() != n_in ||
        n.outputs.size() != 1 || n.outputs[0].empty() || dead_.count(i))
      return nullptr;
    return &n;
  }

  const Tensor* float_const(const std::string& name) const {
    const Tensor* t = constant_value(g_, info_, name);
    return t && t->dtype() == DataType::kFloat ? t : nullptr;
  }
  std::optional<double> scalar(const std::string& name) const {
    const Tensor* t = float_const(name);
    if (!t || t->size() != 1) return std::nullopt;
    return static_cast<double>(t->data<float>()[0]);
  }

  // For a binary node reading `x`, its other input (nullopt when both are x).
  static std::optional<std::string> other(const Node& n, const std::string& x) {
    if (n.inputs[0] == n.inputs[1]) return std::nullopt;
    if (n.inputs[0] == x) return n.inputs[1];
    if (n.inputs[1] == x) return n.inputs[0];
    return std::nullopt;
  }

  // ReduceMean over the last axis only, keeping dims (axes as attribute, or as input from 18).
  bool reduce_last(size_t i) const {
    const Node& n = g_.nodes[i];
    if (n.op_type != "ReduceMean" || !n.domain.empty() || n.inputs.empty() ||
        n.outputs.size() != 1 || n.outputs[0].empty() || dead_.count(i))
      return false;
    if (n.get_int("keepdims", 1) != 1) return false;
    std::vector<int64_t> axes = n.get_ints("axes");
    if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
      const Tensor* t = constant_value(g_, info_, n.inputs[1]);
      if (!t || t->dtype() != DataType::kInt64 || t->size() != 1 || !axes.empty()) return false;
      axes = {t->data<int64_t>()[0]};
    } else if (n.inputs.size() > 2) {
      return false;
    }
    return axes == std::vector<int64_t>{-1};
  }

 private:
  Graph& g_;
  UseInfo info_;
  std::map<std::string, std::vector<size_t>> readers_;
  std::set<size_t> dead_;
};

bool near(double v, double want) { return std::fabs(v - want) <= 1e-6 * std::fabs(want); }

Attribute float_attr(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kFloat;
  a.f = v;
  return a;
}
Attribute int_attr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInt;
  a.i = v;
  return a;
}
Attribute string_attr(const std::string& name, const std::string& v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kString;
  a.s = v;
  return a;
}

// Replaces node `at` with `fused` (keeping its place) and marks `others` dead.
void replace(Matcher& m, size_t at, Node fused, std::initializer_list<size_t> others) {
  m.graph().nodes[at] = std::move(fused);
  for (size_t i : others)
    if (i != at) m.dead().insert(i);
}

bool try_layer_norm(Matcher& m, size_t i) {
  const Graph& g = m.graph();
  if (!m.reduce_last(i)) return false;
  const std::string& x = g.nodes[i].inputs[0];
  auto is = m.sole_reader(g.nodes[i].outputs[0]);
  if (!is) return false;
  const Node* sub = m.op(*is, "Sub", 2);
  if (!sub || sub->inputs[0] != x || sub->inputs[1] != g.nodes[i].outputs[0]) return false;
  const std::string& d = sub->outputs[0];
  if (m.info().escapes(d) || m.info().uses(d) != 2 || m.readers(d).size() != 2) return false;
  std::optional<size_t> ipow, idiv;
  for (size_t r : m.readers(d)) {
    if (m.op(r, "Pow", 2) && g.nodes[r].inputs[0] == d) ipow = r;
    if (m.op(r, "Div", 2) && g.nodes[r].inputs[0] == d) idiv = r;
  }
  if (!ipow || !idiv || *ipow == *idiv) return false;
  auto two = m.scalar(g.nodes[*ipow].inputs[1]);
  if (!two || *two != 2.0) return false;
  auto ir2 = m.sole_reader(g.nodes[*ipow].outputs[0]);
  if (!ir2 || !m.reduce_last(*ir2) || g.nodes[*ir2].inputs[0] != g.nodes[*ipow].outputs[0])
    return false;
  auto iadd = m.sole_reader(g.nodes[*ir2].outputs[0]);
  const Node* add = iadd ? m.op(*iadd, "Add", 2) : nullptr;
  if (!add) return false;
  auto eps_name = Matcher::other(*add, g.nodes[*ir2].outputs[0]);
  auto eps = eps_name ? m.scalar(*eps_name) : std::nullopt;
  if (!eps || !(*eps >= 0)) return false;
  auto isqrt = m.sole_reader(add->outputs[0]);
  const Node* sq = isqrt ? m.op(*isqrt, "Sqrt", 1) : nullptr;
  if (!sq || m.sole_reader(sq->outputs[0]) != idiv || g.nodes[*idiv].inputs[1] != sq->outputs[0])
    return false;
  // The affine tail: Mul by gamma[N], then optionally Add of beta[N].
  auto imul = m.sole_reader(g.nodes[*idiv].outputs[0]);
  const Node* mul = imul ? m.op(*imul, "Mul", 2) : nullptr;
  if (!mul) return false;
  auto gamma_name = Matcher::other(*mul, g.nodes[*idiv].outputs[0]);
  const Tensor* gamma = gamma_name ? m.float_const(*gamma_name) : nullptr;
  if (!gamma || gamma->rank() != 1 || gamma->size() < 1) return false;
  std::string beta_name, out = mul->outputs[0];
  size_t last = *imul;
  if (auto ib = m.sole_reader(mul->outputs[0])) {
    const Node* badd = m.op(*ib, "Add", 2);
    auto bn = badd ? Matcher::other(*badd, mul->outputs[0]) : std::nullopt;
    const Tensor* beta = bn ? m.float_const(*bn) : nullptr;
    if (beta && beta->rank() == 1 && beta->size() == gamma->size()) {
      beta_name = *bn;
      out = badd->outputs[0];
      last = *ib;
    }
  }
  Node ln;
  ln.name = g.nodes[last].name.empty() ? out + "_layernorm" : g.nodes[last].name + "_layernorm";
  ln.op_type = "LayerNormalization";
  ln.domain = "com.nalar";
  ln.inputs = {x, *gamma_name};
  if (!beta_name.empty()) ln.inputs.push_back(beta_name);
  ln.outputs = {out};
  ln.attributes["axis"] = int_attr("axis", -1);
  ln.attributes["epsilon"] = float_attr("epsilon", static_cast<float>(*eps));
  replace(m, last, std::move(ln), {i, *is, *ipow, *idiv, *ir2, *iadd, *isqrt, *imul});
  return true;
}

bool try_gelu(Matcher& m, size_t i) {
  const Graph& g = m.graph();
  const Node* erf = m.op(i, "Erf", 1);
  if (!erf) return false;
  // u = x / sqrt(2) or x * (1 / sqrt(2))
  auto producer = m.info().producer.find(erf->inputs[0]);
  if (producer == m.info().producer.end()) return false;
  const size_t iscale = producer->second;
  if (m.sole_reader(erf->inputs[0]) != i) return false;
  const Node& sc = g.nodes[iscale];
  std::string x;
  if (m.op(iscale, "Div", 2)) {
    auto c = m.scalar(sc.inputs[1]);
    if (!c || !near(*c, std::sqrt(2.0))) return false;
    x = sc.inputs[0];
  } else if (m.op(iscale, "Mul", 2)) {
    for (int k = 0; k < 2 && x.empty(); ++k) {
      auto c = m.scalar(sc.inputs[static_cast<size_t>(k)]);
      if (c && near(*c, std::sqrt(0.5))) x = sc.inputs[static_cast<size_t>(1 - k)];
    }
    if (x.empty()) return false;
  } else {
    return false;
  }
  auto iadd = m.sole_reader(erf->outputs[0]);
  const Node* add = iadd ? m.op(*iadd, "Add", 2) : nullptr;
  auto one_name = add ? Matcher::other(*add, erf->outputs[0]) : std::nullopt;
  auto one = one_name ? m.scalar(*one_name) : std::nullopt;
  if (!one || *one != 1.0) return false;
  auto im1 = m.sole_reader(add->outputs[0]);
  const Node* m1 = im1 ? m.op(*im1, "Mul", 2) : nullptr;
  if (!m1) return false;
  auto partner = Matcher::other(*m1, add->outputs[0]);
  if (!partner) return false;
  std::string out;
  size_t last = 0, ihalf = 0;
  if (*partner == x) {
    // (x * (1 + erf)) * 0.5
    auto im2 = m.sole_reader(m1->outputs[0]);
    const Node* m2 = im2 ? m.op(*im2, "Mul", 2) : nullptr;
    auto h = m2 ? Matcher::other(*m2, m1->outputs[0]) : std::nullopt;
    auto half = h ? m.scalar(*h) : std::nullopt;
    if (!half || *half != 0.5) return false;
    out = m2->outputs[0];
    last = ihalf = *im2;
  } else {
    // (x * 0.5) * (1 + erf)
    auto p = m.info().producer.find(*partner);
    if (p == m.info().producer.end() || m.sole_reader(*partner) != im1) return false;
    const Node* hm = m.op(p->second, "Mul", 2);
    auto h = hm ? Matcher::other(*hm, x) : std::nullopt;
    auto half = h ? m.scalar(*h) : std::nullopt;
    if (!half || *half != 0.5) return false;
    out = m1->outputs[0];
    last = *im1;
    ihalf = p->second;
  }
  Node gelu;
  gelu.name = g.nodes[last].name.empty() ? out + "_gelu" : g.nodes[last].name + "_gelu";
  gelu.op_type = "Gelu";
  gelu.domain = "com.microsoft";
  gelu.inputs = {x};
  gelu.outputs = {out};
  replace(m, last, std::move(gelu), {iscale, i, *iadd, *im1, ihalf});
  return true;
}

bool try_matmul_bias(Matcher& m, size_t i) {
  const Node* mm = m.op(i, "MatMul", 2);
  if (!mm) return false;
  const Tensor* w = m.float_const(mm->inputs[1]);
  if (!w || w->rank() != 2 || w->size() == 0) return false;
  auto iadd = m.sole_reader(mm->outputs[0]);
  const Node* add = iadd ? m.op(*iadd, "Add", 2) : nullptr;
  auto bias_name = add ? Matcher::other(*add, mm->outputs[0]) : std::nullopt;
  const Tensor* bias = bias_name ? m.float_const(*bias_name) : nullptr;
  if (!bias || bias->rank() != 1 || bias->size() != w->dim(1)) return false;
  Node fused;
  fused.name = mm->name.empty() ? add->outputs[0] + "_matmul" : mm->name + "_bias";
  fused.op_type = "FusedMatMul";
  fused.domain = "com.nalar";
  fused.inputs = {mm->inputs[0], mm->inputs[1], *bias_name};
  fused.outputs = {add->outputs[0]};
  replace(m, *iadd, std::move(fused), {i});
  return true;
}

bool try_matmul_gelu(Matcher& m, size_t i) {
  Graph& g = m.graph();
  const Node& mm = g.nodes[i];
  if (mm.op_type != "FusedMatMul" || mm.domain != "com.nalar" || mm.has("activation") ||
      mm.outputs.size() != 1 || m.dead().count(i))
    return false;
  auto ig = m.sole_reader(mm.outputs[0]);
  if (!ig) return false;
  const Node& gelu = g.nodes[*ig];
  if (gelu.op_type != "Gelu" || gelu.domain != "com.microsoft" || gelu.inputs.size() != 1 ||
      gelu.outputs.size() != 1 || gelu.outputs[0].empty())
    return false;
  Node fused = mm;
  fused.outputs = {gelu.outputs[0]};
  fused.attributes["activation"] = string_attr("activation", "Gelu");
  replace(m, *ig, std::move(fused), {i});
  return true;
}

Attribute ints_attr(const std::string& name, const std::vector<int64_t>& v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInts;
  a.ints = v;
  return a;
}

// The Transpose (with an explicit perm) producing `value` for node `reader` alone.
std::optional<size_t> transpose_into(const Matcher& m, const std::string& value, size_t reader) {
  auto p = m.info().producer.find(value);
  if (p == m.info().producer.end() || m.sole_reader(value) != reader) return std::nullopt;
  const Node* t = m.op(p->second, "Transpose", 1);
  if (!t || !t->has("perm")) return std::nullopt;
  return p->second;
}

// Transpose -> MatMul <- Transpose, then optionally Div/Mul by a scalar and a Transpose of the
// product: one strided PermutedMatMul (attention's Q x K^T / sqrt(d) and probs x V).
bool try_permuted_matmul(Matcher& m, size_t i) {
  const Graph& g = m.graph();
  const Node* mm = m.op(i, "MatMul", 2);
  if (!mm) return false;
  Node fused;
  fused.op_type = "PermutedMatMul";
  fused.domain = "com.nalar";
  fused.name = mm->name.empty() ? mm->outputs[0] + "_permuted" : mm->name + "_permuted";
  fused.inputs = mm->inputs;
  std::vector<size_t> absorbed;
  const char* perm_names[2] = {"perm_a", "perm_b"};
  for (size_t k = 0; k < 2; ++k) {
    if (mm->inputs[0] == mm->inputs[1]) break;
    if (auto t = transpose_into(m, mm->inputs[k], i)) {
      fused.inputs[k] = g.nodes[*t].inputs[0];
      fused.attributes[perm_names[k]] = ints_attr(perm_names[k], g.nodes[*t].get_ints("perm"));
      absorbed.push_back(*t);
    }
  }
  std::string out = mm->outputs[0];
  size_t last = i;
  if (auto is = m.sole_reader(out)) {
    const Node& sn = g.nodes[*is];
    const bool div = m.op(*is, "Div", 2) && sn.inputs[0] == out;
    const bool mul = m.op(*is, "Mul", 2) != nullptr;
    auto c_name = (div || mul) ? Matcher::other(sn, out) : std::nullopt;
    auto c = c_name ? m.scalar(*c_name) : std::nullopt;
    if (c && *c != 0.0 && std::isfinite(*c)) {
      fused.attributes["alpha"] = float_attr("alpha", static_cast<float>(div ? 1.0 / *c : *c));
      absorbed.push_back(last);
      last = *is;
      out = sn.outputs[0];
    }
  }
  if (auto it = m.sole_reader(out)) {
    const Node* t = m.op(*it, "Transpose", 1);
    if (t && t->has("perm")) {
      fused.attributes["perm_y"] = ints_attr("perm_y", t->get_ints("perm"));
      absorbed.push_back(last);
      last = *it;
      out = t->outputs[0];
    }
  }
  if (absorbed.empty()) return false;
  fused.outputs = {out};
  m.graph().nodes[last] = std::move(fused);
  for (size_t a : absorbed)
    if (a != last) m.dead().insert(a);
  return true;
}

// Add(A, B) read only by a fused LayerNormalization with Scale and B given
//   -> com.nalar SkipLayerNormalization(A, B, Scale, B)
bool try_skip_layer_norm(Matcher& m, size_t i) {
  const Graph& g = m.graph();
  const Node* add = m.op(i, "Add", 2);
  if (!add || add->inputs[0] == add->inputs[1]) return false;
  auto il = m.sole_reader(add->outputs[0]);
  if (!il) return false;
  const Node& ln = g.nodes[*il];
  if (ln.op_type != "LayerNormalization" || ln.domain != "com.nalar" || ln.inputs.size() != 3 ||
      ln.inputs[0] != add->outputs[0] || ln.outputs.size() != 1 || ln.get_int("axis", -1) != -1)
    return false;
  Node fused;
  fused.name = ln.name + "_skip";
  fused.op_type = "SkipLayerNormalization";
  fused.domain = "com.nalar";
  fused.inputs = {add->inputs[0], add->inputs[1], ln.inputs[1], ln.inputs[2]};
  fused.outputs = ln.outputs;
  fused.attributes["epsilon"] = float_attr("epsilon", ln.get_float("epsilon", 1e-5f));
  replace(m, *il, std::move(fused), {i});
  return true;
}

// Add(A, B) read only by a Softmax over the last axis -> com.nalar AddSoftmax(A, B).
bool try_add_softmax(Matcher& m, size_t i, int64_t opset) {
  const Node* add = m.op(i, "Add", 2);
  if (!add) return false;
  auto is = m.sole_reader(add->outputs[0]);
  const Node* sm = is ? m.op(*is, "Softmax", 1) : nullptr;
  if (!sm) return false;
  // Before opset 13, Softmax flattens at `axis` (default 1): the last axis only when said so.
  const int64_t axis = sm->get_int("axis", opset >= 13 ? -1 : 1);
  if (axis != -1) return false;
  Node fused;
  fused.name = sm->name + "_add";
  fused.op_type = "AddSoftmax";
  fused.domain = "com.nalar";
  fused.inputs = add->inputs;
  fused.outputs = sm->outputs;
  replace(m, *is, std::move(fused), {i});
  return true;
}

}  // namespace

Result<bool> fuse_transformer_patterns(Graph& graph, const PassContext& ctx) {
  if (ctx.opset("") < 7) return false;  // numpy broadcasting for the elementwise ops
  bool changed = false;
  // One pattern family per sweep: a rewrite invalidates the use counts the others rely on.
  for (auto pattern : {try_layer_norm, try_gelu, try_matmul_bias, try_matmul_gelu,
                       try_permuted_matmul, try_skip_layer_norm}) {
    Matcher m(graph);
    for (size_t i = 0; i < graph.nodes.size(); ++i)
      if (!m.dead().count(i)) pattern(m, i);
    if (!m.dead().empty()) {
      remove_nodes(graph, m.dead());
      changed = true;
    }
  }
  Matcher m(graph);
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    if (!m.dead().count(i)) try_add_softmax(m, i, ctx.opset(""));
  if (!m.dead().empty()) {
    remove_nodes(graph, m.dead());
    changed = true;
  }
  return changed;
}

}  // namespace nalar::graph
