#include <gtest/gtest.h>

#include <cmath>

#include "kernels/quant_util.h"
#include "kernels/reduce_impl.h"
#include "kernels/reduce_util.h"

using namespace nalar;

TEST(ReduceUtil, MaskAndShape) {
  auto mask = reduction_mask({-1, 1}, 4, "ReduceSum");
  ASSERT_TRUE(mask.is_ok());
  EXPECT_EQ(*mask, (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(reduced_shape({2, 3, 4, 5}, *mask, true), (Shape{2, 1, 4, 1}));
  EXPECT_EQ(reduced_shape({2, 3, 4, 5}, *mask, false), (Shape{2, 4}));
  // Empty axes means every axis.
  auto all = reduction_mask({}, 3, "ReduceSum");
  ASSERT_TRUE(all.is_ok());
  EXPECT_EQ(*all, (std::vector<bool>{true, true, true}));
  EXPECT_FALSE(reduction_mask({1, -3}, 4, "ReduceSum").is_ok());  // axis 1 twice
  EXPECT_FALSE(reduction_mask({4}, 4, "ReduceSum").is_ok());      // out of range
}

TEST(ReduceUtil, MergeBlocksSkipsUnitDims) {
  // [2, 1, 3, 4, 5] reducing {3, 4}: kept 2*3, reduced 4*5.
  auto b = merge_reduce_blocks({2, 1, 3, 4, 5}, {false, true, false, true, true});
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].extent, 6);
  EXPECT_FALSE(b[0].reduced);
  EXPECT_EQ(b[1].extent, 20);
  EXPECT_TRUE(b[1].reduced);
}

TEST(Reduce, LayoutsAgree) {
  // The same reduction through the row, column and general loops.
  using namespace reduce_detail;
  Shape shape{3, 4, 5};
  std::vector<float> x(60);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) - 3.f;
  Tensor t = Tensor::from_vector(x, shape);
  for (const std::vector<bool>& mask :
       {std::vector<bool>{false, false, true}, std::vector<bool>{false, true, false},
        std::vector<bool>{true, false, true}}) {
    Tensor y = Tensor::create(DataType::kFloat, reduced_shape(shape, mask, true));
    run_reduce<ROp::kLogSumExp, float>(t, mask, y);
    // Brute force.
    const auto strides = strides_of(shape);
    const auto ystr = strides_of(y.shape());
    std::vector<double> acc(static_cast<size_t>(y.size()), 0.0);
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t k = 0; k < 5; ++k) {
          const int64_t o = (mask[0] ? 0 : i) * ystr[0] + (mask[1] ? 0 : j) * ystr[1] +
                            (mask[2] ? 0 : k) * ystr[2];
          acc[static_cast<size_t>(o)] += std::exp(x[i * strides[0] + j * strides[1] + k]);
        }
    for (int64_t o = 0; o < y.size(); ++o)
      EXPECT_NEAR(y.data<float>()[o], std::log(acc[static_cast<size_t>(o)]), 1e-5);
  }
}

TEST(Reduce, EmptySetGivesIdentity) {
  using namespace reduce_detail;
  Tensor t = Tensor::create(DataType::kInt32, {2, 0});
  std::vector<bool> mask{false, true};
  Tensor y = Tensor::create(DataType::kInt32, {2});
  run_reduce<ROp::kProd, int32_t>(t, mask, y);
  EXPECT_EQ(y.data<int32_t>()[1], 1);
  run_reduce<ROp::kMax, int32_t>(t, mask, y);
  EXPECT_EQ(y.data<int32_t>()[0], std::numeric_limits<int32_t>::lowest());
}

TEST(Quant, SaturatingRoundHalfToEven) {
  EXPECT_EQ(quantize_saturate<uint8_t>(2.5f, 0.f), 2);
  EXPECT_EQ(quantize_saturate<uint8_t>(3.5f, 0.f), 4);
  EXPECT_EQ(quantize_saturate<uint8_t>(-7.f, 5.f), 0);
  EXPECT_EQ(quantize_saturate<int8_t>(1000.f, 0.f), 127);
  EXPECT_EQ(quantize_saturate<int8_t>(-2.5f, 0.f), -2);
}

TEST(Quant, GemmMatchesReference) {
  const int64_t m = 7, n = 9, k = 5;
  std::vector<int16_t> a(m * k), b(k * n);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<int16_t>(static_cast<int>(i * 37 % 255) - 128);
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<int16_t>(static_cast<int>(i * 91 % 255) - 100);
  std::vector<int32_t> c(m * n, -1);
  gemm_s16_s32(0, m, n, k, a.data(), k, b.data(), n, c.data(), n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int32_t ref = 0;
      for (int64_t p = 0; p < k; ++p) ref += a[i * k + p] * b[p * n + j];
      EXPECT_EQ(c[i * n + j], ref);
    }
}
