// Tensor: a typed, shaped view of reference-counted storage. Copies are cheap handles that share
// the bytes; use clone() for a deep copy. Strings are stored as std::string objects.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nalar/dtype.h"

namespace nalar {

using Shape = std::vector<int64_t>;

// Number of elements of a shape (1 for a scalar). Assumes no negative dims.
int64_t shape_size(const Shape& shape);
// "[1,3,224,224]"
std::string shape_to_string(const Shape& shape);

// Owns a block of 64-byte-aligned memory, or borrows one kept alive by `keep_alive`.
class Storage {
 public:
  // Allocates; numeric data is zero-filled unless `zero_fill` is false (strings are always
  // constructed).
  Storage(DataType dtype, size_t count, bool zero_fill = true);
  Storage(void* data, size_t bytes, std::shared_ptr<void> keep_alive);  // borrows
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  DataType dtype_ = DataType::kUndefined;
  size_t count_ = 0;
  bool owned_ = false;
  std::shared_ptr<void> keep_alive_;
};

class Tensor {
 public:
  Tensor() = default;

  // A new zero-filled tensor (empty strings for kString).
  static Tensor create(DataType dtype, Shape shape);
  // A new tensor whose numeric contents are uninitialised: for outputs a kernel overwrites
  // completely (saves the zero-fill pass on every run). Strings are still empty strings.
  static Tensor empty(DataType dtype, Shape shape);
  // Copies `count` elements from `values`.
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, Shape shape) {
    Tensor t = create(dtype_of<T>, std::move(shape));
    T* dst = t.data<T>();
    for (size_t i = 0; i < values.size() && i < static_cast<size_t>(t.size()); ++i) dst[i] = values[i];
    return t;
  }
  template <class T>
  static Tensor scalar(T value) {
    return from_vector<T>({value}, {});
  }
  // Zero-copy view of external numeric memory, kept alive by `keep_alive` (may be null when the
  // caller guarantees the lifetime).
  static Tensor wrap(DataType dtype, Shape shape, void* data, std::shared_ptr<void> keep_alive);

  bool defined() const { return dtype_ != DataType::kUndefined; }
  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_[static_cast<size_t>(i)]; }
  int64_t size() const { return size_; }  // element count
  size_t nbytes() const { return static_cast<size_t>(size_) * dtype_size(dtype_); }

  void* raw() { return storage_ ? static_cast<char*>(storage_->data()) + offset_ : nullptr; }
  const void* raw() const {
    return storage_ ? static_cast<const char*>(storage_->data()) + offset_ : nullptr;
  }
  template <class T>
  T* data() {
    return static_cast<T*>(raw());
  }
  template <class T>
  const T* data() const {
    return static_cast<const T*>(raw());
  }

  // Same storage, new shape with the same element count (zero-copy).
  Tensor reshaped(Shape shape) const;
  // Deep copy into fresh storage.
  Tensor clone() const;
  // True when both tensors view the same bytes.
  bool shares_storage_with(const Tensor& other) const { return storage_ == other.storage_; }

  std::string describe() const;  // "float[1,3,224,224]"

 private:
  DataType dtype_ = DataType::kUndefined;
  Shape shape_;
  int64_t size_ = 0;
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
};

}  // namespace nalar
