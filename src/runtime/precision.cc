// Names of the GEMM precisions, for options parsed from flags and config files.
#include "nalar/session.h"

namespace nalar {

Result<Precision> parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "int8") return Precision::kInt8;
  return invalid_argument("unknown precision '" + name + "'; expected fp32, bf16 or int8");
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::kBf16:
      return "bf16";
    case Precision::kInt8:
      return "int8";
    case Precision::kFp32:
      break;
  }
  return "fp32";
}

}  // namespace nalar
