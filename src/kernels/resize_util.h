// Per-axis sampling tables for Resize / Upsample, kept apart from the kernel for unit tests.
// Each output index of an axis reads `taps` input indices with weights; interpolation is
// separable, so an N-D resize is a product of these 1-D tables.
#pragma once

#include <cstdint>
#include <vector>

namespace nalar {

enum class ResizeMode { kNearest, kLinear, kCubic };
enum class ResizeCoord {
  kHalfPixel,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize,
};
// kSimple is opset <= 10 Resize/Upsample: floor when upsampling, ceil when downsampling.
enum class NearestRounding { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };

struct ResizeOptions {
  ResizeMode mode = ResizeMode::kNearest;
  ResizeCoord coord = ResizeCoord::kHalfPixel;
  NearestRounding nearest = NearestRounding::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
};

struct AxisTaps {
  int taps = 1;
  std::vector<int64_t> index;    // out_len * taps, clamped into [0, in_len)
  std::vector<double> weight;    // out_len * taps
  std::vector<uint8_t> outside;  // out_len: tf_crop_and_resize sample outside the input
  bool identity = false;         // output i reads input i with weight 1
};

// Source coordinate of output index x, following the ONNX 1.12 reference: `scale` is the
// axis scale and `out_len_f` is scale * in_len (not rounded), as the reference uses it.
double resize_source_coord(ResizeCoord coord, double x, double scale, int64_t in_len,
                           double out_len_f, double roi_start, double roi_end);

// `out_len_f` is the resized length the align_corners / pytorch_half_pixel / tf_crop_and_resize
// formulas use: scale * in_len when scales were given, the exact size when sizes were.
AxisTaps compute_axis_taps(const ResizeOptions& opt, int64_t in_len, int64_t out_len, double scale,
                           double out_len_f, double roi_start, double roi_end);

}  // namespace nalar
