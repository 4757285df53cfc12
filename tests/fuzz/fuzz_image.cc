// libFuzzer target: arbitrary bytes through the image stage (JPEG/PNG decode, EXIF, resize,
// normalisation). The input's length picks one of a few configurations (and DCT-scaled JPEG
// decoding or not), so seeds exercise all.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "pipeline/image/image_prep.h"
#include "pipeline/image/prepare_options.h"

using namespace nalar::pipeline;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ImageConfig config;
  config.height = 24;
  config.width = 32;
  config.max_pixels = 1 << 18;  // keeps one run's memory and time bounded under ASan
  switch (size % 4) {
    case 0:
      config.resize = ResizeMode::kShorterSide;
      break;
    case 1:
      config.resize = ResizeMode::kLetterbox;
      config.color = ColorMode::kGray;
      config.interpolation = Interpolation::kArea;
      break;
    case 2:
      config.color = ColorMode::kBGR;
      config.interpolation = Interpolation::kNearest;
      config.dtype = nalar::DataType::kFloat16;
      break;
    default:
      config.layout = Layout::kNHWC;
      config.dtype = nalar::DataType::kUint8;
      break;
  }
  std::vector<uint8_t> out(static_cast<size_t>(image_example_elements(config)) * 4);
  PrepareOptions options;
  options.jpeg_dct_scaling = size % 8 >= 4;
  (void)prepare_image(std::string_view(reinterpret_cast<const char*>(data), size), config, options,
                      out.data());
  return 0;
}
