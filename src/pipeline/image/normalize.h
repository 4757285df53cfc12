// The last step: 8-bit pixels to the model's tensor layout and element type, with
// value = (pixel * scale - mean[c]) / std[c] per channel.
#pragma once

#include "nalar/status.h"
#include "pipeline/image/image.h"
#include "pipeline/pipeline_config.h"

namespace nalar::pipeline {

// Checks what the output step needs: a supported dtype, mean/std of 0, 1 or `channels` values,
// no zero std.
Status check_normalization(const ImageConfig& config, int channels);

// Writes `image` (config.height x config.width, 1 or 3 channels) to `out` in config.layout and
// config.dtype. uint8 output is the raw pixels (no normalisation).
void write_normalized(const Image8& image, const ImageConfig& config, void* out);

}  // namespace nalar::pipeline
