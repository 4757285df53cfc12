#include "pipeline/image/jpeg_decode.h"

#include <turbojpeg.h>

#include <cstring>
#include <memory>
#include <string>

#include "pipeline/image/color.h"
#include "pipeline/image/exif.h"

namespace nalar::pipeline {
namespace {

struct TjDeleter {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using TjHandle = std::unique_ptr<void, TjDeleter>;

// One decompressor per thread: creating it costs more than decoding a thumbnail.
tjhandle thread_decompressor() {
  thread_local TjHandle handle(tjInitDecompress());
  return handle.get();
}

Status jpeg_error(tjhandle handle, const char* what) {
  return invalid_argument(std::string("corrupt JPEG: ") + what + ": " + tjGetErrorStr2(handle));
}

}  // namespace

Result<JpegHeader> read_jpeg_header(std::string_view bytes, int64_t max_pixels) {
  tjhandle handle = thread_decompressor();
  if (handle == nullptr) return internal_error("cannot create a JPEG decompressor");
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(handle, reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<unsigned long>(bytes.size()), &width, &height, &subsamp,
                          &colorspace) != 0) {
    return jpeg_error(handle, "cannot read the header");
  }
  if (width <= 0 || height <= 0) {
    return invalid_argument("corrupt JPEG: image is " + std::to_string(width) + "x" +
                            std::to_string(height) + " pixels");
  }
  const int64_t pixels = static_cast<int64_t>(width) * height;
  if (pixels > max_pixels) {
    return invalid_argument("image is " + std::to_string(width) + "x" + std::to_string(height) +
                            " pixels, more than max_pixels " + std::to_string(max_pixels));
  }
  JpegHeader header;
  header.width = width;
  header.height = height;
  header.cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  header.gray = colorspace == TJCS_GRAY;
  header.orientation = jpeg_exif_orientation(bytes);
  return header;
}

JpegScale choose_jpeg_scale(int width, int height, int min_width, int min_height) {
  int count = 0;
  tjscalingfactor* factors = tjGetScalingFactors(&count);
  JpegScale best;
  double best_ratio = 1.0;
  for (int i = 0; factors != nullptr && i < count; ++i) {
    const tjscalingfactor f = factors[i];
    const double ratio = static_cast<double>(f.num) / f.denom;
    if (ratio >= best_ratio) continue;
    if (TJSCALED(width, f) < min_width || TJSCALED(height, f) < min_height) continue;
    best = {f.num, f.denom};
    best_ratio = ratio;
  }
  return best;
}

Result<DecodedImage> decode_jpeg(std::string_view bytes, PixelOrder order, int64_t max_pixels,
                                 JpegScale scale) {
  NALAR_ASSIGN_OR_RETURN(JpegHeader header, read_jpeg_header(bytes, max_pixels));
  tjhandle handle = thread_decompressor();
  const tjscalingfactor factor{scale.num, scale.denom};
  const int width = TJSCALED(header.width, factor), height = TJSCALED(header.height, factor);
  // Gray request on a colour file: decode RGB, then Pillow's luma (libjpeg's gray output is the
  // stored Y plane, which differs from convert('L') where RGB clips).
  const bool gray_source = header.gray;
  int pixel_format = TJPF_RGB;
  if (order == PixelOrder::kBGR) pixel_format = TJPF_BGR;
  if (order == PixelOrder::kGray && gray_source) pixel_format = TJPF_GRAY;
  if (header.cmyk) pixel_format = TJPF_CMYK;  // converted below as Pillow does
  DecodedImage out;
  out.orientation = header.orientation;
  // A colour file decodes to 3 channels even for a gray request (converted in place after).
  out.image =
      Image8::allocate(width, height, header.cmyk ? channels_of(order) : tjPixelSize[pixel_format]);
  Image8 cmyk = header.cmyk ? Image8::allocate(width, height, 4) : Image8{};
  Image8& target = header.cmyk ? cmyk : out.image;
  const int pitch = static_cast<int>(target.stride());
  if (tjDecompress2(handle, reinterpret_cast<const unsigned char*>(bytes.data()),
                    static_cast<unsigned long>(bytes.size()), target.pixels.get(), width, pitch,
                    height, pixel_format, 0) != 0) {
    const bool warning = tjGetErrorCode(handle) == TJERR_WARNING;
    const char* message = tjGetErrorStr2(handle);
    // libjpeg reports a cut-off file as a warning and fills the rest with gray; Pillow refuses it.
    if (!warning || std::strstr(message, "Premature end") != nullptr) {
      if (warning) return invalid_argument(std::string("truncated JPEG: ") + message);
      return jpeg_error(handle, "cannot decode");
    }
  }
  if (header.cmyk) {
    for (int y = 0; y < height; ++y) cmyk_row_to(cmyk.row(y), out.image.row(y), order, width);
  } else if (order == PixelOrder::kGray && !gray_source) {
    rgb_to_gray_inplace(out.image);
  }
  return out;
}

}  // namespace nalar::pipeline
