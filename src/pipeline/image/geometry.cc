#include "pipeline/image/geometry.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

namespace nalar::pipeline {
namespace {

// torchvision's CenterCrop offset: int(round((size - crop) / 2.0)), Python rounding half to even;
// a crop larger than the image pads it by (crop - size) // 2 before.
int crop_offset(int size, int crop) {
  if (crop > size) return -((crop - size) / 2);
  const int d = size - crop;
  int half = d / 2;
  if (d % 2 == 1 && half % 2 == 1) ++half;  // x.5 rounds to the even neighbour
  return half;
}

constexpr int64_t kMaxResizedSide = int64_t{1} << 24;

}  // namespace

Status check_placement(int width, int height, const ImageConfig& config) {
  if (config.resize != ResizeMode::kShorterSide) return Status::ok();
  const int64_t s =
      config.shorter_side > 0 ? config.shorter_side : std::min(config.width, config.height);
  const int64_t longer = std::max(width, height), shorter = std::min(width, height);
  const int64_t resized = static_cast<int64_t>(static_cast<double>(s * longer) / shorter);
  if (resized > kMaxResizedSide) {
    return invalid_argument("image is " + std::to_string(width) + "x" + std::to_string(height) +
                            " pixels: resizing its shorter side to " + std::to_string(s) +
                            " makes the longer side " + std::to_string(resized) +
                            " pixels, more than " + std::to_string(kMaxResizedSide));
  }
  return Status::ok();
}

Placement place_image(int width, int height, const ImageConfig& config) {
  const int out_w = config.width, out_h = config.height;
  Placement p;
  switch (config.resize) {
    case ResizeMode::kExact:
      p.resized_width = out_w;
      p.resized_height = out_h;
      break;
    case ResizeMode::kShorterSide: {
      const int64_t s = config.shorter_side > 0 ? config.shorter_side : std::min(out_w, out_h);
      // torchvision: the long side is int(s * long / short), the division in double.
      if (width <= height) {
        p.resized_width = static_cast<int>(s);
        p.resized_height = static_cast<int>(static_cast<double>(s * height) / width);
      } else {
        p.resized_height = static_cast<int>(s);
        p.resized_width = static_cast<int>(static_cast<double>(s * width) / height);
      }
      break;
    }
    case ResizeMode::kLetterbox: {
      const double r =
          std::min(static_cast<double>(out_w) / width, static_cast<double>(out_h) / height);
      p.resized_width = std::clamp(static_cast<int>(std::nearbyint(width * r)), 1, out_w);
      p.resized_height = std::clamp(static_cast<int>(std::nearbyint(height * r)), 1, out_h);
      p.window = {0, 0, p.resized_width, p.resized_height};
      p.dst_x = (out_w - p.resized_width) / 2;
      p.dst_y = (out_h - p.resized_height) / 2;
      p.covers_output = p.resized_width == out_w && p.resized_height == out_h;
      return p;
    }
  }
  const int left = crop_offset(p.resized_width, out_w);
  const int top = crop_offset(p.resized_height, out_h);
  p.window.x = std::max(left, 0);
  p.window.y = std::max(top, 0);
  p.window.width = std::min(p.resized_width, left + out_w) - p.window.x;
  p.window.height = std::min(p.resized_height, top + out_h) - p.window.y;
  p.dst_x = p.window.x - left;
  p.dst_y = p.window.y - top;
  p.covers_output = p.window.width == out_w && p.window.height == out_h;
  return p;
}

}  // namespace nalar::pipeline
