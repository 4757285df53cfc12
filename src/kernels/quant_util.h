// Helpers for the integer/quantized operators: rounding and saturation, scale/zero-point
// parameters, and an int16 x int16 -> int32 GEMM that MatMulInteger, ConvInteger, QLinearMatMul
// and QLinearConv share (inputs are uint8/int8 with the zero point already subtracted, so every
// value fits int16 and products fit int32; ONNX specifies 32-bit accumulation).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "nalar/status.h"
#include "nalar/tensor.h"
#include "onnx/model.h"

namespace nalar {

// round(v) half to even (the default FP rounding mode), plus `zp`, clamped to Q's range. NaN
// goes to the low end instead of being undefined behaviour.
template <class Q>
inline Q quantize_saturate(float v, float zp) {
  constexpr float lo = static_cast<float>(std::numeric_limits<Q>::lowest());
  constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
  float r = std::rint(v) + zp;
  r = r > lo ? r : lo;
  r = r < hi ? r : hi;
  return static_cast<Q>(r);
}

// Reads a scale tensor (float, double, float16 or bfloat16) as floats.
Result<std::vector<float>> read_scales(const Tensor& t, const char* op, const char* what);

// Reads a zero-point tensor of any integer type as int32 values.
Result<std::vector<int32_t>> read_zero_points(const Tensor& t, const char* op, const char* what);

// How a per-tensor or per-axis parameter lines up with a tensor: the tensor is viewed as
// [outer, channels, inner] around `axis`; a parameter has 1 or `channels` values.
struct AxisLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};
// Checks that a parameter with `count` values is per-tensor (1) or per-axis (dim(axis)) for
// `shape` and returns the layout (channels = 1 for per-tensor).
Result<AxisLayout> param_layout(const Shape& shape, int64_t axis, int64_t count, const char* op,
                                const char* what);

// C[m, n] = sum_k A[m, k] * B[k, n] for rows m in [m_begin, m_end); C row stride ldc.
// Single-threaded: callers split rows (or batches) across threads.
void gemm_s16_s32(int64_t m_begin, int64_t m_end, int64_t n, int64_t k, const int16_t* a,
                  int64_t lda, const int16_t* b, int64_t ldb, int32_t* c, int64_t ldc);

// dst[i] = src[i] - zp for uint8/int8 sources (the result always fits int16).
template <class T>
inline void widen_minus(const T* src, int64_t n, int32_t zp, int16_t* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<int16_t>(static_cast<int32_t>(src[i]) - zp);
}

// Integer matmul with numpy.matmul broadcasting: out (int32) = (A - za) x (B - zb) for uint8/int8
// A and B. za has 1, M or batch(A)*M values (per tensor / per row); zb 1, N or batch(B)*N (per
// tensor / per column).
Result<Tensor> matmul_integer_s32(const Tensor& a, const Tensor& b, const std::vector<int32_t>& za,
                                  const std::vector<int32_t>& zb, const char* op);

// Spatial geometry of an N-d convolution (ConvInteger, QLinearConv).
struct ConvGeometry {
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  Shape in_spatial, out_spatial, kernel;
  std::vector<int64_t> strides, dilations, pads_begin;
  int64_t in_size() const;   // product of in_spatial
  int64_t out_size() const;  // product of out_spatial
  int64_t kernel_size() const;
};

struct ConvAttributes {
  std::string auto_pad = "NOTSET";
  std::vector<int64_t> dilations, kernel_shape, pads, strides;
  int64_t group = 1;
};

// Validates x [N, C, D...] and w [M, C/group, k...] against the attributes.
Result<ConvGeometry> conv_geometry(const Shape& x, const Shape& w, const ConvAttributes& attrs,
                                   const char* op);

// im2col for one image and one group: col[(c * kernel_size + kpos) * out_size + l] =
// x[c, in(l, kpos)] - x_zp, or 0 where the window reads padding. `x` points at the group's first
// channel; `channels` is the group's channel count.
template <class T>
void im2col_s16(const T* x, int64_t channels, const ConvGeometry& g, int32_t x_zp, int16_t* col);

// y[n, m, l] (int32) = sum over the group's (c, kpos) of w_s16[m, c, kpos] * col. `w_s16` is
// [M, C/group * kernel_size] with the weight zero points already subtracted.
template <class T>
void conv_s32(const T* x, int32_t x_zp, const int16_t* w_s16, const ConvGeometry& g, int32_t* y);

// Reads ConvInteger/QLinearConv attributes.
ConvAttributes read_conv_attributes(const Node& node);

// Weights [M, C/group, k...] (uint8/int8) widened to int16 minus a per-tensor (1 value) or
// per-output-channel (M values) zero point.
Result<std::vector<int16_t>> widen_conv_weights(const Tensor& w, const std::vector<int32_t>& zp,
                                                const char* op);

// The whole integer convolution: shape checks, weight widening (unless `prepacked` is given),
// im2col + GEMM. Returns int32 [N, M, out...].
Result<Tensor> conv_integer_s32(const Tensor& x, int32_t x_zp, const Tensor& w,
                                const std::vector<int32_t>& w_zp,
                                const std::vector<int16_t>* prepacked, const ConvAttributes& attrs,
                                const char* op);

}  // namespace nalar
