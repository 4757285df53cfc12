#include "pipeline/image/png_decode.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "pipeline/image/color.h"
#include "pipeline/image/exif.h"

namespace nalar::pipeline {
namespace {

// Plain C state shared with libpng's callbacks.
struct PngIo {
  const unsigned char* data = nullptr;
  size_t size = 0;
  size_t pos = 0;
  bool truncated = false;
  char message[256] = {};
};

void read_callback(png_structp png, png_bytep out, size_t n) {
  auto* io = static_cast<PngIo*>(png_get_io_ptr(png));
  if (io->size - io->pos < n) {
    io->truncated = true;
    png_error(png, "the file ends early");
  }
  std::memcpy(out, io->data + io->pos, n);
  io->pos += n;
}

void error_callback(png_structp png, png_const_charp message) {
  auto* io = static_cast<PngIo*>(png_get_error_ptr(png));
  std::snprintf(io->message, sizeof(io->message), "%s", message);
  png_longjmp(png, 1);
}

void warning_callback(png_structp, png_const_charp) {}  // e.g. a bad ancillary CRC: skipped

// The frames below hold only trivially destructible values, so libpng may longjmp out of them.
bool read_info_protected(png_structp png, png_infop info) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  return true;
}

bool setup_protected(png_structp png, png_infop info, bool bgr) {
  if (setjmp(png_jmpbuf(png))) return false;
  const int color_type = png_get_color_type(png, info);
  if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);  // keeps the high byte
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) {
    png_set_expand_gray_1_2_4_to_8(png);
  }
  if (bgr) png_set_bgr(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  return true;
}

bool read_rows_protected(png_structp png, png_bytep* rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  return true;
}

struct PngReader {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngReader() { png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr); }
};

Status png_failure(const PngIo& io) {
  if (io.truncated) {
    return invalid_argument("truncated PNG: the file ends before the image data is complete");
  }
  return invalid_argument(std::string("corrupt PNG: ") + io.message);
}

}  // namespace

Result<DecodedImage> decode_png(std::string_view bytes, PixelOrder order, int64_t max_pixels) {
  PngIo io;
  io.data = reinterpret_cast<const unsigned char*>(bytes.data());
  io.size = bytes.size();
  PngReader reader;
  reader.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, error_callback, warning_callback);
  if (reader.png == nullptr) return internal_error("cannot create a PNG decoder");
  reader.info = png_create_info_struct(reader.png);
  if (reader.info == nullptr) return internal_error("cannot create a PNG decoder");
  png_set_read_fn(reader.png, &io, read_callback);
  if (!read_info_protected(reader.png, reader.info)) return png_failure(io);

  const png_uint_32 width = png_get_image_width(reader.png, reader.info);
  const png_uint_32 height = png_get_image_height(reader.png, reader.info);
  const int64_t pixels = static_cast<int64_t>(width) * static_cast<int64_t>(height);
  if (width == 0 || height == 0) return invalid_argument("corrupt PNG: image has zero size");
  if (pixels > max_pixels) {
    return invalid_argument("image is " + std::to_string(width) + "x" + std::to_string(height) +
                            " pixels, more than max_pixels " + std::to_string(max_pixels));
  }
  DecodedImage out;
  png_uint_32 exif_size = 0;
  png_bytep exif = nullptr;
  if (png_get_eXIf_1(reader.png, reader.info, &exif_size, &exif) != 0 && exif != nullptr) {
    out.orientation =
        exif_orientation(std::string_view(reinterpret_cast<const char*>(exif), exif_size));
  }

  const int color_type = png_get_color_type(reader.png, reader.info);
  const bool gray_source = (color_type & PNG_COLOR_MASK_COLOR) == 0;
  // BGR is swapped by libpng only when the rows land directly in the output.
  const bool direct_rgb = order != PixelOrder::kGray && !gray_source &&
                          (color_type & PNG_COLOR_MASK_ALPHA) == 0 &&
                          color_type != PNG_COLOR_TYPE_PALETTE;
  if (!setup_protected(reader.png, reader.info, direct_rgb && order == PixelOrder::kBGR)) {
    return png_failure(io);
  }
  const int channels = png_get_channels(reader.png, reader.info);
  if (png_get_rowbytes(reader.png, reader.info) != static_cast<size_t>(width) * channels) {
    return internal_error("unexpected PNG row layout after conversion to 8 bits");
  }
  const int out_channels = channels_of(order);
  const bool direct = channels == out_channels && (direct_rgb || (gray_source && channels == 1));
  out.image = Image8::allocate(static_cast<int>(width), static_cast<int>(height), out_channels);
  Image8 decoded =
      direct ? Image8{}
             : Image8::allocate(static_cast<int>(width), static_cast<int>(height), channels);
  Image8& target = direct ? out.image : decoded;
  std::vector<png_bytep> rows(height);
  for (png_uint_32 y = 0; y < height; ++y) rows[y] = target.row(static_cast<int>(y));
  if (!read_rows_protected(reader.png, rows.data())) return png_failure(io);
  if (!direct) {
    for (int y = 0; y < out.image.height; ++y) {
      convert_row(decoded.row(y), channels, out.image.row(y), order, out.image.width);
    }
  }
  return out;
}

}  // namespace nalar::pipeline
