#include "loadgen/tensor_spec.h"

#include <cstring>
#include <random>

namespace nalar::loadgen {

size_t kserve_element_size(const std::string& d) {
  if (d == "BOOL" || d == "INT8" || d == "UINT8") return 1;
  if (d == "INT16" || d == "UINT16" || d == "FP16" || d == "BF16") return 2;
  if (d == "INT32" || d == "UINT32" || d == "FP32") return 4;
  if (d == "INT64" || d == "UINT64" || d == "FP64") return 8;
  return 0;
}

namespace {

template <class T>
void fill(std::string& raw, size_t n, std::mt19937_64& rng, double lo, double hi) {
  raw.resize(n * sizeof(T));
  std::uniform_real_distribution<double> dist(lo, hi);
  for (size_t i = 0; i < n; ++i) {
    T v = static_cast<T>(dist(rng));
    std::memcpy(raw.data() + i * sizeof(T), &v, sizeof(T));
  }
}

}  // namespace

Result<InputTensor> generate_input(const std::string& spec, uint64_t seed) {
  const size_t a = spec.find(':');
  const size_t b = a == std::string::npos ? a : spec.find(':', a + 1);
  if (b == std::string::npos)
    return invalid_argument("--input '" + spec +
                            "': expected NAME:DATATYPE:DIMS, e.g. input:FP32:1x64");
  InputTensor t;
  t.name = spec.substr(0, a);
  t.datatype = spec.substr(a + 1, b - a - 1);
  const size_t elem = kserve_element_size(t.datatype);
  if (t.name.empty() || elem == 0 || t.datatype == "FP16" || t.datatype == "BF16")
    return invalid_argument("--input '" + spec +
                            "': name must be non-empty and DATATYPE one of BOOL, INT8..INT64, "
                            "UINT8..UINT64, FP32, FP64");
  std::string dims = spec.substr(b + 1);
  size_t n = 1;
  for (size_t pos = 0; pos <= dims.size();) {
    size_t end = dims.find('x', pos);
    if (end == std::string::npos) end = dims.size();
    const std::string d = dims.substr(pos, end - pos);
    if (d.empty() || d.find_first_not_of("0123456789") != std::string::npos || d.size() > 9)
      return invalid_argument("--input '" + spec +
                              "': dims must be positive integers joined by 'x'");
    t.shape.push_back(std::stoll(d));
    n *= static_cast<size_t>(t.shape.back());
    if (n > (size_t{1} << 31)) return invalid_argument("--input '" + spec + "': too many elements");
    pos = end + 1;
  }
  std::mt19937_64 rng(seed);
  const std::string& d = t.datatype;
  if (d == "FP32")
    fill<float>(t.raw, n, rng, -1, 1);
  else if (d == "FP64")
    fill<double>(t.raw, n, rng, -1, 1);
  else if (d == "BOOL")
    fill<uint8_t>(t.raw, n, rng, 0, 1.999);
  else if (d == "INT8")
    fill<int8_t>(t.raw, n, rng, -100, 100);
  else if (d == "UINT8")
    fill<uint8_t>(t.raw, n, rng, 0, 255);
  else if (d == "INT16")
    fill<int16_t>(t.raw, n, rng, -100, 100);
  else if (d == "UINT16")
    fill<uint16_t>(t.raw, n, rng, 0, 200);
  else if (d == "INT32")
    fill<int32_t>(t.raw, n, rng, 0, 100);
  else if (d == "UINT32")
    fill<uint32_t>(t.raw, n, rng, 0, 100);
  else if (d == "INT64")
    fill<int64_t>(t.raw, n, rng, 0, 100);
  else
    fill<uint64_t>(t.raw, n, rng, 0, 100);
  return t;
}

}  // namespace nalar::loadgen
