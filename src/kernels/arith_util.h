// Scalar arithmetic with ONNX/numpy semantics and no undefined behaviour: integer add/sub/mul
// wrap around, integer division truncates and never traps (x/0 = 0, MIN/-1 wraps), Mod follows
// either C (fmod) or Python (sign of the divisor). 16-bit floats compute through float.
#pragma once

#include <cmath>
#include <type_traits>

#include "kernels/elementwise.h"

namespace nalar {

// Applies f to a and b in T's compute type and converts back to T.
template <class T, class F>
inline T via_compute(T a, T b, F f) {
  using C = ComputeType<T>;
  return static_cast<T>(f(static_cast<C>(a), static_cast<C>(b)));
}

template <class T>
inline T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return via_compute(a, b, [](auto x, auto y) { return x + y; });
  }
}

template <class T>
inline T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  } else {
    return via_compute(a, b, [](auto x, auto y) { return x - y; });
  }
}

template <class T>
inline T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    // Promote small unsigned types to unsigned int so the product cannot overflow int.
    using U = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
  } else {
    return via_compute(a, b, [](auto x, auto y) { return x * y; });
  }
}

template <class T>
inline T safe_div(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0) return T(0);  // numpy returns 0 (with a warning); never trap
    if constexpr (std::is_signed_v<T>) {
      if (b == T(-1)) return wrap_sub(T(0), a);
    }
    return static_cast<T>(a / b);
  } else {
    return via_compute(a, b, [](auto x, auto y) { return x / y; });
  }
}

// Remainder with the sign of the dividend (C fmod / %).
template <class T>
inline T trunc_mod(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0) return T(0);
    if constexpr (std::is_signed_v<T>) {
      if (b == T(-1)) return T(0);
    }
    return static_cast<T>(a % b);
  } else {
    return via_compute(a, b, [](auto x, auto y) { return std::fmod(x, y); });
  }
}

// Remainder with the sign of the divisor (Python / numpy.mod).
template <class T>
inline T floor_mod(T a, T b) {
  if constexpr (std::is_unsigned_v<T>) {
    return trunc_mod(a, b);
  } else if constexpr (std::is_integral_v<T>) {
    T r = trunc_mod(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
    return r;
  } else {
    return via_compute(a, b, [](auto x, auto y) {
      auto r = std::fmod(x, y);
      if (r != 0 && ((r < 0) != (y < 0))) r += y;
      return r;
    });
  }
}

// Integer power by squaring; negative exponents give 0 unless |base| is 1.
template <class T>
inline T int_pow(T base, T exp) {
  if constexpr (std::is_signed_v<T>) {
    if (exp < 0) {
      if (base == 1) return 1;
      if (base == -1) return (exp % 2) ? T(-1) : T(1);
      return 0;
    }
  }
  T result = 1;
  while (exp != 0) {
    if (exp & 1) result = wrap_mul(result, base);
    exp = static_cast<T>(exp >> 1);
    if (exp != 0) base = wrap_mul(base, base);
  }
  return result;
}

// numpy maximum/minimum: a NaN in either operand gives NaN.
template <class T>
inline T nan_max(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return a < b ? b : a;
  } else {
    return via_compute(a, b, [](auto x, auto y) { return (x < y || std::isnan(y)) ? y : x; });
  }
}
template <class T>
inline T nan_min(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return b < a ? b : a;
  } else {
    return via_compute(a, b, [](auto x, auto y) { return (y < x || std::isnan(y)) ? y : x; });
  }
}

}  // namespace nalar
