#include "nalar/tensor.h"

#include <cstdlib>
#include <new>

#include "core/buffer_pool.h"

namespace nalar {

int64_t shape_size(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Storage::Storage(DataType dtype, size_t count, bool zero_fill)
    : dtype_(dtype), count_(count), owned_(true) {
  bytes_ = count * dtype_size(dtype);
  data_ = buffer_pool::allocate(bytes_);
  if (!data_) throw std::bad_alloc();
  if (dtype == DataType::kString) {
    auto* s = static_cast<std::string*>(data_);
    for (size_t i = 0; i < count; ++i) new (s + i) std::string();
  } else if (zero_fill) {
    std::memset(data_, 0, bytes_);
  }
}

Storage::Storage(void* data, size_t bytes, std::shared_ptr<void> keep_alive)
    : data_(data), bytes_(bytes), keep_alive_(std::move(keep_alive)) {}

Storage::~Storage() {
  if (!owned_) return;
  if (dtype_ == DataType::kString) {
    auto* s = static_cast<std::string*>(data_);
    for (size_t i = 0; i < count_; ++i) s[i].~basic_string();
  }
  buffer_pool::release(data_, bytes_);
}

Tensor Tensor::create(DataType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.size_ = shape_size(t.shape_);
  t.storage_ = std::make_shared<Storage>(dtype, static_cast<size_t>(t.size_));
  return t;
}

Tensor Tensor::empty(DataType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.size_ = shape_size(t.shape_);
  t.storage_ = std::make_shared<Storage>(dtype, static_cast<size_t>(t.size_), false);
  return t;
}

Tensor Tensor::wrap(DataType dtype, Shape shape, void* data, std::shared_ptr<void> keep_alive) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.size_ = shape_size(t.shape_);
  t.storage_ = std::make_shared<Storage>(data, t.nbytes(), std::move(keep_alive));
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.size_ = shape_size(t.shape_);
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return Tensor();
  Tensor t = empty(dtype_, shape_);
  if (dtype_ == DataType::kString) {
    const auto* src = data<std::string>();
    auto* dst = t.data<std::string>();
    for (int64_t i = 0; i < size_; ++i) dst[i] = src[i];
  } else if (size_ > 0) {
    std::memcpy(t.raw(), raw(), nbytes());
  }
  return t;
}

std::string Tensor::describe() const {
  return std::string(dtype_name(dtype_)) + shape_to_string(shape_);
}

}  // namespace nalar
