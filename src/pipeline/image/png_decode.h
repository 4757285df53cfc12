// PNG decoding with libpng: 1-16 bit gray, gray+alpha, RGB, RGBA, palette, interlaced. libpng's
// errors (which longjmp) are caught in frames holding no C++ objects and returned as Status.
#pragma once

#include <cstdint>
#include <string_view>

#include "nalar/status.h"
#include "pipeline/image/image.h"

namespace nalar::pipeline {

// Pixels come out as Pillow's convert('RGB') / convert('L') gives them: 16-bit samples keep
// their high byte, alpha is dropped (tRNS ignored), palettes are expanded, low bit depths are
// scaled to 0-255. The eXIf chunk (before the image data) gives the orientation. Images above
// `max_pixels` are refused after reading the header, before decompressing any pixel.
Result<DecodedImage> decode_png(std::string_view bytes, PixelOrder order, int64_t max_pixels);

}  // namespace nalar::pipeline
