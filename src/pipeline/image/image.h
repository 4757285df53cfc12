// An 8-bit image in memory: interleaved channels (1 = gray, 3 = RGB or BGR), rows back to back.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace nalar::pipeline {

struct Image8 {
  int width = 0, height = 0, channels = 0;
  std::unique_ptr<uint8_t[]> pixels;

  // Vector loads may read up to this many bytes past the last pixel (their results unused).
  static constexpr size_t kSlack = 64;

  // Uninitialised pixels: every producer overwrites all of them, so no zero-fill pass.
  static Image8 allocate(int width, int height, int channels) {
    Image8 img;
    img.width = width;
    img.height = height;
    img.channels = channels;
    img.pixels = std::make_unique_for_overwrite<uint8_t[]>(img.bytes() + kSlack);
    std::fill_n(img.pixels.get() + img.bytes(), kSlack, 0);  // defined bytes for the tools
    return img;
  }
  size_t stride() const { return static_cast<size_t>(width) * static_cast<size_t>(channels); }
  size_t bytes() const { return stride() * static_cast<size_t>(height); }
  uint8_t* row(int y) { return pixels.get() + static_cast<size_t>(y) * stride(); }
  const uint8_t* row(int y) const { return pixels.get() + static_cast<size_t>(y) * stride(); }
};

// What a decoder is asked to produce: the channel order the output stage wants, so that JPEG and
// PNG can decode straight into it (resizing treats channels independently).
enum class PixelOrder { kRGB, kBGR, kGray };

inline int channels_of(PixelOrder order) { return order == PixelOrder::kGray ? 1 : 3; }

// A decoded image and the EXIF orientation (1-8, 1 = as stored) its file declared.
struct DecodedImage {
  Image8 image;
  int orientation = 1;
};

}  // namespace nalar::pipeline
