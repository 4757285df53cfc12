// The image input stage over a batch: encoded JPEG/PNG examples -> one [N, C, H, W] (or
// [N, H, W, C]) tensor via prepare_image (image/image_prep.h).
#pragma once

#include <span>

#include "nalar/status.h"
#include "nalar/tensor.h"
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_config.h"

namespace nalar::pipeline {

// `config` is resolved (height and width non-zero). Errors start "example <i>: " and name the
// first failing example. Up to `threads` threads (the caller's included) decode at once.
Result<Tensor> prepare_image_batch(std::span<const Example> examples, const ImageConfig& config,
                                   int threads = 1);

}  // namespace nalar::pipeline
