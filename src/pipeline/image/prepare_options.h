// Options of the image stage beyond pipeline.json, for callers that trade exactness for speed.
#pragma once

#include <string_view>

#include "nalar/status.h"
#include "pipeline/pipeline_config.h"

namespace nalar::pipeline {

struct PrepareOptions {
  // Decode large JPEGs at a reduced size in the DCT domain (libjpeg-turbo scaling, like Pillow's
  // Image.draft) when the result still has at least twice the resized size. Several times faster
  // for photos, but pixels then differ from Pillow's default (full decode, then resize) by more
  // than 1/255, so it is off unless asked for.
  bool jpeg_dct_scaling = false;
};

// prepare_image (image_prep.h) with options.
Status prepare_image(std::string_view encoded, const ImageConfig& config,
                     const PrepareOptions& options, void* out);

}  // namespace nalar::pipeline
