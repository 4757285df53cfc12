// NHWC layout propagation (level 2): conv chains keep channels-last activations, reorders stand
// only at the edges, and the optimised session computes what the unoptimised one does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "graph/optimizer.h"
#include "nalar/session.h"
#include "onnx/loader.h"
#include "test_models.h"

using namespace nalar;

namespace {

struct Builder : testmodels::GraphBuilder {
  int seed = 1;

  static void ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void int1(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  void io(bool input, const std::string& name, const std::vector<int64_t>& dims) {
    *(input ? g->add_input() : g->add_output()) =
        testmodels::value_info(name, onnx::TensorProto::FLOAT, dims);
  }
  void init(const std::string& name, const std::vector<int64_t>& dims) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    int64_t n = 1;
    for (int64_t d : dims) t->add_dims(d), n *= d;
    ++seed;
    for (int64_t i = 0; i < n; ++i)
      t->add_float_data(std::sin(static_cast<float>(i * seed) * 0.37f) * 0.3f);
  }
  // y = Conv(x) with m output channels, k x k kernel, `group`, stride s, same padding.
  onnx::NodeProto* conv(const std::string& x, const std::string& y, int64_t c, int64_t m, int64_t k,
                        int64_t group = 1, int64_t s = 1) {
    init(y + "_W", {m, c / group, k, k});
    init(y + "_B", {m});
    auto* n = node("Conv", {x, y + "_W", y + "_B"}, {y});
    ints(n, "pads", std::vector<int64_t>(4, k / 2));
    ints(n, "strides", {s, s});
    int1(n, "group", group);
    return n;
  }
  std::string bytes() const { return testmodels::serialize(m); }
};

std::vector<std::string> optimized_ops(const Builder& b) {
  std::string bytes = b.bytes();
  auto model = load_model_bytes(bytes.data(), bytes.size(), "", "<bytes>", {.infer_shapes = true});
  EXPECT_TRUE(model.is_ok()) << model.status().message();
  if (!model.is_ok()) return {};
  Status st = optimize_graph(model->graph, model->opsets, kOptExtended);
  EXPECT_TRUE(st.is_ok()) << st.message();
  std::vector<std::string> ops;
  for (const auto& n : model->graph.nodes) ops.push_back(n.op_type);
  return ops;
}

int count(const std::vector<std::string>& ops, const std::string& op) {
  return static_cast<int>(std::count(ops.begin(), ops.end(), op));
}

NamedTensors run(const Builder& b, int level, const NamedTensors& feeds, int threads) {
  std::string bytes = b.bytes();
  SessionOptions options;
  options.num_threads = threads;
  options.optimization_level = level;
  auto s = Session::load_from_bytes(bytes.data(), bytes.size(), options);
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  if (!s.is_ok()) return {};
  auto out = (*s)->run(feeds);
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return out.is_ok() ? *out : NamedTensors{};
}

void expect_same_outputs(const Builder& b, const NamedTensors& feeds) {
  NamedTensors ref = run(b, kOptNone, feeds, 1);
  for (int threads : {1, 2}) {
    NamedTensors opt = run(b, kOptExtended, feeds, threads);
    ASSERT_EQ(ref.size(), opt.size());
    ASSERT_FALSE(ref.empty());
    for (size_t i = 0; i < ref.size(); ++i) {
      const Tensor &r = ref[i].second, &o = opt[i].second;
      ASSERT_EQ(r.shape(), o.shape()) << ref[i].first;
      for (int64_t k = 0; k < r.size(); ++k) {
        const float rv = r.data<float>()[k], ov = o.data<float>()[k];
        ASSERT_NEAR(rv, ov, 2e-5f + 2e-5f * std::fabs(rv)) << ref[i].first << "[" << k << "]";
      }
    }
  }
}

NamedTensors input(int64_t n, int64_t c, int64_t h, int64_t w) {
  std::vector<float> x(static_cast<size_t>(n * c * h * w));
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i) * 0.13f) * 2.0f;
  return {{"x", Tensor::from_vector<float>(x, {n, c, h, w})}};
}

}  // namespace

// Stem conv + MaxPool, a residual block, an intermediate graph output and a pooled tail.
TEST(LayoutPropagation, ResidualChainKeepsNhwcAndMatches) {
  Builder b;
  b.io(true, "x", {2, 3, 16, 16});
  b.conv("x", "c0", 3, 24, 3, 1, 2);
  b.node("Relu", {"c0"}, {"r0"});
  auto* mp = b.node("MaxPool", {"r0"}, {"p0"});
  Builder::ints(mp, "kernel_shape", {3, 3});
  Builder::ints(mp, "strides", {2, 2});
  Builder::ints(mp, "pads", {1, 1, 1, 1});
  b.conv("p0", "c1", 24, 24, 3);
  b.node("Relu", {"c1"}, {"r1"});
  b.conv("r1", "c2", 24, 24, 1);
  b.node("Add", {"c2", "p0"}, {"a2"});
  b.node("Relu", {"a2"}, {"mid"});
  b.conv("mid", "c3", 24, 40, 3);
  b.node("GlobalAveragePool", {"c3"}, {"y"});
  b.io(false, "y", {2, 40, 1, 1});
  b.io(false, "mid", {2, 24, 4, 4});
  const auto ops = optimized_ops(b);
  // The graph input enters inside the first conv; only the graph output `mid` is reordered back.
  EXPECT_EQ(count(ops, "NhwcToNchw"), 1);
  EXPECT_EQ(count(ops, "NchwToNhwc"), 0);
  expect_same_outputs(b, input(2, 3, 16, 16));
}

// MobileNet/EfficientNet block: pointwise expand, depthwise (stride 2), squeeze-and-excitation
// scale, pointwise project; symbolic batch.
TEST(LayoutPropagation, DepthwiseAndSqueezeExcitationMatch) {
  Builder b;
  b.io(true, "x", {-1, 16, 14, 14});
  b.conv("x", "e", 16, 48, 1);
  b.node("Clip", {"e"}, {"e6"});  // unbounded Clip: a layout-blind elementwise op
  b.conv("e6", "d", 48, 48, 3, 48, 2);
  b.node("Sigmoid", {"d"}, {"ds"});
  b.node("Mul", {"d", "ds"}, {"dsw"});
  b.node("GlobalAveragePool", {"dsw"}, {"g"});
  b.conv("g", "s1", 48, 8, 1);
  b.node("Relu", {"s1"}, {"s1r"});
  b.conv("s1r", "s2", 8, 48, 1);
  b.node("Sigmoid", {"s2"}, {"scale"});
  b.node("Mul", {"scale", "dsw"}, {"se"});
  b.conv("se", "y", 48, 24, 1);
  b.io(false, "y", {-1, 24, 7, 7});
  const auto ops = optimized_ops(b);
  EXPECT_EQ(count(ops, "NhwcChannelMul"), 1);
  EXPECT_EQ(count(ops, "NhwcToNchw"), 0);  // the last conv writes the plain output itself
  expect_same_outputs(b, input(3, 16, 14, 14));
  expect_same_outputs(b, input(1, 16, 14, 14));
}

// A lone convolution gains nothing from NHWC: the graph is left as it was.
TEST(LayoutPropagation, SingleConvIsLeftAlone) {
  Builder b;
  b.io(true, "x", {1, 8, 6, 6});
  b.conv("x", "c", 8, 8, 3);
  b.node("Relu", {"c"}, {"y"});
  b.io(false, "y", {1, 8, 6, 6});
  const auto ops = optimized_ops(b);
  EXPECT_EQ(ops, (std::vector<std::string>{"FusedConv"}));
}
