#include <gtest/gtest.h>

#include "kernels/kernel.h"
#include "kernels/shape_util.h"

using namespace nalar;

TEST(ShapeOps, NormalizePermAcceptsNegativeAndRejectsDuplicates) {
  auto ok = normalize_perm({-1, 0, 1}, 3, "T");
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok.value(), (std::vector<int64_t>{2, 0, 1}));
  EXPECT_FALSE(normalize_perm({0, 0, 1}, 3, "T").is_ok());
  EXPECT_FALSE(normalize_perm({0, 1}, 3, "T").is_ok());
  EXPECT_FALSE(normalize_perm({0, 1, 3}, 3, "T").is_ok());
}

TEST(ShapeOps, TransposeMatchesIndexFormula) {
  // Large enough to take the tiled path.
  const int64_t a = 3, b = 40, c = 50;
  std::vector<int32_t> v(static_cast<size_t>(a * b * c));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(i);
  Tensor x = Tensor::from_vector<int32_t>(v, {a, b, c});
  auto r = transpose_tensor(x, {2, 0, 1}, "T");
  ASSERT_TRUE(r.is_ok());
  const Tensor& y = r.value();
  EXPECT_EQ(y.shape(), (Shape{c, a, b}));
  for (int64_t k = 0; k < c; ++k)
    for (int64_t i = 0; i < a; ++i)
      for (int64_t j = 0; j < b; ++j)
        ASSERT_EQ(y.data<int32_t>()[(k * a + i) * b + j], (i * b + j) * c + k);
}

TEST(ShapeOps, TransposeOfUnitDimsIsZeroCopy) {
  Tensor x = Tensor::from_vector<float>({1, 2, 3}, {1, 3, 1});
  auto r = transpose_tensor(x, {2, 1, 0}, "T");
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r.value().shares_storage_with(x));
  EXPECT_EQ(r.value().shape(), (Shape{1, 3, 1}));
}

TEST(ShapeOps, StridedCopyReversesAndBroadcasts) {
  Tensor x = Tensor::from_vector<std::string>({"a", "b", "c"}, {3});
  Tensor out = Tensor::create(DataType::kString, {2, 3});
  // Row 0 reversed, row 1 too: src stride 0 on the outer dim, -1 on the inner.
  strided_copy(x, StridedView{2, {0, -1}}, out, StridedView{0, {3, 1}}, {2, 3});
  EXPECT_EQ(out.data<std::string>()[0], "c");
  EXPECT_EQ(out.data<std::string>()[2], "a");
  EXPECT_EQ(out.data<std::string>()[4], "b");
}

TEST(ShapeOps, CheckedSizeRejectsNegativeAndOverflow) {
  EXPECT_EQ(checked_size({2, 3}, "X").value(), 6);
  EXPECT_EQ(checked_size({int64_t{1} << 50, 0}, "X").value(), 0);
  EXPECT_FALSE(checked_size({2, -1}, "X").is_ok());
  EXPECT_FALSE(checked_size({int64_t{1} << 30, int64_t{1} << 30, 4}, "X").is_ok());
}

TEST(ShapeOps, NormalizeAxesRejectsDuplicates) {
  EXPECT_EQ(normalize_axes({-1, 0}, 3, "X").value(), (std::vector<int64_t>{2, 0}));
  EXPECT_FALSE(normalize_axes({-1, 2}, 3, "X").is_ok());
  EXPECT_FALSE(normalize_axes({3}, 3, "X").is_ok());
}

namespace {

// Runs one registered ai.onnx kernel on `inputs` and returns its outputs (or the error).
Result<std::vector<Tensor>> run_op(const std::string& op, int64_t opset, const Node& node_in,
                                   const std::vector<Tensor>& inputs, size_t num_outputs = 1) {
  Node node = node_in;
  node.op_type = op;
  const KernelFactory* f = find_kernel("", op, opset);
  if (!f) return not_found("no kernel for " + op);
  std::unique_ptr<Kernel> k = (*f)();
  KernelConfig cfg{node, opset, {}, 1, nullptr};
  NALAR_RETURN_IF_ERROR(k->prepare(cfg));
  std::vector<const Tensor*> ins;
  for (const Tensor& t : inputs) ins.push_back(&t);
  KernelContext ctx(ins, num_outputs, 1, nullptr);
  NALAR_RETURN_IF_ERROR(k->compute(ctx));
  return ctx.outputs();
}

Tensor ints(std::vector<int64_t> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<int64_t>(v, {n});
}

}  // namespace

TEST(ShapeOps, SliceNegativeStepClampsAndReverses) {
  Tensor x = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {6});
  // x[INT64_MAX : -100 : -2] == [5, 3, 1]
  auto r = run_op("Slice", 13, Node{}, {x, ints({INT64_MAX}), ints({-100}), ints({0}), ints({-2})});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const Tensor& y = r.value()[0];
  ASSERT_EQ(y.shape(), (Shape{3}));
  EXPECT_EQ(y.data<float>()[0], 5);
  EXPECT_EQ(y.data<float>()[2], 1);
  EXPECT_FALSE(
      run_op("Slice", 13, Node{}, {x, ints({0}), ints({1}), ints({0}), ints({0})}).is_ok());
}

TEST(ShapeOps, GatherRejectsOutOfRangeIndices) {
  Tensor x = Tensor::from_vector<float>({1, 2, 3}, {3});
  auto ok = run_op("Gather", 13, Node{}, {x, ints({-1, 0})});
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok.value()[0].data<float>()[0], 3);
  auto bad = run_op("Gather", 13, Node{}, {x, ints({3})});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("out of range"), std::string::npos);
}

TEST(ShapeOps, ReshapeIsZeroCopyAndHonoursAllowzero) {
  Tensor x = Tensor::create(DataType::kFloat, {2, 3, 4});
  auto r = run_op("Reshape", 14, Node{}, {x, ints({0, -1})});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value()[0].shape(), (Shape{2, 12}));
  EXPECT_TRUE(r.value()[0].shares_storage_with(x));
  Node n;
  Attribute a;
  a.name = "allowzero";
  a.type = AttrType::kInt;
  a.i = 1;
  n.attributes["allowzero"] = a;
  EXPECT_FALSE(run_op("Reshape", 14, n, {x, ints({0, -1})}).is_ok());
}

TEST(ShapeOps, SplitUnevenLastChunk) {
  Tensor x = Tensor::from_vector<int32_t>({0, 1, 2, 3, 4, 5, 6}, {7});
  auto r = run_op("Split", 13, Node{}, {x}, 3);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value()[0].shape(), (Shape{3}));
  EXPECT_EQ(r.value()[2].shape(), (Shape{1}));
  EXPECT_EQ(r.value()[2].data<int32_t>()[0], 6);
}
