#include <gtest/gtest.h>

#include "nalar/tensor.h"

using namespace nalar;

TEST(Tensor, CreateIsZeroFilledAndSized) {
  Tensor t = Tensor::create(DataType::kFloat, {2, 3});
  EXPECT_EQ(t.size(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
}

TEST(Tensor, ReshapedSharesStorageCloneDoesNot) {
  Tensor t = Tensor::from_vector<int64_t>({1, 2, 3, 4}, {2, 2});
  Tensor r = t.reshaped({4});
  EXPECT_TRUE(r.shares_storage_with(t));
  Tensor c = t.clone();
  EXPECT_FALSE(c.shares_storage_with(t));
  EXPECT_EQ(c.data<int64_t>()[3], 4);
}

TEST(Tensor, StringsAreObjects) {
  Tensor t = Tensor::create(DataType::kString, {2});
  t.data<std::string>()[1] = "hello";
  Tensor c = t.clone();
  EXPECT_EQ(c.data<std::string>()[1], "hello");
  EXPECT_EQ(c.data<std::string>()[0], "");
}

TEST(Float16, RoundTripsAndRounds) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f}) {
    EXPECT_EQ(static_cast<float>(Float16(f)), f) << f;
  }
  EXPECT_TRUE(std::isinf(static_cast<float>(Float16(1e6f))));
  EXPECT_EQ(static_cast<float>(BFloat16(1.0f)), 1.0f);
  EXPECT_EQ(static_cast<float>(BFloat16(3.140625f)), 3.140625f);
}
