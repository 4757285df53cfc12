// KServe v2 datatype strings ("FP32", "INT64", "BYTES", "BF16", ...) <-> Nalar dtypes.
#pragma once

#include <string_view>

#include "nalar/dtype.h"

namespace nalar::serving {

const char* kserve_dtype_name(DataType t);          // "" when the protocol has no name for it
DataType dtype_from_kserve(std::string_view name);  // kUndefined when unknown

}  // namespace nalar::serving
