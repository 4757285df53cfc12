// Checks the oneDNN-backed NN kernels against naive reference loops written here, and that the
// direct fallbacks (double) agree with the oneDNN float path.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>

#include "kernels/kernel.h"

using namespace nalar;

namespace {

Attribute ints_attr(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInts;
  a.ints = std::move(v);
  return a;
}
Attribute int_attr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInt;
  a.i = v;
  return a;
}

struct Op {
  Node node;
  std::unique_ptr<Kernel> kernel;
  std::vector<Tensor> constants;

  Op(const std::string& type, int64_t opset, std::vector<Attribute> attrs, int num_inputs,
     int num_outputs = 1, std::vector<Tensor> consts = {}) {
    node.op_type = type;
    for (int i = 0; i < num_inputs; ++i) node.inputs.push_back("in" + std::to_string(i));
    for (int i = 0; i < num_outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
    for (auto& a : attrs) node.attributes[a.name] = a;
    const KernelFactory* f = find_kernel("", type, opset);
    EXPECT_NE(f, nullptr) << type;
    kernel = (*f)();
    constants = std::move(consts);
    KernelConfig cfg{node, opset, {}, 1, {}};
    for (auto& c : constants) cfg.constant_inputs.push_back(c.defined() ? &c : nullptr);
    Status st = kernel->prepare(cfg);
    EXPECT_TRUE(st.is_ok()) << st.message();
  }

  std::vector<Tensor> run(std::vector<const Tensor*> inputs) {
    KernelContext ctx(std::move(inputs), node.outputs.size(), 1, nullptr);
    Status st = kernel->compute(ctx);
    EXPECT_TRUE(st.is_ok()) << st.message();
    return ctx.outputs();
  }
};

template <class T>
Tensor random_tensor(Shape shape, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  Tensor t = Tensor::create(dtype_of<T>, std::move(shape));
  for (int64_t i = 0; i < t.size(); ++i) t.data<T>()[i] = static_cast<T>(dist(gen));
  return t;
}

Tensor to_double(const Tensor& f) {
  Tensor d = Tensor::create(DataType::kDouble, f.shape());
  for (int64_t i = 0; i < f.size(); ++i) d.data<double>()[i] = f.data<float>()[i];
  return d;
}

// 2-D grouped, strided, dilated, padded convolution written the obvious way.
std::vector<double> naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t group,
                                 int64_t s, int64_t d, int64_t pt, int64_t pl, int64_t oh,
                                 int64_t ow) {
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const int64_t m = w.dim(0), cg = w.dim(1), kh = w.dim(2), kw = w.dim(3), mg = m / group;
  std::vector<double> y(static_cast<size_t>(n * m * oh * ow));
  const float* xp = x.data<float>();
  const float* wp = w.data<float>();
  for (int64_t in = 0; in < n; ++in)
    for (int64_t om = 0; om < m; ++om)
      for (int64_t yi = 0; yi < oh; ++yi)
        for (int64_t xi = 0; xi < ow; ++xi) {
          double acc = b.data<float>()[om];
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t e = 0; e < kw; ++e) {
                const int64_t iy = yi * s - pt + a * d, ix = xi * s - pl + e * d;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const int64_t ch = (om / mg) * cg + ci;
                acc +=
                    xp[((in * c + ch) * h + iy) * wd + ix] * wp[((om * cg + ci) * kh + a) * kw + e];
              }
          y[static_cast<size_t>(((in * m + om) * oh + yi) * ow + xi)] = acc;
        }
  return y;
}

}  // namespace

TEST(NnKernels, GroupedStridedDilatedConvMatchesNaiveLoop) {
  Tensor x = random_tensor<float>({2, 6, 11, 9}, 1);
  Tensor w = random_tensor<float>({4, 3, 3, 3}, 2);
  Tensor b = random_tensor<float>({4}, 3);
  std::vector<Attribute> attrs{int_attr("group", 2), ints_attr("strides", {2, 2}),
                               ints_attr("dilations", {2, 1}), ints_attr("pads", {1, 2, 0, 1})};
  // Mixed per-axis dilation: only cross-checked against the double fallback below.
  Op packed("Conv", 13, attrs, 3, 1, {Tensor(), w, b});
  Op plain("Conv", 13, attrs, 3);
  std::vector<Attribute> attrs2{int_attr("group", 2), ints_attr("strides", {2, 2}),
                                ints_attr("dilations", {2, 2}), ints_attr("pads", {1, 2, 0, 1})};
  // Constant weights take the pre-packed path; the second op sees them as a plain input.
  Op packed2("Conv", 13, attrs2, 3, 1, {Tensor(), w, b});
  Op plain2("Conv", 13, attrs2, 3);
  // H: floor((11 + 1 - 5) / 2) + 1 = 4; W: floor((9 + 3 - 5) / 2) + 1 = 4
  std::vector<double> ref = naive_conv2d(x, w, b, 2, 2, 2, 1, 2, 4, 4);
  for (Op* op : {&packed2, &plain2}) {
    Tensor y = op->run({&x, &w, &b})[0];
    ASSERT_EQ(y.shape(), (Shape{2, 4, 4, 4}));
    for (int64_t i = 0; i < y.size(); ++i)
      ASSERT_NEAR(y.data<float>()[i], ref[static_cast<size_t>(i)], 1e-4) << i;
  }
  // The double fallback and the oneDNN float path agree on the mixed-dilation geometry too.
  Tensor xd = to_double(x), wd = to_double(w), bd = to_double(b);
  Tensor yf = packed.run({&x, &w, &b})[0];
  Tensor yd = plain.run({&xd, &wd, &bd})[0];
  ASSERT_EQ(yf.shape(), yd.shape());
  for (int64_t i = 0; i < yf.size(); ++i)
    ASSERT_NEAR(yf.data<float>()[i], yd.data<double>()[i], 1e-4) << i;
}

TEST(NnKernels, DepthwiseSamePaddingConvMatchesNaiveLoop) {
  Tensor x = random_tensor<float>({1, 8, 7, 7}, 4);
  Tensor w = random_tensor<float>({8, 1, 3, 3}, 5);
  Tensor b = random_tensor<float>({8}, 6);
  Attribute ap;
  ap.name = "auto_pad";
  ap.type = AttrType::kString;
  ap.s = "SAME_UPPER";
  Op op("Conv", 13, {int_attr("group", 8), ints_attr("strides", {2, 2}), ap}, 3);
  Tensor y = op.run({&x, &w, &b})[0];
  ASSERT_EQ(y.shape(), (Shape{1, 8, 4, 4}));
  // ceil(7/2) = 4, total pad = 3*2 + 3 - 7 = 2 -> 1 before, 1 after
  std::vector<double> ref = naive_conv2d(x, w, b, 8, 2, 1, 1, 1, 4, 4);
  for (int64_t i = 0; i < y.size(); ++i)
    ASSERT_NEAR(y.data<float>()[i], ref[static_cast<size_t>(i)], 1e-4) << i;
}

TEST(NnKernels, ConvTransposeFloatMatchesDoubleFallback) {
  Tensor x = random_tensor<float>({1, 4, 5, 6}, 7);
  Tensor w = random_tensor<float>({4, 3, 3, 2}, 8);  // group 2 -> 6 output channels
  Tensor b = random_tensor<float>({6}, 9);
  std::vector<Attribute> attrs{int_attr("group", 2), ints_attr("strides", {2, 3}),
                               ints_attr("pads", {1, 0, 0, 1}),
                               ints_attr("output_padding", {1, 0})};
  Op op("ConvTranspose", 13, attrs, 3, 1, {Tensor(), w});
  Tensor xd = to_double(x), wd = to_double(w), bd = to_double(b);
  Tensor yf = op.run({&x, &w, &b})[0];
  Tensor yd = op.run({&xd, &wd, &bd})[0];
  // H: 2*4 + 1 + 3 - 1 = 11; W: 3*5 + 0 + 2 - 1 = 16
  ASSERT_EQ(yf.shape(), (Shape{1, 6, 11, 16}));
  for (int64_t i = 0; i < yf.size(); ++i)
    ASSERT_NEAR(yf.data<float>()[i], yd.data<double>()[i], 1e-4) << i;
}

TEST(NnKernels, MatMulBroadcastsBatchAndRunsOnOtherThreads) {
  Tensor a = random_tensor<float>({2, 1, 3, 5}, 10);
  Tensor b = random_tensor<float>({4, 5, 2}, 11);
  Op op("MatMul", 13, {}, 2);
  Tensor y = op.run({&a, &b})[0];  // the primitive is created on this thread
  ASSERT_EQ(y.shape(), (Shape{2, 4, 3, 2}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t r = 0; r < 3; ++r)
        for (int64_t c = 0; c < 2; ++c) {
          double acc = 0;
          for (int64_t k = 0; k < 5; ++k)
            acc += a.data<float>()[(i * 3 + r) * 5 + k] * b.data<float>()[(j * 5 + k) * 2 + c];
          ASSERT_NEAR(y.data<float>()[((i * 4 + j) * 3 + r) * 2 + c], acc, 1e-5);
        }
  // ... and reused from other threads at the same time (user scratchpad).
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int it = 0; it < 20; ++it) {
        Tensor z = op.run({&a, &b})[0];
        bool same = true;
        for (int64_t i = 0; i < z.size(); ++i) same &= z.data<float>()[i] == y.data<float>()[i];
        ok[static_cast<size_t>(t)] += same;
      }
    });
  for (auto& th : threads) th.join();
  for (int v : ok) EXPECT_EQ(v, 20);
}

TEST(NnKernels, SoftmaxFlattensBeforeOpset13) {
  Tensor x = random_tensor<float>({2, 3, 4}, 12);
  Op old_op("Softmax", 11, {}, 1);  // axis 1: normalise over the 12 trailing values per batch
  Op new_op("Softmax", 13, {int_attr("axis", 1)}, 1);  // normalise over the 3 channels
  Tensor y11 = old_op.run({&x})[0];
  Tensor y13 = new_op.run({&x})[0];
  for (int n = 0; n < 2; ++n) {
    double s = 0;
    for (int i = 0; i < 12; ++i) s += y11.data<float>()[n * 12 + i];
    EXPECT_NEAR(s, 1.0, 1e-5);
    for (int k = 0; k < 4; ++k) {
      double s13 = 0;
      for (int c = 0; c < 3; ++c) s13 += y13.data<float>()[n * 12 + c * 4 + k];
      EXPECT_NEAR(s13, 1.0, 1e-5);
    }
  }
}

TEST(NnKernels, MaxPoolIndicesAndCeilMode) {
  Tensor x = random_tensor<float>({1, 2, 5, 5}, 13);
  Op op("MaxPool", 12,
        {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2}), int_attr("ceil_mode", 1)},
        1, 2);
  auto out = op.run({&x});
  ASSERT_EQ(out[0].shape(), (Shape{1, 2, 3, 3}));
  for (int64_t i = 0; i < out[0].size(); ++i)
    EXPECT_EQ(out[0].data<float>()[i], x.data<float>()[out[1].data<int64_t>()[i]]);
  // The last window holds only x[.., 4, 4].
  EXPECT_EQ(out[0].data<float>()[8], x.data<float>()[24]);
}

TEST(NnKernels, BadShapesAreErrorsNotCrashes) {
  auto fails = [](Op& op, std::vector<const Tensor*> inputs) {
    KernelContext ctx(std::move(inputs), op.node.outputs.size(), 1, nullptr);
    return !op.kernel->compute(ctx).is_ok();
  };
  Tensor x = random_tensor<float>({1, 4, 5, 5}, 14);
  Tensor w_bad = random_tensor<float>({2, 3, 3, 3}, 15);  // 3 input channels, X has 4
  Tensor w_rank = random_tensor<float>({2, 4}, 16);
  Op conv("Conv", 13, {}, 2);
  EXPECT_TRUE(fails(conv, {&x, &w_bad}));
  EXPECT_TRUE(fails(conv, {&x, &w_rank}));
  EXPECT_TRUE(fails(conv, {&x}));
  Tensor w_big = random_tensor<float>({2, 4, 7, 7}, 17);  // kernel larger than the input
  EXPECT_TRUE(fails(conv, {&x, &w_big}));
  Op pool("MaxPool", 12, {ints_attr("kernel_shape", {3})}, 1);  // rank 1 kernel on 2-D
  EXPECT_TRUE(fails(pool, {&x}));
  Op huge("AveragePool", 11,
          {ints_attr("kernel_shape", {2, 2}), ints_attr("pads", {0, 0, int64_t{1} << 62, 0})}, 1);
  EXPECT_TRUE(fails(huge, {&x}));
  Tensor a = random_tensor<float>({3, 4}, 18), b = random_tensor<float>({5, 6}, 19);
  Op mm("MatMul", 13, {}, 2);
  EXPECT_TRUE(fails(mm, {&a, &b}));
  Tensor b2 = random_tensor<float>({4, 6}, 20), c_bad = random_tensor<float>({2, 6}, 21);
  Op gemm("Gemm", 13, {}, 3);
  EXPECT_TRUE(fails(gemm, {&a, &b2, &c_bad}));
  Op ln("LayerNormalization", 17, {int_attr("axis", 5)}, 2, 1);
  Tensor s = random_tensor<float>({4}, 22);
  EXPECT_TRUE(fails(ln, {&a, &s}));
}

TEST(NnKernels, FusedConvAppliesSumThenActivation) {
  Tensor x = random_tensor<float>({1, 8, 9, 9}, 23);
  Tensor w = random_tensor<float>({8, 8, 3, 3}, 24);
  Tensor b = random_tensor<float>({8}, 25);
  Tensor z = random_tensor<float>({1, 8, 9, 9}, 26);
  Attribute act;
  act.name = "activation";
  act.type = AttrType::kString;
  act.s = "Relu";
  Op plain("Conv", 13, {ints_attr("pads", {1, 1, 1, 1})}, 3);
  Node fused_node;
  const KernelFactory* f = find_kernel("com.microsoft", "FusedConv", 1);
  ASSERT_NE(f, nullptr);
  fused_node.op_type = "FusedConv";
  fused_node.domain = "com.microsoft";
  fused_node.inputs = {"x", "w", "b", "z"};
  fused_node.outputs = {"y"};
  fused_node.attributes["pads"] = ints_attr("pads", {1, 1, 1, 1});
  fused_node.attributes["activation"] = act;
  auto fused = (*f)();
  KernelConfig cfg{fused_node, 1, {nullptr, &w, &b}, 1, {}};
  ASSERT_TRUE(fused->prepare(cfg).is_ok());
  KernelContext ctx({&x, &w, &b, &z}, 1, 1, nullptr);
  ASSERT_TRUE(fused->compute(ctx).is_ok());
  Tensor ref = plain.run({&x, &w, &b})[0];
  const Tensor& y = ctx.output(0);
  ASSERT_EQ(y.shape(), ref.shape());
  for (int64_t i = 0; i < y.size(); ++i)
    ASSERT_NEAR(y.data<float>()[i], std::max(0.0f, ref.data<float>()[i] + z.data<float>()[i]), 1e-5)
        << i;
}

TEST(NnKernels, PackedWeightsServeEveryBatchSize) {
  Tensor w = random_tensor<float>({16, 8, 3, 3}, 27);
  Op conv("Conv", 13, {ints_attr("pads", {1, 1, 1, 1})}, 2, 1, {Tensor(), w});
  Tensor x3 = random_tensor<float>({3, 8, 10, 10}, 28);
  Tensor y3 = conv.run({&x3, &w})[0];
  for (int64_t n = 0; n < 3; ++n) {
    Tensor x1 = Tensor::create(DataType::kFloat, {1, 8, 10, 10});
    std::copy(x3.data<float>() + n * 800, x3.data<float>() + (n + 1) * 800, x1.data<float>());
    Tensor y1 = conv.run({&x1, &w})[0];
    for (int64_t i = 0; i < y1.size(); ++i)
      ASSERT_NEAR(y1.data<float>()[i], y3.data<float>()[n * y1.size() + i], 1e-5);
  }
  Tensor b = random_tensor<float>({64, 48}, 29);
  Op mm("MatMul", 13, {}, 2, 1, {Tensor(), b});
  for (int64_t rows : {1, 37, 5}) {
    Tensor a = random_tensor<float>({rows, 64}, 30 + static_cast<uint32_t>(rows));
    Tensor y = mm.run({&a, &b})[0];
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < 48; ++c) {
        double acc = 0;
        for (int64_t k = 0; k < 64; ++k)
          acc += a.data<float>()[r * 64 + k] * b.data<float>()[k * 48 + c];
        ASSERT_NEAR(y.data<float>()[r * 48 + c], acc, 1e-4);
      }
  }
}
