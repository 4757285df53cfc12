// Element types. The numeric values are ONNX's TensorProto.DataType, so they convert 1:1.
#pragma once

#include <complex>
#include <cstdint>
#include <cstring>
#include <string>

namespace nalar {

enum class DataType : int {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUint32 = 12,
  kUint64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
};

// IEEE half precision, stored as bits; arithmetic goes through float.
struct Float16 {
  uint16_t bits = 0;
  Float16() = default;
  explicit Float16(float f) : bits(from_float(f)) {}
  operator float() const { return to_float(bits); }  // NOLINT: implicit widening is lossless

  static uint16_t from_float(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t mant = x & 0x7fffffu;
    int32_t exp = static_cast<int32_t>((x >> 23) & 0xff);
    if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
    int32_t e = exp - 127 + 15;
    if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
    if (e <= 0) {                                                  // subnormal or zero
      if (e < -10) return static_cast<uint16_t>(sign);
      mant |= 0x800000u;
      uint32_t shift = static_cast<uint32_t>(14 - e);
      uint32_t half = mant >> shift;
      uint32_t rem = mant & ((1u << shift) - 1);
      uint32_t mid = 1u << (shift - 1);
      if (rem > mid || (rem == mid && (half & 1u))) ++half;
      return static_cast<uint16_t>(sign | half);
    }
    uint32_t half = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;  // round to nearest even
    return static_cast<uint16_t>(half);
  }
  static float to_float(uint16_t h) {
    uint32_t sign = (h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t x;
    if (exp == 0) {
      if (mant == 0) {
        x = sign;
      } else {  // normalise the subnormal
        int e = -1;
        do {
          ++e;
          mant <<= 1;
        } while ((mant & 0x400u) == 0);
        x = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
      }
    } else if (exp == 0x1f) {
      x = sign | 0x7f800000u | (mant << 13);
    } else {
      x = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &x, 4);
    return f;
  }
};

// bfloat16: the top 16 bits of a float, rounded to nearest even.
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  explicit BFloat16(float f) : bits(from_float(f)) {}
  operator float() const { return to_float(bits); }  // NOLINT

  static uint16_t from_float(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // NaN
    x += 0x7fffu + ((x >> 16) & 1u);
    return static_cast<uint16_t>(x >> 16);
  }
  static float to_float(uint16_t b) {
    uint32_t x = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &x, 4);
    return f;
  }
};

// Bytes per element; 0 for kString (elements are std::string objects) and kUndefined.
size_t dtype_size(DataType t);
// ONNX's spelling, e.g. "float", "int64", "string".
const char* dtype_name(DataType t);
bool dtype_is_float(DataType t);    // float16, bfloat16, float, double
bool dtype_is_integer(DataType t);  // signed or unsigned integer (not bool)

template <class T>
struct DataTypeOf;
#define NALAR_DTYPE_OF(T, V) \
  template <>                \
  struct DataTypeOf<T> {     \
    static constexpr DataType value = V; \
  };
NALAR_DTYPE_OF(float, DataType::kFloat)
NALAR_DTYPE_OF(uint8_t, DataType::kUint8)
NALAR_DTYPE_OF(int8_t, DataType::kInt8)
NALAR_DTYPE_OF(uint16_t, DataType::kUint16)
NALAR_DTYPE_OF(int16_t, DataType::kInt16)
NALAR_DTYPE_OF(int32_t, DataType::kInt32)
NALAR_DTYPE_OF(int64_t, DataType::kInt64)
NALAR_DTYPE_OF(std::string, DataType::kString)
NALAR_DTYPE_OF(bool, DataType::kBool)
NALAR_DTYPE_OF(Float16, DataType::kFloat16)
NALAR_DTYPE_OF(double, DataType::kDouble)
NALAR_DTYPE_OF(uint32_t, DataType::kUint32)
NALAR_DTYPE_OF(uint64_t, DataType::kUint64)
NALAR_DTYPE_OF(std::complex<float>, DataType::kComplex64)
NALAR_DTYPE_OF(std::complex<double>, DataType::kComplex128)
NALAR_DTYPE_OF(BFloat16, DataType::kBFloat16)
#undef NALAR_DTYPE_OF

template <class T>
inline constexpr DataType dtype_of = DataTypeOf<T>::value;

}  // namespace nalar
