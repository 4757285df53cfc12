// Resizing with Pillow's Image.resize semantics (BILINEAR, BOX = "area", NEAREST), so models
// trained on PIL/torchvision preprocessing see the same pixels.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pipeline/image/image.h"
#include "pipeline/pipeline_config.h"

namespace nalar::pipeline {

// A rectangle of the resized image: only these output pixels are computed (a centre crop needs
// neither the cropped columns nor the source rows that only feed cropped rows).
struct Window {
  int x = 0, y = 0, width = 0, height = 0;
};

// Resizes `src` (1 or 3 channels) to out_width x out_height and writes the pixels of `window`
// (inside that size) to `dst`, one row every `dst_stride` bytes, channels as in `src`.
//
// BILINEAR and BOX are Pillow's separable convolution: per output pixel, a filter whose support
// is scaled by the downscale factor (so downscaling averages, i.e. antialiases), weights
// normalised to sum to one and rounded to 22-bit fixed point, a horizontal pass into an 8-bit
// intermediate and then a vertical pass, each rounded and clipped to 8 bits. NEAREST picks the
// source pixel under each output pixel centre, stepping in double as Pillow does.
void resize_window(const Image8& src, int out_width, int out_height, const Window& window,
                   Interpolation interpolation, uint8_t* dst, size_t dst_stride);

}  // namespace nalar::pipeline
