// Graph optimisation passes: each test checks the rewritten graph's nodes, and that a session
// with optimisation gives the same outputs as one without.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/optimizer.h"
#include "kernels/kernel.h"
#include "nalar/session.h"
#include "onnx/loader.h"
#include "test_models.h"

using namespace nalar;

namespace {

// A small graph under construction: float values unless said otherwise.
struct Builder : testmodels::GraphBuilder {
  explicit Builder(int opset = 17) : GraphBuilder(opset) {}
  void input(const std::string& name, const std::vector<int64_t>& dims) {
    *g->add_input() = testmodels::value_info(name, onnx::TensorProto::FLOAT, dims);
  }
  void output(const std::string& name, const std::vector<int64_t>& dims) {
    *g->add_output() = testmodels::value_info(name, onnx::TensorProto::FLOAT, dims);
  }
  void initializer(const std::string& name, const std::vector<int64_t>& dims,
                   const std::vector<float>& values) {
    fill(g->add_initializer(), name, dims, values);
  }
  static void fill(onnx::TensorProto* t, const std::string& name, const std::vector<int64_t>& dims,
                   const std::vector<float>& values) {
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }
  std::string bytes() const { return testmodels::serialize(m); }
};

std::vector<float> ramp(size_t n, float scale, float offset) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(static_cast<float>(i) * 0.37f) * scale + offset;
  return v;
}

// The main graph after optimisation at `level`.
Graph optimized(const Builder& b, int level) {
  std::string bytes = b.bytes();
  auto model = load_model_bytes(bytes.data(), bytes.size(), "");
  EXPECT_TRUE(model.is_ok()) << model.status().message();
  if (!model.is_ok()) return {};
  Status st = optimize_graph(model->graph, model->opsets, level);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return model->graph;
}

std::vector<std::string> op_types(const Graph& g) {
  std::vector<std::string> ops;
  for (const auto& n : g.nodes) ops.push_back(n.op_type);
  return ops;
}

NamedTensors run(const Builder& b, int level, const NamedTensors& feeds) {
  std::string bytes = b.bytes();
  SessionOptions options;
  options.num_threads = 1;
  options.optimization_level = level;
  auto s = Session::load_from_bytes(bytes.data(), bytes.size(), options);
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  if (!s.is_ok()) return {};
  auto out = (*s)->run(feeds);
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return out.is_ok() ? *out : NamedTensors{};
}

// Outputs at level 0 and `level` agree (rtol 1e-5: folding reassociates float products).
void expect_same_outputs(const Builder& b, int level, const NamedTensors& feeds) {
  NamedTensors ref = run(b, 0, feeds), opt = run(b, level, feeds);
  ASSERT_EQ(ref.size(), opt.size());
  ASSERT_FALSE(ref.empty());
  for (size_t i = 0; i < ref.size(); ++i) {
    const Tensor &r = ref[i].second, &o = opt[i].second;
    EXPECT_EQ(ref[i].first, opt[i].first);
    ASSERT_EQ(r.dtype(), o.dtype());
    ASSERT_EQ(r.shape(), o.shape());
    for (int64_t k = 0; k < r.size(); ++k) {
      const float rv = r.data<float>()[k], ov = o.data<float>()[k];
      EXPECT_NEAR(rv, ov, 1e-5f + 1e-5f * std::fabs(rv)) << ref[i].first << "[" << k << "]";
    }
  }
}

bool supported(const std::string& op) { return find_kernel("", op, 17) != nullptr; }

}  // namespace

TEST(GraphOptimizer, LevelZeroChangesNothing) {
  Builder b;
  b.input("x", {4});
  b.node("Identity", {"x"}, {"a"});
  b.node("Neg", {"a"}, {"y"});
  b.output("y", {4});
  EXPECT_EQ(op_types(optimized(b, 0)), (std::vector<std::string>{"Identity", "Neg"}));
}

TEST(GraphOptimizer, ConstantChainFoldsIntoOneInitializer) {
  Builder b;
  b.input("x", {4});
  auto* c = b.node("Constant", {}, {"c1"});
  auto* attr = c->add_attribute();
  attr->set_name("value");
  attr->set_type(onnx::AttributeProto::TENSOR);
  Builder::fill(attr->mutable_t(), "", {4}, {1, 2, 3, 4});
  b.initializer("c2", {4}, {10, 20, 30, 40});
  b.node("Add", {"c1", "c2"}, {"c3"});
  b.node("Mul", {"c3", "c3"}, {"c4"});
  b.node("Add", {"x", "c4"}, {"y"});
  b.output("y", {4});
  Graph g = optimized(b, 1);
  EXPECT_EQ(op_types(g), (std::vector<std::string>{"Add"}));
  ASSERT_EQ(g.nodes.size(), 1u);
  const Tensor& folded = g.initializers.at(g.nodes[0].inputs[1]);
  EXPECT_EQ(folded.data<float>()[3], 44.0f * 44.0f);
  // The inputs of the folded chain are gone.
  EXPECT_EQ(g.initializers.count("c2"), 0u);
  expect_same_outputs(b, 2, {{"x", Tensor::from_vector<float>({1, -1, 0.5f, 2}, {4})}});
}

TEST(GraphOptimizer, ConstantAsGraphOutputFolds) {
  Builder b;
  b.input("x", {2});
  auto* c = b.node("Constant", {}, {"k"});
  auto* attr = c->add_attribute();
  attr->set_name("value_floats");
  attr->set_type(onnx::AttributeProto::FLOATS);
  attr->add_floats(3);
  attr->add_floats(5);
  b.node("Neg", {"x"}, {"y"});
  b.output("y", {2});
  b.output("k", {2});
  EXPECT_EQ(op_types(optimized(b, 1)), (std::vector<std::string>{"Neg"}));
  NamedTensors out = run(b, 2, {{"x", Tensor::from_vector<float>({1, 2}, {2})}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].second.data<float>()[1], 5.0f);
}

TEST(GraphOptimizer, OverridableInitializerIsNotFolded) {
  Builder b;
  b.input("x", {2});
  b.input("bias", {2});
  b.initializer("bias", {2}, {1, 2});
  b.node("Neg", {"bias"}, {"nb"});
  b.node("Add", {"x", "nb"}, {"y"});
  b.output("y", {2});
  EXPECT_EQ(op_types(optimized(b, 2)), (std::vector<std::string>{"Neg", "Add"}));
  NamedTensors out = run(b, 2,
                         {{"x", Tensor::from_vector<float>({0, 0}, {2})},
                          {"bias", Tensor::from_vector<float>({7, 8}, {2})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].second.data<float>()[1], -8.0f);
}

TEST(GraphOptimizer, HugeConstantOfShapeIsNotFolded) {
  Builder b;
  b.input("x", {1});
  auto* shape = b.g->add_initializer();
  shape->set_name("shape");
  shape->set_data_type(onnx::TensorProto::INT64);
  shape->add_dims(2);
  shape->add_int64_data(1 << 20);
  shape->add_int64_data(1 << 20);
  b.node("ConstantOfShape", {"shape"}, {"big"});
  b.node("ReduceSum", {"big"}, {"s"});
  b.node("Add", {"x", "s"}, {"y"});
  b.output("y", {1});
  EXPECT_EQ(op_types(optimized(b, 2)),
            (std::vector<std::string>{"ConstantOfShape", "ReduceSum", "Add"}));
}

TEST(GraphOptimizer, ShapeOfFixedInputFolds) {
  Builder b(15);
  b.input("x", {2, 3, 5});
  b.input("d", {-1, 3});  // symbolic batch: its Shape stays
  b.node("Shape", {"x"}, {"sx"});
  auto* tail = b.node("Shape", {"x"}, {"tx"});
  auto* start = tail->add_attribute();
  start->set_name("start");
  start->set_type(onnx::AttributeProto::INT);
  start->set_i(-2);
  b.node("Size", {"x"}, {"nx"});
  b.node("Shape", {"d"}, {"sd"});
  for (const char* o : {"sx", "tx", "sd"})
    *b.g->add_output() = testmodels::value_info(o, onnx::TensorProto::INT64, {-1});
  *b.g->add_output() = testmodels::value_info("nx", onnx::TensorProto::INT64, {});
  Graph g = optimized(b, 1);
  EXPECT_EQ(op_types(g), (std::vector<std::string>{"Shape"}));
  NamedTensors feeds = {{"x", Tensor::create(DataType::kFloat, {2, 3, 5})},
                        {"d", Tensor::create(DataType::kFloat, {4, 3})}};
  NamedTensors ref = run(b, 0, feeds), opt = run(b, 2, feeds);
  ASSERT_EQ(ref.size(), 4u);
  ASSERT_EQ(opt.size(), 4u);
  for (size_t i = 0; i < ref.size(); ++i) {
    ASSERT_EQ(ref[i].second.dtype(), DataType::kInt64);
    ASSERT_EQ(ref[i].second.shape(), opt[i].second.shape()) << ref[i].first;
    for (int64_t k = 0; k < ref[i].second.size(); ++k)
      EXPECT_EQ(ref[i].second.data<int64_t>()[k], opt[i].second.data<int64_t>()[k]);
  }
  EXPECT_EQ(opt[1].second.shape(), (Shape{2}));
  EXPECT_EQ(opt[3].second.data<int64_t>()[0], 30);
}

TEST(GraphOptimizer, IdentityAndDropoutAreRemoved) {
  Builder b(12);
  b.input("x", {2, 3});
  b.node("Identity", {"x"}, {"a"});
  b.node("Dropout", {"a"}, {"b"});
  b.node("Relu", {"b"}, {"c"});
  b.node("Identity", {"c"}, {"d"});
  b.node("Identity", {"d"}, {"y"});
  b.node("Identity", {"x"}, {"z"});  // graph input straight to graph output: must stay
  b.output("y", {2, 3});
  b.output("z", {2, 3});
  Graph g = optimized(b, 1);
  EXPECT_EQ(op_types(g), (std::vector<std::string>{"Relu", "Identity"}));
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].inputs[0], "x");
  EXPECT_EQ(g.nodes[0].outputs[0], "y");
  expect_same_outputs(b, 2, {{"x", Tensor::from_vector<float>({-1, 2, -3, 4, -5, 6}, {2, 3})}});
}

TEST(GraphOptimizer, DropoutInTrainingModeOrWithMaskStays) {
  Builder b(13);
  b.input("x", {4});
  auto* mode = b.g->add_initializer();
  mode->set_name("train");
  mode->set_data_type(onnx::TensorProto::BOOL);
  mode->add_int32_data(1);
  b.node("Dropout", {"x", "", "train"}, {"a"});
  b.node("Dropout", {"a"}, {"y", "mask"});
  b.output("y", {4});
  *b.g->add_output() = testmodels::value_info("mask", onnx::TensorProto::BOOL, {4});
  EXPECT_EQ(op_types(optimized(b, 2)), (std::vector<std::string>{"Dropout", "Dropout"}));
}

TEST(GraphOptimizer, DeadNodesGoButSubgraphCapturesStay) {
  if (!supported("If")) GTEST_SKIP() << "If is not supported yet";
  Builder b;
  b.input("x", {3});
  auto* cond = b.g->add_initializer();
  cond->set_name("cond");
  cond->set_data_type(onnx::TensorProto::BOOL);
  cond->add_int32_data(1);
  b.node("Neg", {"x"}, {"unused"});
  b.node("Abs", {"x"}, {"captured"});  // read only inside the If's branch
  auto* n = b.node("If", {"cond"}, {"y"});
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto* a = n->add_attribute();
    a->set_name(branch);
    a->set_type(onnx::AttributeProto::GRAPH);
    auto* body = a->mutable_g();
    body->set_name(branch);
    auto* id = body->add_node();
    id->set_op_type(std::string(branch) == "then_branch" ? "Neg" : "Identity");
    id->add_input(std::string(branch) == "then_branch" ? "captured" : "x");
    id->add_output(std::string(branch) + "_out");
    *body->add_output() =
        testmodels::value_info(std::string(branch) + "_out", onnx::TensorProto::FLOAT, {3});
  }
  b.output("y", {3});
  Graph g = optimized(b, 2);
  std::vector<std::string> ops = op_types(g);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Neg"), 0);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Abs"), 1);
  expect_same_outputs(b, 2, {{"x", Tensor::from_vector<float>({-1, 2, -3}, {3})}});
}

namespace {

// x[1,3,6,6] -> Conv(W[4,3,3,3], B[4], pads 1) -> `tail` ops -> y
Builder conv_model(bool with_bias) {
  Builder b;
  b.input("x", {1, 3, 6, 6});
  b.initializer("W", {4, 3, 3, 3}, ramp(4 * 3 * 3 * 3, 0.5f, 0.0f));
  std::vector<std::string> in = {"x", "W"};
  if (with_bias) {
    b.initializer("B", {4}, {0.1f, -0.2f, 0.3f, 0.05f});
    in.push_back("B");
  }
  auto* conv = b.node("Conv", in, {"conv_out"});
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  return b;
}

NamedTensors conv_feeds() {
  return {{"x", Tensor::from_vector<float>(ramp(108, 1.0f, 0.2f), {1, 3, 6, 6})}};
}

}  // namespace

TEST(GraphOptimizer, ConvBatchNormFolds) {
  if (!supported("Conv") || !supported("BatchNormalization"))
    GTEST_SKIP() << "Conv or BatchNormalization is not supported yet";
  for (bool with_bias : {true, false}) {
    Builder b = conv_model(with_bias);
    b.initializer("gamma", {4}, {1.5f, 0.5f, -1.0f, 2.0f});
    b.initializer("beta", {4}, {0.0f, 1.0f, -0.5f, 0.25f});
    b.initializer("mean", {4}, {0.2f, -0.1f, 0.0f, 1.0f});
    b.initializer("var", {4}, {1.0f, 0.25f, 4.0f, 0.01f});
    b.node("BatchNormalization", {"conv_out", "gamma", "beta", "mean", "var"}, {"y"});
    b.output("y", {1, 4, 6, 6});
    Graph g = optimized(b, 1);
    EXPECT_EQ(op_types(g), (std::vector<std::string>{"Conv"}));
    ASSERT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(g.nodes[0].outputs[0], "y");
    EXPECT_EQ(g.nodes[0].inputs.size(), 3u);
    expect_same_outputs(b, 1, conv_feeds());
  }
}

TEST(GraphOptimizer, ConvWithSharedOutputIsNotFolded) {
  if (!supported("Conv") || !supported("BatchNormalization"))
    GTEST_SKIP() << "Conv or BatchNormalization is not supported yet";
  Builder b = conv_model(true);
  for (const char* p : {"gamma", "beta", "mean", "var"}) b.initializer(p, {4}, {1, 1, 1, 1});
  b.node("BatchNormalization", {"conv_out", "gamma", "beta", "mean", "var"}, {"y"});
  b.output("y", {1, 4, 6, 6});
  b.output("conv_out", {1, 4, 6, 6});
  EXPECT_EQ(op_types(optimized(b, 2)), (std::vector<std::string>{"Conv", "BatchNormalization"}));
}

TEST(GraphOptimizer, ConvMulAddFoldAtLevelTwo) {
  if (!supported("Conv")) GTEST_SKIP() << "Conv is not supported yet";
  Builder b = conv_model(false);
  b.initializer("scale", {1, 4, 1, 1}, {2.0f, -1.0f, 0.5f, 3.0f});
  b.initializer("shift", {4, 1, 1}, {0.5f, 0.25f, -1.0f, 0.0f});
  b.initializer("spatial", {6}, {1, 2, 3, 4, 5, 6});  // varies along W: not per-channel
  b.node("Mul", {"scale", "conv_out"}, {"m"});
  b.node("Add", {"m", "shift"}, {"a"});
  b.node("Add", {"a", "spatial"}, {"y"});
  b.output("y", {1, 4, 6, 6});
  EXPECT_EQ(op_types(optimized(b, 1)), (std::vector<std::string>{"Conv", "Mul", "Add", "Add"}));
  EXPECT_EQ(op_types(optimized(b, 2)), (std::vector<std::string>{"Conv", "Add"}));
  expect_same_outputs(b, 2, conv_feeds());
}
