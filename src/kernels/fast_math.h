// Vectorised float math for the hot activations (libm's expf is one call per element). Written
// with GCC vector extensions: plain scalar code with range checks is not if-converted under
// -ftrapping-math, so the compiler would not vectorise it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

// The vector types are only passed between inline functions, so the ABI note for 32-byte
// vector arguments in files built without AVX does not apply.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

namespace nalar {

typedef float VecF8 __attribute__((vector_size(32)));
typedef int32_t VecI8 __attribute__((vector_size(32)));

// e^x within ~2 ulp of expf: Cody-Waite reduction x = n*ln2 + r, a degree-6 polynomial for
// e^r, and 2^n built in the exponent bits. Overflow gives inf, deep underflow 0, NaN stays NaN.
inline VecF8 fast_exp8(VecF8 x) {
  const VecF8 hi = VecF8{} + 88.3762626647949f, lo = VecF8{} + -87.3365447504f;
  VecF8 xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  // n = round(x / ln2) by adding 1.5 * 2^23; the low bits of t then hold n as an integer.
  const VecF8 t = xc * 1.44269504088896341f + 12582912.0f;
  const VecF8 n = t - 12582912.0f;
  const VecI8 ni = (VecI8)t - 0x4B400000;  // same-size vector casts reinterpret bits
  VecF8 r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const VecF8 z = r * r;
  VecF8 p = VecF8{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  const VecI8 ebits = (ni + 127) << 23;
  VecF8 y = p * (VecF8)ebits;
  y = x > hi ? VecF8{} + std::numeric_limits<float>::infinity() : y;
  y = x < lo - 16.0f ? VecF8{} : y;
  return x != x ? x : y;
}

inline VecF8 abs8(VecF8 x) { return (VecF8)((VecI8)x & 0x7fffffff); }
inline VecF8 copysign8(VecF8 mag, VecF8 sign) {
  return (VecF8)(((VecI8)mag & 0x7fffffff) | ((VecI8)sign & static_cast<int32_t>(0x80000000u)));
}

// tanh: an odd polynomial near 0 (where 1 - 2/(e^2x + 1) would cancel), the exp form beyond.
inline VecF8 fast_tanh8(VecF8 x) {
  const VecF8 a = abs8(x);
  const VecF8 z = x * x;
  VecF8 p = VecF8{} + -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z + -5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z + -3.33332819422e-1f;
  const VecF8 small = p * z * x + x;
  const VecF8 e = fast_exp8(2.0f * (a < 20.0f ? a : VecF8{} + 20.0f));
  const VecF8 large = copysign8(1.0f - 2.0f / (e + 1.0f), x);
  const VecF8 r = a < 0.625f ? small : large;
  return x != x ? x : r;
}

// erf: its Maclaurin series for |x| < 0.5, Abramowitz & Stegun 7.1.26 (absolute error
// 1.5e-7) beyond, saturating to +-1.
inline VecF8 fast_erf8(VecF8 x) {
  const VecF8 a = abs8(x);
  const VecF8 z = x * x;
  // 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216)
  VecF8 s = VecF8{} + (1.0f / 216.0f);
  s = s * z - (1.0f / 42.0f);
  s = s * z + 0.1f;
  s = s * z - (1.0f / 3.0f);
  s = s * z + 1.0f;
  const VecF8 small = 1.12837916709551257f * x * s;
  const VecF8 t = 1.0f / (1.0f + 0.3275911f * a);
  VecF8 q = VecF8{} + 1.061405429f;
  q = q * t - 1.453152027f;
  q = q * t + 1.421413741f;
  q = q * t - 0.284496736f;
  q = q * t + 0.254829592f;
  const VecF8 big = copysign8(1.0f - q * t * fast_exp8(-(a * a)), x);
  const VecF8 r = a < 0.5f ? small : big;
  return x != x ? x : r;
}

inline VecF8 fast_sigmoid8(VecF8 x) { return 1.0f / (1.0f + fast_exp8(-x)); }

// Applies a VecF8 function to n floats (in place allowed), 8 at a time; the tail is padded.
template <class F>
inline void map_f8(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    VecF8 v;
    __builtin_memcpy(&v, x + i, sizeof(v));
    v = f(v);
    __builtin_memcpy(y + i, &v, sizeof(v));
  }
  if (i < n) {
    VecF8 v{};
    __builtin_memcpy(&v, x + i, static_cast<size_t>(n - i) * sizeof(float));
    v = f(v);
    __builtin_memcpy(y + i, &v, static_cast<size_t>(n - i) * sizeof(float));
  }
}

inline float fast_exp(float x) {
  float y;
  map_f8(&x, &y, 1, fast_exp8);
  return y;
}
inline float fast_sigmoid(float x) {
  float y;
  map_f8(&x, &y, 1, fast_sigmoid8);
  return y;
}

}  // namespace nalar

#pragma GCC diagnostic pop
