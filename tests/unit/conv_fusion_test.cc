// Conv fusion pass (level 2): Conv + activation / residual Add / swish become one FusedConv, and
// the fused session computes what the unoptimised one does.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/optimizer.h"
#include "kernels/kernel.h"
#include "nalar/session.h"
#include "onnx/loader.h"
#include "test_models.h"

using namespace nalar;

namespace {

struct FusionModel : testmodels::GraphBuilder {
  void value(bool input, const std::string& name, const std::vector<int64_t>& dims) {
    *(input ? g->add_input() : g->add_output()) =
        testmodels::value_info(name, onnx::TensorProto::FLOAT, dims);
  }
  void initializer(const std::string& name, const std::vector<int64_t>& dims,
                   const std::vector<float>& values) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }
  // name = Conv(x, W_name[4, c, 3, 3], B, pads 1)
  void conv(const std::string& x, const std::string& name, int64_t c, float seed) {
    std::vector<float> w(static_cast<size_t>(4 * c * 9));
    for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(static_cast<float>(i) * seed) * 0.4f;
    initializer(name + "_W", {4, c, 3, 3}, w);
    initializer(name + "_B", {4}, {0.1f, -0.3f, 0.2f, 0.0f});
    auto* n = node("Conv", {x, name + "_W", name + "_B"}, {name});
    auto* pads = n->add_attribute();
    pads->set_name("pads");
    pads->set_type(onnx::AttributeProto::INTS);
    for (int i = 0; i < 4; ++i) pads->add_ints(1);
  }
  std::string bytes() const { return testmodels::serialize(m); }
};

std::vector<std::string> optimized_ops(const FusionModel& f) {
  std::string bytes = f.bytes();
  auto model = load_model_bytes(bytes.data(), bytes.size(), "");
  EXPECT_TRUE(model.is_ok()) << model.status().message();
  if (!model.is_ok()) return {};
  Status st = optimize_graph(model->graph, model->opsets, kOptExtended);
  EXPECT_TRUE(st.is_ok()) << st.message();
  std::vector<std::string> ops;
  for (const auto& n : model->graph.nodes) ops.push_back(n.op_type);
  return ops;
}

NamedTensors run(const FusionModel& f, int level, const NamedTensors& feeds) {
  std::string bytes = f.bytes();
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

void expect_same_outputs(const FusionModel& f, const NamedTensors& feeds) {
  NamedTensors ref = run(f, kOptNone, feeds), opt = run(f, kOptExtended, feeds);
  ASSERT_EQ(ref.size(), opt.size());
  ASSERT_FALSE(ref.empty());
  for (size_t i = 0; i < ref.size(); ++i) {
    const Tensor &r = ref[i].second, &o = opt[i].second;
    ASSERT_EQ(r.shape(), o.shape());
    for (int64_t k = 0; k < r.size(); ++k) {
      const float rv = r.data<float>()[k], ov = o.data<float>()[k];
      EXPECT_NEAR(rv, ov, 1e-5f + 1e-5f * std::fabs(rv)) << ref[i].first << "[" << k << "]";
    }
  }
}

NamedTensors feeds(int64_t c) {
  std::vector<float> x(static_cast<size_t>(2 * c * 36));
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i) * 0.21f) * 2.0f;
  return {{"x", Tensor::from_vector<float>(x, {2, c, 6, 6})}};
}

bool supported() { return find_kernel("com.microsoft", "FusedConv", 1) != nullptr; }

}  // namespace

TEST(ConvFusion, ConvReluBecomesFusedConv) {
  if (!supported()) GTEST_SKIP() << "no FusedConv kernel";
  FusionModel f;
  f.value(true, "x", {2, 3, 6, 6});
  f.conv("x", "c", 3, 0.37f);
  f.node("Relu", {"c"}, {"y"});
  f.value(false, "y", {2, 4, 6, 6});
  EXPECT_EQ(optimized_ops(f), (std::vector<std::string>{"FusedConv"}));
  expect_same_outputs(f, feeds(3));
}

TEST(ConvFusion, ActivationsFuse) {
  if (!supported()) GTEST_SKIP() << "no FusedConv kernel";
  for (const char* act : {"LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Clip"}) {
    FusionModel f;
    f.value(true, "x", {2, 3, 6, 6});
    f.conv("x", "c", 3, 0.37f);
    if (std::string(act) == "Clip") {
      f.initializer("lo", {}, {0.0f});
      f.initializer("hi", {}, {0.5f});
      f.node("Clip", {"c", "lo", "hi"}, {"y"});
    } else {
      f.node(act, {"c"}, {"y"});
    }
    f.value(false, "y", {2, 4, 6, 6});
    EXPECT_EQ(optimized_ops(f), (std::vector<std::string>{"FusedConv"})) << act;
    expect_same_outputs(f, feeds(3));
  }
}

TEST(ConvFusion, SwishFuses) {
  if (!supported()) GTEST_SKIP() << "no FusedConv kernel";
  FusionModel f;
  f.value(true, "x", {2, 3, 6, 6});
  f.conv("x", "c", 3, 0.37f);
  f.node("Sigmoid", {"c"}, {"s"});
  f.node("Mul", {"c", "s"}, {"y"});
  f.value(false, "y", {2, 4, 6, 6});
  EXPECT_EQ(optimized_ops(f), (std::vector<std::string>{"FusedConv"}));
  expect_same_outputs(f, feeds(3));
}

TEST(ConvFusion, ResidualAddReluFuses) {
  if (!supported()) GTEST_SKIP() << "no FusedConv kernel";
  FusionModel f;
  f.value(true, "x", {2, 4, 6, 6});
  f.conv("x", "c1", 4, 0.37f);
  f.node("Relu", {"c1"}, {"r1"});
  f.conv("r1", "c2", 4, 0.53f);
  f.node("Add", {"c2", "x"}, {"sum"});
  f.node("Relu", {"sum"}, {"y"});
  f.value(false, "y", {2, 4, 6, 6});
  EXPECT_EQ(optimized_ops(f), (std::vector<std::string>{"FusedConv", "FusedConv"}));
  expect_same_outputs(f, feeds(4));
}

TEST(ConvFusion, BroadcastingResidualStaysCorrect) {
  if (!supported()) GTEST_SKIP() << "no FusedConv kernel";
  FusionModel f;  // the addend [2,1,6,6] broadcasts over channels: the kernel's slow path
  f.value(true, "x", {2, 1, 6, 6});
  f.conv("x", "c", 1, 0.37f);
  f.node("Add", {"x", "c"}, {"y"});
  f.value(false, "y", {2, 4, 6, 6});
  EXPECT_EQ(optimized_ops(f), (std::vector<std::string>{"FusedConv"}));
  expect_same_outputs(f, feeds(1));
}

TEST(ConvFusion, SharedOrOutputValuesAreNotFused) {
  if (!supported()) GTEST_SKIP() << "no FusedConv kernel";
  FusionModel f;
  f.value(true, "x", {2, 3, 6, 6});
  f.conv("x", "c", 3, 0.37f);
  f.node("Relu", {"c"}, {"y"});
  f.value(false, "y", {2, 4, 6, 6});
  f.value(false, "c", {2, 4, 6, 6});  // the pre-activation value is an output too
  EXPECT_EQ(optimized_ops(f), (std::vector<std::string>{"Conv", "Relu"}));

  FusionModel s;  // the Sigmoid also feeds a second reader: not a swish
  s.value(true, "x", {2, 3, 6, 6});
  s.conv("x", "c", 3, 0.37f);
  s.node("Sigmoid", {"c"}, {"sg"});
  s.node("Mul", {"c", "sg"}, {"y"});
  s.node("Neg", {"sg"}, {"z"});
  s.value(false, "y", {2, 4, 6, 6});
  s.value(false, "z", {2, 4, 6, 6});
  EXPECT_EQ(optimized_ops(s), (std::vector<std::string>{"Conv", "Sigmoid", "Mul", "Neg"}));
  expect_same_outputs(s, feeds(3));
}
