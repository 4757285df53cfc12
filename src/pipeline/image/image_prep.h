// The image input stage: encoded JPEG/PNG bytes in, one example of the model's input tensor out.
#pragma once

#include <cstdint>
#include <string_view>

#include "nalar/status.h"
#include "pipeline/pipeline_config.h"

namespace nalar::pipeline {

// Elements one example occupies: channels * height * width of `config` (height and width must
// already be resolved to the model's size, i.e. non-zero).
int64_t image_example_elements(const ImageConfig& config);

// Decodes (JPEG or PNG by signature, EXIF orientation applied, size policy enforced before the
// pixels are decoded), converts colour, resizes, normalises and writes one example into `out`:
// image_example_elements(config) elements of config.dtype in config.layout, no batch dim.
// Errors name the problem: "not a JPEG or PNG image", "corrupt JPEG: ...", "image is 30000x30000
// pixels, more than max_pixels 50000000", ...
Status prepare_image(std::string_view encoded, const ImageConfig& config, void* out);

}  // namespace nalar::pipeline
