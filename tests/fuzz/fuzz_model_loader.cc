// libFuzzer target: arbitrary bytes through the ONNX loader (protobuf parse + IR conversion).
#include <cstddef>
#include <cstdint>

#include "onnx/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto model = nalar::load_model_bytes(data, size, "", "<fuzz>");
  (void)model;
  return 0;
}
