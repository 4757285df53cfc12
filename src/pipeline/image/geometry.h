// Where the resized image goes in the model's height x width: exact resize, shorter side + centre
// crop (torchvision Resize(s) + CenterCrop on PIL images), or letterbox.
#pragma once

#include "nalar/status.h"
#include "pipeline/image/resize.h"
#include "pipeline/pipeline_config.h"

namespace nalar::pipeline {

struct Placement {
  int resized_width = 0, resized_height = 0;  // the whole resized image
  Window window;                              // the part of it that lands in the output
  int dst_x = 0, dst_y = 0;                   // where the window's top-left lands
  bool covers_output = true;                  // false: the rest is padding
};

// Refuses sources whose resized size would not fit an int (an extreme aspect ratio resized by
// its shorter side); place_image may only be called after this passed.
Status check_placement(int width, int height, const ImageConfig& config);

// `width` x `height` is the (orientation-corrected) source size; config.height/width are resolved.
Placement place_image(int width, int height, const ImageConfig& config);

}  // namespace nalar::pipeline
