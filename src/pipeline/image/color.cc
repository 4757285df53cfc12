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

void rgb_to_gray_inplace(Image8& image) {
  const size_t n = static_cast<size_t>(image.width) * static_cast<size_t>(image.height);
  uint8_t* p = image.pixels.get();
  // Output index i never overtakes input index 3i, so one forward pass is safe.
  for (size_t i = 0; i < n; ++i) p[i] = pillow_luma(p[3 * i], p[3 * i + 1], p[3 * i + 2]);
  image.channels = 1;
}

}  // namespace nalar::pipeline
