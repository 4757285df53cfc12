#include "pipeline/image/image_prep.h"

#include <cstring>
#include <string>

#include "pipeline/image/geometry.h"
#include "pipeline/image/jpeg_decode.h"
#include "pipeline/image/normalize.h"
#include "pipeline/image/orientation.h"
#include "pipeline/image/png_decode.h"
#include "pipeline/image/prepare_options.h"
#include "pipeline/image/resize.h"

namespace nalar::pipeline {
namespace {

constexpr int kMaxSide = 1 << 15;  // a model input side beyond this is a configuration error

bool is_jpeg(std::string_view b) {
  return b.size() >= 3 && b.substr(0, 3) == std::string_view("\xFF\xD8\xFF", 3);
}
bool is_png(std::string_view b) {
  return b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1A\n", 8);
}

PixelOrder order_of(ColorMode mode) {
  switch (mode) {
    case ColorMode::kBGR:
      return PixelOrder::kBGR;
    case ColorMode::kGray:
      return PixelOrder::kGray;
    default:
      return PixelOrder::kRGB;
  }
}

Status check_config(const ImageConfig& config) {
  if (config.height <= 0 || config.width <= 0 || config.height > kMaxSide ||
      config.width > kMaxSide) {
    return invalid_argument("image size " + std::to_string(config.height) + "x" +
                            std::to_string(config.width) + " is invalid; expected 1.." +
                            std::to_string(kMaxSide) + " pixels per side");
  }
  if (config.shorter_side < 0 || config.shorter_side > kMaxSide) {
    return invalid_argument("shorter_side " + std::to_string(config.shorter_side) +
                            " is invalid; expected 0 (the model size) or 1.." +
                            std::to_string(kMaxSide));
  }
  return check_normalization(config, config.color == ColorMode::kGray ? 1 : 3);
}

Result<DecodedImage> decode(std::string_view encoded, const ImageConfig& config,
                            const PrepareOptions& options) {
  const PixelOrder order = order_of(config.color);
  if (is_png(encoded)) return decode_png(encoded, order, config.max_pixels);
  if (!is_jpeg(encoded)) {
    return invalid_argument(
        "not a JPEG or PNG image: expected the bytes of a .jpg or .png file "
        "(signature FF D8 FF or 89 50 4E 47)");
  }
  JpegScale scale;
  if (options.jpeg_dct_scaling) {
    NALAR_ASSIGN_OR_RETURN(JpegHeader header, read_jpeg_header(encoded, config.max_pixels));
    const bool swap = header.orientation >= 5;
    const int w = swap ? header.height : header.width, h = swap ? header.width : header.height;
    NALAR_RETURN_IF_ERROR(check_placement(w, h, config));
    const Placement p = place_image(w, h, config);
    const int need_w = 2 * (swap ? p.resized_height : p.resized_width);
    const int need_h = 2 * (swap ? p.resized_width : p.resized_height);
    scale = choose_jpeg_scale(header.width, header.height, need_w, need_h);
  }
  return decode_jpeg(encoded, order, config.max_pixels, scale);
}

}  // namespace

int64_t image_example_elements(const ImageConfig& config) {
  const int64_t channels = config.color == ColorMode::kGray ? 1 : 3;
  return channels * config.height * config.width;
}

Status prepare_image(std::string_view encoded, const ImageConfig& config, void* out) {
  return prepare_image(encoded, config, PrepareOptions{}, out);
}

Status prepare_image(std::string_view encoded, const ImageConfig& config,
                     const PrepareOptions& options, void* out) {
  NALAR_RETURN_IF_ERROR(check_config(config));
  if (encoded.empty()) return invalid_argument("empty image (0 bytes)");
  if (static_cast<int64_t>(encoded.size()) > config.max_bytes) {
    return invalid_argument("image is " + std::to_string(encoded.size()) +
                            " bytes, more than max_bytes " + std::to_string(config.max_bytes));
  }
  NALAR_ASSIGN_OR_RETURN(DecodedImage decoded, decode(encoded, config, options));
  Image8 image = apply_orientation(std::move(decoded.image), decoded.orientation);

  NALAR_RETURN_IF_ERROR(check_placement(image.width, image.height, config));
  const Placement p = place_image(image.width, image.height, config);
  Image8 canvas = Image8::allocate(config.width, config.height, image.channels);
  if (!p.covers_output) {
    const uint8_t fill = config.resize == ResizeMode::kLetterbox ? config.pad_value : 0;
    std::memset(canvas.pixels.get(), fill, canvas.bytes());
  }
  uint8_t* dst = canvas.row(p.dst_y) + static_cast<size_t>(p.dst_x) * canvas.channels;
  resize_window(image, p.resized_width, p.resized_height, p.window, config.interpolation, dst,
                canvas.stride());
  write_normalized(canvas, config, out);
  return Status::ok();
}

}  // namespace nalar::pipeline
