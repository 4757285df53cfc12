// The large-buffer cache behind Storage: freed large buffers are reused for the same size
// class, small ones are not cached, and tensors built on it keep their contents contract.
#include "core/buffer_pool.h"

#include <gtest/gtest.h>

#include "nalar/tensor.h"

using namespace nalar;

TEST(BufferPool, ReusesLargeBuffersOfTheSameClass) {
  buffer_pool::clear();
  const size_t big = (size_t{3} << 20) + 100;
  void* a = buffer_pool::allocate(big);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  buffer_pool::release(a, big);
  EXPECT_EQ(buffer_pool::cached_bytes(), buffer_pool::rounded_size(big));
  void* b = buffer_pool::allocate(big + 10);  // same 64 KiB class
  EXPECT_EQ(a, b);
  EXPECT_EQ(buffer_pool::cached_bytes(), 0u);
  buffer_pool::release(b, big + 10);
  void* c = buffer_pool::allocate(big * 2);  // another class: fresh memory
  EXPECT_NE(c, a);
  buffer_pool::release(c, big * 2);
  buffer_pool::clear();
  EXPECT_EQ(buffer_pool::cached_bytes(), 0u);
}

TEST(BufferPool, SmallBuffersAreNotCached) {
  buffer_pool::clear();
  void* a = buffer_pool::allocate(1000);
  ASSERT_NE(a, nullptr);
  buffer_pool::release(a, 1000);
  EXPECT_EQ(buffer_pool::cached_bytes(), 0u);
}

TEST(BufferPool, ReusedBufferIsZeroedForCreate) {
  buffer_pool::clear();
  const Shape shape{1 << 19};  // 2 MiB of floats
  {
    Tensor t = Tensor::empty(DataType::kFloat, shape);
    for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = 7.0f;
  }
  EXPECT_GT(buffer_pool::cached_bytes(), 0u);
  Tensor z = Tensor::create(DataType::kFloat, shape);  // reuses the dirty buffer
  for (int64_t i = 0; i < z.size(); ++i) ASSERT_EQ(z.data<float>()[i], 0.0f) << i;
  buffer_pool::clear();
}

TEST(BufferPool, LargerCachedBufferServesSmallerRequest) {
  buffer_pool::clear();
  const size_t big = size_t{8} << 20, small = size_t{2} << 20;
  void* a = buffer_pool::allocate(big);
  buffer_pool::release(a, big);
  void* b = buffer_pool::allocate(small);
  EXPECT_EQ(a, b);
  buffer_pool::release(b, small);  // returns with its real capacity
  EXPECT_EQ(buffer_pool::cached_bytes(), buffer_pool::rounded_size(big));
  buffer_pool::clear();
}
