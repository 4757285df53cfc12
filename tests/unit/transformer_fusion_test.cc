// The transformer fusions (level 2): a decomposed pattern becomes one fused node, and the
// session's outputs stay those of optimisation level 0.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/optimizer.h"
#include "nalar/session.h"
#include "onnx/loader.h"
#include "test_models.h"

using namespace nalar;

namespace {

struct Pattern {
  onnx::ModelProto m;
  onnx::GraphProto* g;

  Pattern() {
    m.set_ir_version(8);
    auto* imp = m.add_opset_import();
    imp->set_domain("");
    imp->set_version(13);
    g = m.mutable_graph();
    g->set_name("g");
  }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& in,
                        const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  }
  void reduce_mean_last(const std::string& in, const std::string& out) {
    auto* a = node("ReduceMean", {in}, out)->add_attribute();
    a->set_name("axes");
    a->set_type(onnx::AttributeProto::INTS);
    a->add_ints(-1);
  }
  void constant(const std::string& name, const std::vector<int64_t>& dims,
                const std::vector<float>& values) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }
  void io(const std::vector<int64_t>& in_dims, const std::vector<int64_t>& out_dims) {
    *g->add_input() = testmodels::value_info("x", onnx::TensorProto::FLOAT, in_dims);
    *g->add_output() = testmodels::value_info("y", onnx::TensorProto::FLOAT, out_dims);
  }
  std::string bytes() const { return testmodels::serialize(m); }
};

std::vector<float> wave(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(static_cast<float>(i) * 0.61f + 0.3f) * scale;
  return v;
}

Graph optimized(const Pattern& p) {
  std::string bytes = p.bytes();
  auto model = load_model_bytes(bytes.data(), bytes.size(), "");
  EXPECT_TRUE(model.is_ok()) << model.status().message();
  if (!model.is_ok()) return {};
  EXPECT_TRUE(optimize_graph(model->graph, model->opsets, kOptExtended).is_ok());
  return model->graph;
}

std::vector<std::string> op_types(const Graph& g) {
  std::vector<std::string> ops;
  for (const auto& n : g.nodes)
    ops.push_back(n.domain.empty() ? n.op_type : n.domain + ":" + n.op_type);
  return ops;
}

Tensor run(const Pattern& p, int level, const Tensor& x) {
  std::string bytes = p.bytes();
  SessionOptions options;
  options.num_threads = 2;
  options.optimization_level = level;
  auto s = Session::load_from_bytes(bytes.data(), bytes.size(), options);
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  if (!s.is_ok()) return {};
  auto out = (*s)->run({{"x", x}});
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return out.is_ok() ? (*out)[0].second : Tensor();
}

void expect_same_outputs(const Pattern& p, const Shape& x_shape) {
  Tensor x = Tensor::create(DataType::kFloat, x_shape);
  auto v = wave(static_cast<size_t>(x.size()), 2.5f);
  std::copy(v.begin(), v.end(), x.data<float>());
  Tensor ref = run(p, kOptNone, x), opt = run(p, kOptExtended, x);
  ASSERT_TRUE(ref.defined() && opt.defined());
  ASSERT_EQ(ref.shape(), opt.shape());
  for (int64_t k = 0; k < ref.size(); ++k) {
    const float r = ref.data<float>()[k], o = opt.data<float>()[k];
    EXPECT_NEAR(r, o, 1e-5f + 1e-5f * std::fabs(r)) << "[" << k << "]";
  }
}

// x -> LayerNorm decomposed the way torch exports it (opset 13) -> y
void layer_norm(Pattern& p, const std::string& x, const std::string& y, int64_t width) {
  p.constant("two", {}, {2.0f});
  p.constant("eps", {}, {1e-5f});
  p.constant("gamma", {width}, wave(static_cast<size_t>(width), 1.0f));
  p.constant("beta", {width}, wave(static_cast<size_t>(width), 0.5f));
  p.reduce_mean_last(x, "mean");
  p.node("Sub", {x, "mean"}, "d");
  p.node("Pow", {"d", "two"}, "d2");
  p.reduce_mean_last("d2", "var");
  p.node("Add", {"var", "eps"}, "var_eps");
  p.node("Sqrt", {"var_eps"}, "std");
  p.node("Div", {"d", "std"}, "norm");
  p.node("Mul", {"norm", "gamma"}, "scaled");
  p.node("Add", {"scaled", "beta"}, y);
}

TEST(TransformerFusion, LayerNormBecomesOneNode) {
  Pattern p;
  p.io({2, 3, 8}, {2, 3, 8});
  layer_norm(p, "x", "y", 8);
  EXPECT_EQ(op_types(optimized(p)), (std::vector<std::string>{"com.nalar:LayerNormalization"}));
  expect_same_outputs(p, {2, 3, 8});
}

TEST(TransformerFusion, LayerNormWithObservedIntermediateIsKept) {
  Pattern p;
  p.io({2, 8}, {2, 8});
  layer_norm(p, "x", "y", 8);
  *p.g->add_output() = testmodels::value_info("d", onnx::TensorProto::FLOAT, {2, 8});
  for (const auto& op : op_types(optimized(p))) EXPECT_NE(op, "com.nalar:LayerNormalization");
}

// MatMul + bias + GELU (erf form) -> one FusedMatMul with a GELU activation.
TEST(TransformerFusion, MatMulBiasGeluBecomesOneNode) {
  Pattern p;
  p.io({2, 3, 6}, {2, 3, 5});
  p.constant("w", {6, 5}, wave(30, 0.4f));
  p.constant("b", {5}, wave(5, 0.3f));
  p.constant("sqrt2", {}, {1.4142135381698608f});
  p.constant("one", {}, {1.0f});
  p.constant("half", {}, {0.5f});
  p.node("MatMul", {"x", "w"}, "mm");
  p.node("Add", {"b", "mm"}, "h");
  p.node("Div", {"h", "sqrt2"}, "u");
  p.node("Erf", {"u"}, "e");
  p.node("Add", {"e", "one"}, "e1");
  p.node("Mul", {"h", "e1"}, "he");
  p.node("Mul", {"he", "half"}, "y");
  Graph g = optimized(p);
  EXPECT_EQ(op_types(g), (std::vector<std::string>{"com.nalar:FusedMatMul"}));
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].get_string("activation", ""), "Gelu");
  expect_same_outputs(p, {2, 3, 6});
}

// GELU as (x * 0.5) * (1 + erf(x * 1/sqrt 2)) on a graph input -> com.microsoft Gelu.
TEST(TransformerFusion, GeluOnInputBecomesGelu) {
  Pattern p;
  p.io({4, 7}, {4, 7});
  p.constant("rsqrt2", {}, {0.70710678f});
  p.constant("one", {}, {1.0f});
  p.constant("half", {}, {0.5f});
  p.node("Mul", {"x", "rsqrt2"}, "u");
  p.node("Erf", {"u"}, "e");
  p.node("Add", {"one", "e"}, "e1");
  p.node("Mul", {"half", "x"}, "xh");
  p.node("Mul", {"xh", "e1"}, "y");
  EXPECT_EQ(op_types(optimized(p)), (std::vector<std::string>{"com.microsoft:Gelu"}));
  expect_same_outputs(p, {4, 7});
}

onnx::NodeProto* transpose(Pattern& p, const std::string& in, const std::string& out,
                           const std::vector<int64_t>& perm) {
  auto* n = p.node("Transpose", {in}, out);
  auto* a = n->add_attribute();
  a->set_name("perm");
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : perm) a->add_ints(v);
  return n;
}

// Attention's core: softmax-free Q x K^T / c x V with the head transposes around it.
TEST(TransformerFusion, AttentionTransposesBecomeStrides) {
  Pattern p;
  p.io({2, 5, 3, 4}, {2, 5, 3, 4});
  p.constant("c", {}, {2.0f});
  transpose(p, "x", "q", {0, 2, 1, 3});
  transpose(p, "x", "kt", {0, 2, 3, 1});
  transpose(p, "x", "v", {0, 2, 1, 3});
  p.node("MatMul", {"q", "kt"}, "s");
  p.node("Div", {"s", "c"}, "sc");
  p.node("MatMul", {"sc", "v"}, "o");
  transpose(p, "o", "y", {0, 2, 1, 3});
  EXPECT_EQ(op_types(optimized(p)),
            (std::vector<std::string>{"com.nalar:PermutedMatMul", "com.nalar:PermutedMatMul"}));
  expect_same_outputs(p, {2, 5, 3, 4});
}

// Residual Add then LayerNorm -> one SkipLayerNormalization; a broadcast residual too.
TEST(TransformerFusion, ResidualAddLayerNormBecomesSkipLayerNorm) {
  for (bool broadcast : {false, true}) {
    Pattern p;
    p.io({2, 3, 8}, {2, 3, 8});
    p.constant("r", broadcast ? std::vector<int64_t>{3, 8} : std::vector<int64_t>{2, 3, 8},
               wave(broadcast ? 24 : 48, 1.5f));
    p.node("Add", {"x", "r"}, "sum");
    layer_norm(p, "sum", "y", 8);
    EXPECT_EQ(op_types(optimized(p)),
              (std::vector<std::string>{"com.nalar:SkipLayerNormalization"}));
    expect_same_outputs(p, {2, 3, 8});
  }
}

// Scores plus a broadcast additive mask, then Softmax -> one AddSoftmax.
TEST(TransformerFusion, MaskAddSoftmaxBecomesAddSoftmax) {
  Pattern p;
  p.io({2, 3, 4, 6}, {2, 3, 4, 6});
  p.constant("mask", {2, 1, 1, 6}, {0, 0, 0, -10000, 0, -10000, 0, 0, 0, 0, 0, -10000});
  p.node("Add", {"x", "mask"}, "s");
  p.node("Softmax", {"s"}, "y");
  EXPECT_EQ(op_types(optimized(p)), (std::vector<std::string>{"com.nalar:AddSoftmax"}));
  expect_same_outputs(p, {2, 3, 4, 6});
}

// A bias that does not match W's columns is a broadcast, not a GEMM bias: left alone.
TEST(TransformerFusion, MatMulWithNonBiasAddIsKept) {
  Pattern p;
  p.io({3, 4}, {3, 2});
  p.constant("w", {4, 2}, wave(8, 1.0f));
  p.constant("c", {3, 1}, {1, 2, 3});
  p.node("MatMul", {"x", "w"}, "mm");
  p.node("Add", {"mm", "c"}, "y");
  EXPECT_EQ(op_types(optimized(p)), (std::vector<std::string>{"MatMul", "Add"}));
  expect_same_outputs(p, {3, 4});
}

}  // namespace
