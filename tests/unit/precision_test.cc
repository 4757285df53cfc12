// SessionOptions::precision: bf16 and dynamic int8 GEMMs stay within their error bounds of an
// exact (double) reference, on a small MLP (FusedMatMul + Relu + Gemm) and a batched MatMul.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "nalar/session.h"
#include "test_models.h"

using namespace nalar;

namespace {

constexpr int64_t kIn = 64, kHidden = 96, kOut = 10;

std::vector<float> wave(size_t n, float scale, float phase) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(static_cast<float>(i) * 0.37f + phase) * scale;
  return v;
}

void add_constant(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
                  const std::vector<float>& values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float v : values) t->add_float_data(v);
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op,
                          const std::vector<std::string>& in, const std::string& out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  for (const auto& i : in) n->add_input(i);
  n->add_output(out);
  return n;
}

struct Mlp {
  std::vector<float> w1 = wave(kIn * kHidden, 0.2f, 0.1f), b1 = wave(kHidden, 0.5f, 0.7f);
  std::vector<float> w2 = wave(kOut * kHidden, 0.3f, 1.3f), b2 = wave(kOut, 0.4f, 2.0f);
  float alpha = 0.5f;

  // y = alpha * relu(x W1 + b1) W2^T + b2: MatMul+Add (fused), Relu, Gemm(transB, alpha).
  std::string bytes() const {
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(13);
    auto* g = m.mutable_graph();
    g->set_name("mlp");
    add_constant(g, "w1", {kIn, kHidden}, w1);
    add_constant(g, "b1", {kHidden}, b1);
    add_constant(g, "w2", {kOut, kHidden}, w2);
    add_constant(g, "b2", {kOut}, b2);
    add_node(g, "MatMul", {"x", "w1"}, "mm");
    add_node(g, "Add", {"mm", "b1"}, "h");
    add_node(g, "Relu", {"h"}, "r");
    auto* gemm = add_node(g, "Gemm", {"r", "w2", "b2"}, "y");
    auto* tb = gemm->add_attribute();
    tb->set_name("transB");
    tb->set_type(onnx::AttributeProto::INT);
    tb->set_i(1);
    auto* al = gemm->add_attribute();
    al->set_name("alpha");
    al->set_type(onnx::AttributeProto::FLOAT);
    al->set_f(alpha);
    *g->add_input() = testmodels::value_info("x", onnx::TensorProto::FLOAT, {-1, kIn});
    *g->add_output() = testmodels::value_info("y", onnx::TensorProto::FLOAT, {-1, kOut});
    return testmodels::serialize(m);
  }

  std::vector<double> reference(const Tensor& x) const {
    const int64_t rows = x.dim(0);
    std::vector<double> y(static_cast<size_t>(rows * kOut));
    std::vector<double> h(static_cast<size_t>(kHidden));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < kHidden; ++j) {
        double acc = b1[static_cast<size_t>(j)];
        for (int64_t t = 0; t < kIn; ++t)
          acc += double{x.data<float>()[r * kIn + t]} * w1[static_cast<size_t>(t * kHidden + j)];
        h[static_cast<size_t>(j)] = std::max(acc, 0.0);
      }
      for (int64_t o = 0; o < kOut; ++o) {
        double acc = 0;
        for (int64_t j = 0; j < kHidden; ++j)
          acc += h[static_cast<size_t>(j)] * w2[static_cast<size_t>(o * kHidden + j)];
        y[static_cast<size_t>(r * kOut + o)] = alpha * acc + b2[static_cast<size_t>(o)];
      }
    }
    return y;
  }
};

Tensor input(const Shape& shape, float scale, float offset) {
  Tensor x = Tensor::create(DataType::kFloat, shape);
  auto v = wave(static_cast<size_t>(x.size()), scale, 0.9f);
  for (size_t i = 0; i < v.size(); ++i) x.data<float>()[i] = v[i] + offset;
  return x;
}

Tensor run(const std::string& bytes, Precision precision, const Tensor& x) {
  SessionOptions options;
  options.num_threads = 2;
  options.precision = precision;
  auto s = Session::load_from_bytes(bytes.data(), bytes.size(), options);
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  if (!s.is_ok()) return {};
  auto out = (*s)->run({{"x", x}});
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return out.is_ok() ? (*out)[0].second : Tensor();
}

// Largest |y - ref| over the largest |ref|.
double relative_deviation(const Tensor& y, const std::vector<double>& ref) {
  double dev = 0, scale = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    dev = std::max(dev, std::fabs(y.data<float>()[i] - ref[i]));
    scale = std::max(scale, std::fabs(ref[i]));
  }
  return dev / scale;
}

// fp32 is exact to float rounding; bf16 (8-bit mantissa) and int8 stay within a few percent of
// the output range, and both really run in low precision (they differ from fp32).
void check_mlp(const Tensor& x) {
  Mlp mlp;
  const std::string bytes = mlp.bytes();
  const auto ref = mlp.reference(x);
  Tensor f32 = run(bytes, Precision::kFp32, x), bf16 = run(bytes, Precision::kBf16, x),
         int8 = run(bytes, Precision::kInt8, x);
  ASSERT_TRUE(f32.defined() && bf16.defined() && int8.defined());
  ASSERT_EQ(f32.size(), static_cast<int64_t>(ref.size()));
  ASSERT_EQ(bf16.shape(), f32.shape());
  ASSERT_EQ(int8.shape(), f32.shape());
  const double d32 = relative_deviation(f32, ref), d16 = relative_deviation(bf16, ref),
               d8 = relative_deviation(int8, ref);
  EXPECT_LT(d32, 1e-5);
  EXPECT_LT(d16, 2e-2);
  EXPECT_LT(d8, 3e-2);
  EXPECT_GT(d16, d32);
  EXPECT_GT(d8, d32);
}

TEST(Precision, MlpCenteredInputs) { check_mlp(input({8, kIn}, 1.5f, 0.0f)); }

// All-positive activations use the u8 range through the zero point; one row checks M = 1.
TEST(Precision, MlpShiftedInputs) { check_mlp(input({1, kIn}, 1.0f, 3.0f)); }
TEST(Precision, MlpLargerBatch) { check_mlp(input({33, kIn}, 2.0f, -0.5f)); }
// Past 32768 elements of A, the conversions run threaded and through oneDNN's reorder.
TEST(Precision, MlpLargeActivations) { check_mlp(input({600, kIn}, 2.0f, 0.25f)); }

// A plain MatMul with a constant B and batched A (rows fold into one GEMM).
TEST(Precision, BatchedMatMul) {
  constexpr int64_t k = 48, n = 20;
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("mm");
  const auto w = wave(k * n, 0.25f, 0.4f);
  add_constant(g, "w", {k, n}, w);
  add_node(g, "MatMul", {"x", "w"}, "y");
  *g->add_input() = testmodels::value_info("x", onnx::TensorProto::FLOAT, {2, 3, k});
  *g->add_output() = testmodels::value_info("y", onnx::TensorProto::FLOAT, {2, 3, n});
  const std::string bytes = testmodels::serialize(m);
  Tensor x = input({2, 3, k}, 1.0f, 0.2f);
  std::vector<double> ref(static_cast<size_t>(6 * n));
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t t = 0; t < k; ++t)
        acc += double{x.data<float>()[r * k + t]} * w[static_cast<size_t>(t * n + j)];
      ref[static_cast<size_t>(r * n + j)] = acc;
    }
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    Tensor y = run(bytes, p, x);
    ASSERT_TRUE(y.defined());
    EXPECT_EQ(y.shape(), (Shape{2, 3, n}));
    EXPECT_LT(relative_deviation(y, ref), p == Precision::kFp32 ? 1e-5 : 3e-2) << precision_name(p);
  }
}

TEST(Precision, ParsesNames) {
  const std::pair<const char*, Precision> names[] = {
      {"fp32", Precision::kFp32}, {"bf16", Precision::kBf16}, {"int8", Precision::kInt8}};
  for (const auto& [name, p] : names) {
    auto parsed = parse_precision(name);
    ASSERT_TRUE(parsed.is_ok()) << name;
    EXPECT_EQ(*parsed, p);
    EXPECT_EQ(std::string(precision_name(p)), name);
  }
  auto bad = parse_precision("fp8");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("expected fp32, bf16 or int8"), std::string::npos);
}

}  // namespace

namespace {

// Gemm with a constant (packed) B and a full C matrix scaled by beta: the C term is added after
// the packed product, in every precision.
TEST(Precision, PackedGemmWithScaledCMatrix) {
  constexpr int64_t m = 3, k = 40, n = 7;
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  auto* g = model.mutable_graph();
  g->set_name("gemm");
  const auto w = wave(k * n, 0.3f, 0.2f), c = wave(m * n, 1.0f, 0.5f);
  add_constant(g, "w", {k, n}, w);
  add_constant(g, "c", {m, n}, c);
  auto* gemm = add_node(g, "Gemm", {"x", "w", "c"}, "y");
  for (const auto& [name, v] : {std::pair<const char*, float>{"alpha", 2.0f}, {"beta", 0.5f}}) {
    auto* a = gemm->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  *g->add_input() = testmodels::value_info("x", onnx::TensorProto::FLOAT, {m, k});
  *g->add_output() = testmodels::value_info("y", onnx::TensorProto::FLOAT, {m, n});
  const std::string bytes = testmodels::serialize(model);
  Tensor x = input({m, k}, 1.0f, 0.0f);
  std::vector<double> ref(static_cast<size_t>(m * n));
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t t = 0; t < k; ++t)
        acc += double{x.data<float>()[r * k + t]} * w[static_cast<size_t>(t * n + j)];
      ref[static_cast<size_t>(r * n + j)] = 2.0 * acc + 0.5 * c[static_cast<size_t>(r * n + j)];
    }
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    Tensor y = run(bytes, p, x);
    ASSERT_TRUE(y.defined());
    EXPECT_EQ(y.shape(), (Shape{m, n}));
    EXPECT_LT(relative_deviation(y, ref), p == Precision::kFp32 ? 1e-5 : 3e-2) << precision_name(p);
  }
}

// A 1-D A against a packed B: the promoted row is dropped from the result, [K] x [K,N] -> [N].
TEST(Precision, PackedMatMulWithVectorA) {
  constexpr int64_t k = 16, n = 5;
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  auto* g = model.mutable_graph();
  g->set_name("mv");
  const auto w = wave(k * n, 0.5f, 0.3f);
  add_constant(g, "w", {k, n}, w);
  add_node(g, "MatMul", {"x", "w"}, "y");
  *g->add_input() = testmodels::value_info("x", onnx::TensorProto::FLOAT, {k});
  *g->add_output() = testmodels::value_info("y", onnx::TensorProto::FLOAT, {n});
  const std::string bytes = testmodels::serialize(model);
  Tensor x = input({k}, 1.0f, 0.1f);
  Tensor y = run(bytes, Precision::kFp32, x);
  ASSERT_TRUE(y.defined());
  ASSERT_EQ(y.shape(), (Shape{n}));
  for (int64_t j = 0; j < n; ++j) {
    double acc = 0;
    for (int64_t t = 0; t < k; ++t)
      acc += double{x.data<float>()[t]} * w[static_cast<size_t>(t * n + j)];
    EXPECT_NEAR(y.data<float>()[j], acc, 1e-5 + 1e-5 * std::fabs(acc)) << j;
  }
}

}  // namespace
