// libFuzzer target: arbitrary bytes through the .npy parser.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto t = nalar::parse_npy(std::string(reinterpret_cast<const char*>(data), size), "<fuzz>");
  if (t.is_ok()) (void)nalar::serialize_npy(*t);
  return 0;
}
