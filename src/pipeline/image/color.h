// Colour conversion of decoded rows into the channel order the model wants, as Pillow's
// Image.convert does it (so results match torchvision preprocessing on PIL images).
#pragma once

#include <cstdint>

#include "pipeline/image/image.h"

namespace nalar::pipeline {

// ITU-R 601-2 luma as Pillow's convert('L'): L = R*299/1000 + G*587/1000 + B*114/1000 in 16-bit
// fixed point (19595, 38470, 7471, rounded by +0x8000).
inline uint8_t pillow_luma(uint32_t r, uint32_t g, uint32_t b) {
  return static_cast<uint8_t>((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

// Converts `width` pixels of `in` (1 = gray, 2 = gray+alpha, 3 = RGB, 4 = RGBA; alpha is dropped
// like convert('RGB') does) into `out` in `order` (1 or 3 channels).
void convert_row(const uint8_t* in, int in_channels, uint8_t* out, PixelOrder order, int width);

// CMYK as libjpeg decodes an Adobe JPEG (stored inverted), to RGB the way Pillow does: it reads
// CMYK JPEGs as inverted ("CMYK;I") and converts with R = (255 - K) - C * (255 - K) / 255.
void cmyk_row_to(const uint8_t* in, uint8_t* out, PixelOrder order, int width);

// In place: 3-channel RGB rows to 1-channel luma (the image's buffer is reused).
void rgb_to_gray_inplace(Image8& image);

}  // namespace nalar::pipeline
