#include <gtest/gtest.h>

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
