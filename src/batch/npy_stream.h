// .npy files read and written as streams of rows along dimension 0, so that arrays far larger
// than memory go through a job: the header is parsed once and rows are read or appended in place.
#pragma once

#include <cstdint>
#include <string>

#include "nalar/dtype.h"
#include "nalar/status.h"
#include "nalar/tensor.h"

namespace nalar::batch {

struct NpyHeader {
  DataType dtype = DataType::kUndefined;
  Shape shape;              // C order
  int64_t data_offset = 0;  // bytes before the first element
  int64_t rows() const { return shape.empty() ? 1 : shape[0]; }
  Shape row_shape() const {
    return shape.empty() ? Shape{} : Shape(shape.begin() + 1, shape.end());
  }
  int64_t row_bytes() const;
};

// Reads and checks the header of `path`: little-endian numeric or bool dtype, C order, and a file
// holding all the data the shape promises.
Result<NpyHeader> read_npy_header(const std::string& path);

// The NumPy descr of a numeric dtype ("<f4"), or "" when NumPy has none.
std::string npy_descr(DataType dtype);
// A version 1.0 header (magic included) for a C-order array, padded to a multiple of 64 bytes.
std::string npy_header_bytes(DataType dtype, const Shape& shape);

}  // namespace nalar::batch
