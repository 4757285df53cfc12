#include "pipeline/image/color.h"

#include <cstring>

namespace nalar::pipeline {

void convert_row(const uint8_t* in, int in_channels, uint8_t* out, PixelOrder order, int width) {
  const bool gray_in = in_channels <= 2;
  if (order == PixelOrder::kGray) {
    if (gray_in) {
      for (int x = 0; x < width; ++x) out[x] = in[x * in_channels];
    } else {
      for (int x = 0; x < width; ++x) {
        const uint8_t* p = in + x * in_channels;
        out[x] = pillow_luma(p[0], p[1], p[2]);
      }
    }
    return;
  }
  if (gray_in) {
    for (int x = 0; x < width; ++x) {
      const uint8_t v = in[x * in_channels];
      out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = v;
    }
    return;
  }
  const bool bgr = order == PixelOrder::kBGR;
  if (in_channels == 3 && !bgr) {
    std::memmove(out, in, static_cast<size_t>(width) * 3);
    return;
  }
  for (int x = 0; x < width; ++x) {
    const uint8_t* p = in + x * in_channels;
    const uint8_t r = p[0], g = p[1], b = p[2];
    out[3 * x] = bgr ? b : r;
    out[3 * x + 1] = g;
    out[3 * x + 2] = bgr ? r : b;
  }
}

namespace {

// a * b / 255 rounded, exactly as an 8-bit (x + 128 + ((x + 128) >> 8)) >> 8.
inline int mul_div_255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

inline uint8_t clip_u8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

}  // namespace

void cmyk_row_to(const uint8_t* in, uint8_t* out, PixelOrder order, int width) {
  for (int x = 0; x < width; ++x) {
    const uint8_t* p = in + 4 * x;
    const int nk = p[3];  // 255 - (255 - stored K)
    const uint8_t r = clip_u8(nk - mul_div_255(255 - p[0], nk));
    const uint8_t g = clip_u8(nk - mul_div_255(255 - p[1], nk));
    const uint8_t b = clip_u8(nk - mul_div_255(255 - p[2], nk));
    if (order == PixelOrder::kGray) {
      out[x] = pillow_luma(r, g, b);
    } else {
      const bool bgr = order == PixelOrder::kBGR;
      out[3 * x] = bgr ? b : r;
      out[3 * x + 1] = g;
      out[3 * x + 2] = bgr ? r : b;
    }
  }
}

void rgb_to_gray_inplace(Image8& image) {
  const size_t n = static_cast<size_t>(image.width) * static_cast<size_t>(image.height);
  uint8_t* p = image.pixels.get();
  // Output index i never overtakes input index 3i, so one forward pass is safe.
  for (size_t i = 0; i < n; ++i) p[i] = pillow_luma(p[3 * i], p[3 * i + 1], p[3 * i + 2]);
  image.channels = 1;
}

}  // namespace nalar::pipeline
