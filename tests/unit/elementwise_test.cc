#include "kernels/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/arith_util.h"
#include "kernels/cast_util.h"
#include "kernels/kernel.h"

using namespace nalar;

namespace {

// Runs the registered ai.onnx kernel `op` on `inputs` and returns output 0.
Result<Tensor> run_op(const std::string& op, std::vector<Tensor> inputs,
                      std::map<std::string, Attribute> attrs = {}, int64_t opset = 17) {
  Node node;
  node.op_type = op;
  node.attributes = std::move(attrs);
  for (size_t i = 0; i < inputs.size(); ++i) node.inputs.push_back("in" + std::to_string(i));
  node.outputs = {"out"};
  const KernelFactory* factory = find_kernel("", op, opset);
  if (!factory) return not_found(op + " is not registered");
  std::unique_ptr<Kernel> k = (*factory)();
  KernelConfig cfg{node, opset, {}, 1, nullptr};
  NALAR_RETURN_IF_ERROR(k->prepare(cfg));
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : inputs) ptrs.push_back(&t);
  KernelContext ctx(ptrs, 1, 1, nullptr);
  NALAR_RETURN_IF_ERROR(k->compute(ctx));
  return ctx.output(0);
}

Attribute int_attr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInt;
  a.i = v;
  return a;
}

}  // namespace

TEST(BroadcastPlan, SameShapeCollapsesToOneContiguousDim) {
  auto p = make_broadcast_plan({{2, 3, 4}, {2, 3, 4}}, "test");
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->out_shape, (Shape{2, 3, 4}));
  EXPECT_EQ(p->dims, (std::vector<int64_t>{24}));
  EXPECT_TRUE(p->all_contiguous());
}

TEST(BroadcastPlan, ChannelBroadcastKeepsThreeRuns) {
  // NCHW + [C,1,1]: N is walked by A only, C by both, HW by A only.
  auto p = make_broadcast_plan({{2, 3, 4, 5}, {3, 1, 1}}, "test");
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->out_shape, (Shape{2, 3, 4, 5}));
  EXPECT_EQ(p->dims, (std::vector<int64_t>{2, 3, 20}));
  EXPECT_EQ(p->strides[1], (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(p->inner_stride(0), 1);
  EXPECT_EQ(p->inner_stride(1), 0);
}

TEST(BroadcastPlan, BothSidesBroadcastAndErrors) {
  auto p = make_broadcast_plan({{3, 1}, {1, 4}}, "test");
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->out_shape, (Shape{3, 4}));
  EXPECT_EQ(p->total, 12);
  auto bad = make_broadcast_plan({{3, 2}, {3}}, "Add");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("Add"), std::string::npos);
}

TEST(BinaryLoop, OuterProductAndSplitRangesAgree) {
  Tensor a = Tensor::from_vector<int32_t>({1, 2, 3}, {3, 1});
  Tensor b = Tensor::from_vector<int32_t>({10, 20, 30, 40}, {1, 4});
  Tensor out;
  ASSERT_TRUE((binary_op<int32_t, int32_t, int32_t>(a, b, out, "t", 1, [](int32_t x, int32_t y) {
                return x * y;
              })).is_ok());
  ASSERT_EQ(out.shape(), (Shape{3, 4}));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(out.data<int32_t>()[i * 4 + j], (i + 1) * (j + 1) * 10);
  // Segments starting mid-row (as a thread chunk would) see the right offsets.
  auto p = make_broadcast_plan({{3, 1}, {1, 4}}, "t");
  int64_t seen = 0;
  for_each_segment<2>(*p, 5, 11, [&](int64_t o, const std::array<int64_t, 2>& io, int64_t len) {
    EXPECT_EQ(io[0], o / 4);
    EXPECT_EQ(io[1], o % 4);
    seen += len;
  });
  EXPECT_EQ(seen, 6);
}

TEST(Arith, IntegerModSignFollowsDivisor) {
  EXPECT_EQ(floor_mod<int32_t>(-4, 3), 2);
  EXPECT_EQ(floor_mod<int32_t>(7, -3), -2);
  EXPECT_EQ(floor_mod<int64_t>(-7, -3), -1);
  EXPECT_EQ(trunc_mod<int32_t>(-7, 3), -1);
  EXPECT_EQ(trunc_mod<int32_t>(5, 0), 0);                 // never traps
  EXPECT_NEAR(floor_mod<double>(-4.3, 2.1), 2.0, 1e-12);  // -4.3 = -3 * 2.1 + 2.0
}

TEST(Arith, IntegerDivisionTruncatesAndNeverTraps) {
  EXPECT_EQ(safe_div<int32_t>(-7, 2), -3);
  EXPECT_EQ(safe_div<int32_t>(7, 0), 0);
  EXPECT_EQ(safe_div<int32_t>(std::numeric_limits<int32_t>::min(), -1),
            std::numeric_limits<int32_t>::min());
  EXPECT_EQ(int_pow<int64_t>(3, 5), 243);
  EXPECT_EQ(int_pow<int32_t>(2, -1), 0);
}

TEST(Kernels, ModKernelPythonAndCStyle) {
  Tensor x = Tensor::from_vector<int64_t>({-4, 7, 5, 4, -7, 8}, {6});
  Tensor y = Tensor::from_vector<int64_t>({2, -3, 8, -2, 3, 5}, {6});
  auto py = run_op("Mod", {x, y});
  ASSERT_TRUE(py.is_ok()) << py.status().message();
  const std::vector<int64_t> want_py = {0, -2, 5, 0, 2, 3};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(py->data<int64_t>()[i], want_py[i]);
  auto c = run_op("Mod", {x, y}, {{"fmod", int_attr("fmod", 1)}});
  ASSERT_TRUE(c.is_ok());
  const std::vector<int64_t> want_c = {0, 1, 5, 0, -1, 3};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c->data<int64_t>()[i], want_c[i]);
}

TEST(Kernels, Float16AddBroadcastsAndRounds) {
  Tensor a = Tensor::from_vector<Float16>(
      {Float16(1.0f), Float16(2.0f), Float16(3.0f), Float16(4.0f)}, {2, 2});
  Tensor b = Tensor::from_vector<Float16>({Float16(0.5f), Float16(2048.0f)}, {2});
  auto r = run_op("Add", {a, b});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->dtype(), DataType::kFloat16);
  EXPECT_EQ(r->shape(), (Shape{2, 2}));
  EXPECT_EQ(static_cast<float>(r->data<Float16>()[0]), 1.5f);
  // 2048 + 2 = 2050 is representable; 2048 + 1 = 2049 rounds to even (2048).
  EXPECT_EQ(static_cast<float>(r->data<Float16>()[1]), 2050.0f);
  EXPECT_EQ(static_cast<float>(r->data<Float16>()[3]), 2052.0f);
  Tensor one = Tensor::from_vector<Float16>({Float16(1.0f)}, {1});
  Tensor big = Tensor::from_vector<Float16>({Float16(2048.0f)}, {1});
  auto t = run_op("Add", {big, one});
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(static_cast<float>(t->data<Float16>()[0]), 2048.0f);
}

TEST(Kernels, ShapeMismatchIsAnErrorNotACrash) {
  Tensor a = Tensor::from_vector<float>({1, 2, 3}, {3});
  Tensor b = Tensor::from_vector<float>({1, 2}, {2});
  auto r = run_op("Mul", {a, b});
  ASSERT_FALSE(r.is_ok());
  Tensor i = Tensor::from_vector<int32_t>({1, 2}, {2});
  EXPECT_FALSE(run_op("Add", {b, i}).is_ok());  // mixed types
}

TEST(Kernels, WhereAndVariadicBroadcast) {
  Tensor c = Tensor::from_vector<bool>({true, false}, {2, 1});
  Tensor x = Tensor::from_vector<int64_t>({1, 2, 3}, {3});
  Tensor y = Tensor::from_vector<int64_t>({-1}, {});
  auto w = run_op("Where", {c, x, y});
  ASSERT_TRUE(w.is_ok());
  EXPECT_EQ(w->shape(), (Shape{2, 3}));
  const std::vector<int64_t> want = {1, 2, 3, -1, -1, -1};
  for (int k = 0; k < 6; ++k) EXPECT_EQ(w->data<int64_t>()[k], want[k]);
  // Max over [3], [1], [2,3]: the first pair is smaller than the final shape.
  Tensor m0 = Tensor::from_vector<int16_t>({1, 5, 3}, {3});
  Tensor m1 = Tensor::from_vector<int16_t>({4}, {1});
  Tensor m2 = Tensor::from_vector<int16_t>({0, 0, 9, 6, 6, 0}, {2, 3});
  auto m = run_op("Max", {m0, m1, m2});
  ASSERT_TRUE(m.is_ok());
  const std::vector<int16_t> want_m = {4, 5, 9, 6, 6, 4};
  for (int k = 0; k < 6; ++k) EXPECT_EQ(m->data<int16_t>()[k], want_m[k]);
}

TEST(Cast, NumpyFloatFormatting) {
  EXPECT_EQ(format_float_numpy(0.5f), "0.5");
  EXPECT_EQ(format_float_numpy(1.0f), "1.0");
  EXPECT_EQ(format_float_numpy(123456789.0f), "123456790.0");
  EXPECT_EQ(format_float_numpy(1.5e-5f), "1.5e-05");
  EXPECT_EQ(format_float_numpy(0.0001f), "1e-04");  // float32(1e-4) is just below 1e-4
  EXPECT_EQ(format_float_numpy(1e16f), "1e+16");
  EXPECT_EQ(format_float_numpy(-0.0f), "-0.0");
  EXPECT_EQ(format_float_numpy(std::numeric_limits<float>::quiet_NaN()), "nan");
  EXPECT_EQ(format_float_numpy(-std::numeric_limits<float>::infinity()), "-inf");
  EXPECT_EQ(format_double_numpy(0.1), "0.1");
  EXPECT_EQ(format_half_numpy(Float16(0.1f)), "0.1");
}

TEST(Cast, ParsesSpecialValuesAndRoundsOnce) {
  double d = 0;
  ASSERT_TRUE(parse_double("-INF", &d));
  EXPECT_TRUE(std::isinf(d) && d < 0);
  ASSERT_TRUE(parse_double("+INF", &d));
  EXPECT_TRUE(std::isinf(d) && d > 0);
  ASSERT_TRUE(parse_double("NaN", &d));
  EXPECT_TRUE(std::isnan(d));
  EXPECT_FALSE(parse_double("1.5abc", &d));
  // 1 + 2^-11 + 2^-40 is just above a float16 tie: one rounding gives 1 + 2^-10, going
  // through float first would round to the tie and then to even (1.0).
  const double v = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  EXPECT_EQ(static_cast<float>(convert_value<Float16>(v)), 1.0f + std::ldexp(1.0f, -10));
  EXPECT_EQ(convert_value<int32_t>(std::numeric_limits<double>::quiet_NaN()), 0);
  EXPECT_EQ(convert_value<uint8_t>(-1.0f), 255);
  EXPECT_EQ(convert_value<int64_t>(1e300), std::numeric_limits<int64_t>::max());
}

TEST(Kernels, VectorisedExpAndSigmoidTrackLibm) {
  std::vector<float> xs;
  for (float x = -100.0f; x <= 100.0f; x += 0.00731f) xs.push_back(x);
  xs.push_back(std::numeric_limits<float>::quiet_NaN());  // odd count: exercises the tail
  Tensor x = Tensor::from_vector<float>(xs, {static_cast<int64_t>(xs.size())});
  auto e = run_op("Exp", {x});
  auto s = run_op("Sigmoid", {x});
  ASSERT_TRUE(e.is_ok() && s.is_ok());
  double worst = 0;
  for (size_t i = 0; i + 1 < xs.size(); ++i) {
    const double want = std::exp(static_cast<double>(xs[i]));
    const float got = e->data<float>()[i];
    if (want > 1e-30 && want < 1e38) worst = std::max(worst, std::fabs(got - want) / want);
    if (want > 1e39) {
      EXPECT_TRUE(std::isinf(got)) << xs[i];
    }
    const double sig = 1.0 / (1.0 + std::exp(-static_cast<double>(xs[i])));
    EXPECT_NEAR(s->data<float>()[i], sig, 1e-6 * sig + 1e-30) << xs[i];
  }
  EXPECT_LT(worst, 5e-7);
  auto th = run_op("Tanh", {x});
  auto er = run_op("Erf", {x});
  ASSERT_TRUE(th.is_ok() && er.is_ok());
  for (size_t i = 0; i + 1 < xs.size(); ++i) {
    const double v = xs[i];
    EXPECT_NEAR(th->data<float>()[i], std::tanh(v), 1e-6 * std::fabs(std::tanh(v)) + 1e-9) << v;
    EXPECT_NEAR(er->data<float>()[i], std::erf(v), 2e-6 * std::fabs(std::erf(v)) + 2e-7) << v;
  }
  EXPECT_TRUE(std::isnan(th->data<float>()[xs.size() - 1]));
  EXPECT_TRUE(std::isnan(er->data<float>()[xs.size() - 1]));
  EXPECT_TRUE(std::isnan(e->data<float>()[xs.size() - 1]));
  EXPECT_TRUE(std::isnan(s->data<float>()[xs.size() - 1]));
}

TEST(Kernels, LargeBroadcastSplitAcrossThreadsMatchesNaive) {
  // Big enough for parallel_for to split, with chunk borders falling mid-row.
  const int64_t n = 3, c = 7, hw = 5003;
  std::vector<float> av(static_cast<size_t>(n * c * hw)), bv(static_cast<size_t>(c));
  for (size_t i = 0; i < av.size(); ++i) av[i] = static_cast<float>(i % 1000) * 0.5f;
  for (size_t i = 0; i < bv.size(); ++i) bv[i] = static_cast<float>(i) * 100.0f;
  Tensor a = Tensor::from_vector<float>(av, {n, c, hw});
  Tensor b = Tensor::from_vector<float>(bv, {c, 1});
  auto r = run_op("Sub", {a, b});
  ASSERT_TRUE(r.is_ok());
  for (int64_t i = 0; i < n * c * hw; ++i)
    ASSERT_EQ(r->data<float>()[i],
              av[static_cast<size_t>(i)] - bv[static_cast<size_t>((i / hw) % c)])
        << i;
}

TEST(Kernels, SeededRandomMatchesNumpyLegacyStream) {
  // np.random.seed(3); np.random.uniform(2, 5, 4) and np.random.normal(1, 2, 5).
  Attribute seed;
  seed.name = "seed";
  seed.type = AttrType::kFloat;
  seed.f = 3;
  auto float_attr = [](const char* name, float v) {
    Attribute a;
    a.name = name;
    a.type = AttrType::kFloat;
    a.f = v;
    return a;
  };
  Tensor like = Tensor::create(DataType::kFloat, {2, 2});
  auto u = run_op("RandomUniformLike", {like},
                  {{"seed", seed}, {"low", float_attr("low", 2)}, {"high", float_attr("high", 5)}});
  ASSERT_TRUE(u.is_ok()) << u.status().message();
  const float want_u[] = {3.6523938f, 4.1244435f, 2.8727143f, 3.5324829f};
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(u->data<float>()[i], want_u[i]);
  Attribute shape;
  shape.name = "shape";
  shape.type = AttrType::kInts;
  shape.ints = {5};
  auto g = run_op("RandomNormal", {},
                  {{"seed", seed},
                   {"shape", shape},
                   {"mean", float_attr("mean", 1)},
                   {"scale", float_attr("scale", 2)}});
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  const float want_g[] = {4.577257f, 1.8730197f, 1.192995f, -2.7269855f, 0.4452236f};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(g->data<float>()[i], want_g[i], 1e-5f);
}
