// JPEG decoding with libjpeg-turbo's TurboJPEG API: the header is read first so the size policy
// is enforced before any pixel is decoded.
#pragma once

#include <cstdint>
#include <string_view>

#include "nalar/status.h"
#include "pipeline/image/image.h"

namespace nalar::pipeline {

struct JpegHeader {
  int width = 0, height = 0;  // as stored (before EXIF orientation)
  bool cmyk = false;          // CMYK or YCCK colour space
  bool gray = false;          // one component
  int orientation = 1;
};

// Reads the frame header and the EXIF orientation. Refuses images above `max_pixels`.
Result<JpegHeader> read_jpeg_header(std::string_view bytes, int64_t max_pixels);

// DCT-domain downscaling by one of libjpeg-turbo's factors num/denom (1/1 = full size).
struct JpegScale {
  int num = 1, denom = 1;
};

// The smallest factor libjpeg-turbo offers whose output is still at least min_width x
// min_height (stored orientation). Full size when none is smaller.
JpegScale choose_jpeg_scale(int width, int height, int min_width, int min_height);

// Decodes in `order` (gray sources decode straight to gray; a gray request on a colour image goes
// through RGB and Pillow's luma so results match convert('L'); CMYK converts like Pillow). A
// truncated file is an error; libjpeg's recoverable warnings (e.g. extraneous bytes) are accepted
// as Pillow does.
Result<DecodedImage> decode_jpeg(std::string_view bytes, PixelOrder order, int64_t max_pixels,
                                 JpegScale scale = {});

}  // namespace nalar::pipeline
