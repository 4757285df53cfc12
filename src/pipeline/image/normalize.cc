#include "pipeline/image/normalize.h"

#include <array>
#include <cstring>
#include <string>

#include "nalar/dtype.h"

namespace nalar::pipeline {
namespace {

float channel_value(const std::vector<float>& v, int c, float fallback) {
  if (v.empty()) return fallback;
  return v.size() == 1 ? v[0] : v[static_cast<size_t>(c)];
}

// Every output is a table lookup: 256 values per channel, computed with the same float
// operations a NumPy float32 reference uses.
template <class T>
void write_with_tables(const Image8& image, const ImageConfig& config, T* out) {
  const int C = image.channels;
  std::array<std::array<T, 256>, 3> table;
  for (int c = 0; c < C; ++c) {
    const float mean = channel_value(config.mean, c, 0.0f);
    const float std = channel_value(config.std, c, 1.0f);
    for (int v = 0; v < 256; ++v) {
      const float value = (static_cast<float>(v) * config.scale - mean) / std;
      if constexpr (std::is_same_v<T, Float16>) {
        table[c][v] = Float16(value);
      } else {
        table[c][v] = static_cast<T>(value);
      }
    }
  }
  const size_t plane = static_cast<size_t>(image.width) * image.height;
  const uint8_t* px = image.pixels.get();
  if (config.layout == Layout::kNHWC || C == 1) {
    for (size_t i = 0; i < plane; ++i) {
      for (int c = 0; c < C; ++c) out[i * C + c] = table[c][px[i * C + c]];
    }
    return;
  }
  for (int c = 0; c < C; ++c) {
    T* dst = out + c * plane;
    const auto& t = table[c];
    for (size_t i = 0; i < plane; ++i) dst[i] = t[px[i * C + c]];
  }
}

}  // namespace

Status check_normalization(const ImageConfig& config, int channels) {
  for (const auto* values : {&config.mean, &config.std}) {
    const size_t n = values->size();
    if (n != 0 && n != 1 && n != static_cast<size_t>(channels)) {
      return invalid_argument(std::string(values == &config.mean ? "mean" : "std") + " has " +
                              std::to_string(n) + " values; expected 1 or " +
                              std::to_string(channels) + " (one per channel)");
    }
  }
  for (float s : config.std) {
    if (s == 0.0f) return invalid_argument("std has a zero value; expected non-zero divisors");
  }
  switch (config.dtype) {
    case DataType::kFloat:
    case DataType::kFloat16:
    case DataType::kDouble:
    case DataType::kUint8:
      return Status::ok();
    default:
      return invalid_argument(std::string("image dtype ") + dtype_name(config.dtype) +
                              " is not supported; expected float32, float16, float64 or uint8");
  }
}

void write_normalized(const Image8& image, const ImageConfig& config, void* out) {
  switch (config.dtype) {
    case DataType::kFloat:
      write_with_tables(image, config, static_cast<float*>(out));
      break;
    case DataType::kFloat16:
      write_with_tables(image, config, static_cast<Float16*>(out));
      break;
    case DataType::kDouble:
      write_with_tables(image, config, static_cast<double*>(out));
      break;
    case DataType::kUint8: {
      const int C = image.channels;
      const size_t plane = static_cast<size_t>(image.width) * image.height;
      auto* dst = static_cast<uint8_t*>(out);
      if (config.layout == Layout::kNHWC || C == 1) {
        std::memcpy(dst, image.pixels.get(), plane * C);
      } else {
        for (int c = 0; c < C; ++c) {
          for (size_t i = 0; i < plane; ++i) dst[c * plane + i] = image.pixels[i * C + c];
        }
      }
      break;
    }
    default:
      break;  // refused by check_normalization
  }
}

}  // namespace nalar::pipeline
