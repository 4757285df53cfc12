// NumPy .npy files (format versions 1-3): the exchange format of `nalar run`.
#pragma once

#include <string>

#include "nalar/status.h"
#include "nalar/tensor.h"

namespace nalar {

// Parses .npy bytes. Little-endian numeric, bool, complex and unicode ('<U') arrays; Fortran
// order is converted to C order. `source` names the file in error messages.
Result<Tensor> parse_npy(const std::string& bytes, const std::string& source);
Result<Tensor> read_npy(const std::string& path);

// Serializes in C order with the tensor's own dtype (bfloat16, which NumPy lacks, as float32;
// strings as fixed-width '<U').
std::string serialize_npy(const Tensor& tensor);
Status write_npy(const std::string& path, const Tensor& tensor);

}  // namespace nalar
