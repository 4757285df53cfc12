// The output stage: the model's output tensors for a batch of examples become one Prediction per
// example (activation, top-k with labels, threshold decision, ai.onnx.ml classifier labels, or
// regression values).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "nalar/session.h"
#include "nalar/status.h"
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_config.h"

namespace nalar::pipeline {

// `config.output` (and `config.label_output` when set) must name tensors in `outputs`; each has
// `rows` along dim 0. `labels` are labels.txt's lines (may be empty). `top_k` > 0 overrides
// config.top_k.
Result<std::vector<Prediction>> interpret_outputs(const OutputConfig& config,
                                                  const std::vector<std::string>& labels,
                                                  const NamedTensors& outputs, size_t rows,
                                                  int top_k = 0);

// In place over `n` values: exp(x - max) / sum; sigmoid 1 / (1 + exp(-x)).
void softmax(float* values, size_t n);
void sigmoid(float* values, size_t n);

}  // namespace nalar::pipeline
