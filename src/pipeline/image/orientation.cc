#include "pipeline/image/orientation.h"

#include <cstddef>

namespace nalar::pipeline {
namespace {

// out(x, y) = in[base + x * step_x + y * step_y], in pixels.
template <int C>
void remap(const Image8& in, Image8& out, ptrdiff_t base, ptrdiff_t step_x, ptrdiff_t step_y) {
  const uint8_t* src = in.pixels.get();
  for (int y = 0; y < out.height; ++y) {
    uint8_t* dst = out.row(y);
    ptrdiff_t at = base + y * step_y;
    for (int x = 0; x < out.width; ++x, at += step_x) {
      for (int c = 0; c < C; ++c) dst[x * C + c] = src[at * C + c];
    }
  }
}

}  // namespace

Image8 apply_orientation(Image8 image, int orientation) {
  if (orientation < 2 || orientation > 8) return image;
  const ptrdiff_t w = image.width, h = image.height;
  const bool swaps = orientation >= 5;
  Image8 out = Image8::allocate(swaps ? image.height : image.width,
                                swaps ? image.width : image.height, image.channels);
  ptrdiff_t base = 0, sx = 1, sy = w;
  switch (orientation) {
    case 2:
      base = w - 1, sx = -1, sy = w;
      break;  // mirror left-right
    case 3:
      base = (h - 1) * w + w - 1, sx = -1, sy = -w;
      break;  // rotate 180
    case 4:
      base = (h - 1) * w, sx = 1, sy = -w;
      break;  // mirror top-bottom
    case 5:
      base = 0, sx = w, sy = 1;
      break;  // transpose
    case 6:
      base = (h - 1) * w, sx = -w, sy = 1;
      break;  // rotate 90 clockwise
    case 7:
      base = (h - 1) * w + w - 1, sx = -w, sy = -1;
      break;  // transverse
    case 8:
      base = w - 1, sx = w, sy = -1;
      break;  // rotate 90 anticlockwise
  }
  if (image.channels == 1) {
    remap<1>(image, out, base, sx, sy);
  } else {
    remap<3>(image, out, base, sx, sy);
  }
  return out;
}

}  // namespace nalar::pipeline
