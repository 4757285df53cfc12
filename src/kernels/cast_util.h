// Element conversions for Cast/CastLike (and any kernel that needs a tensor in another type).
// Numeric conversions never invoke undefined behaviour: float -> integer truncates toward zero,
// wraps like numpy when the value fits in 64 bits, saturates beyond that, and maps NaN to 0;
// double -> float16/bfloat16 rounds once (to nearest even), not twice through float.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "kernels/elementwise.h"
#include "nalar/status.h"
#include "nalar/tensor.h"

namespace nalar {

// Rounds a double to float with "round to odd", so that a second rounding to a narrower
// format (float16, bfloat16) gives the correctly rounded result of the double.
inline float double_to_float_round_odd(double d) {
  float f = static_cast<float>(d);
  if (std::isfinite(f) && static_cast<double>(f) != d && !std::isnan(d)) {
    if (std::fabs(static_cast<double>(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    bits |= 1u;
    std::memcpy(&f, &bits, 4);
  }
  return f;
}

template <class To, class From>
inline To convert_value(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    return static_cast<ComputeType<From>>(v) != 0;
  } else if constexpr (std::is_same_v<From, bool>) {
    return static_cast<To>(static_cast<ComputeType<To>>(v ? 1 : 0));
  } else if constexpr (kIsHalf<To>) {
    if constexpr (std::is_same_v<From, double>) return To(double_to_float_round_odd(v));
    if constexpr (std::is_same_v<From, int64_t> || std::is_same_v<From, uint64_t>)
      return To(double_to_float_round_odd(static_cast<double>(v)));
    return To(static_cast<float>(v));
  } else if constexpr (std::is_floating_point_v<To>) {
    return static_cast<To>(static_cast<ComputeType<From>>(v));
  } else if constexpr (std::is_integral_v<From>) {
    return static_cast<To>(v);  // modular for narrowing (C++20)
  } else {                      // floating -> integer
    const double d = std::trunc(static_cast<double>(static_cast<ComputeType<From>>(v)));
    if (std::isnan(d)) return To(0);
    constexpr double k2p63 = 9223372036854775808.0;
    if (d >= -k2p63 && d < k2p63) return static_cast<To>(static_cast<int64_t>(d));
    if (std::is_same_v<To, uint64_t> && d >= 0 && d < 2 * k2p63)
      return static_cast<To>(static_cast<uint64_t>(d));
    return d < 0 ? std::numeric_limits<To>::lowest() : std::numeric_limits<To>::max();
  }
}

// numpy's str() of a scalar: shortest digits that round-trip, positional notation when
// 1e-4 <= |x| < 1e16 ("0.5", "100.0"), scientific otherwise ("1e-05", "1.5e+16").
std::string format_float_numpy(float v);
std::string format_double_numpy(double v);
std::string format_half_numpy(Float16 v);
std::string format_bfloat16_numpy(BFloat16 v);

// Parses a decimal number, "NaN", "INF", "+INF", "-INF", "inf", "infinity" (any case).
bool parse_double(const std::string& s, double* out);

// `x` converted to `to` (x itself when the types match). Strings convert both ways.
Result<Tensor> cast_tensor(const Tensor& x, DataType to);

}  // namespace nalar
