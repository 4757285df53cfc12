// The text input stage over a batch: UTF-8 texts -> input_ids / attention_mask / token_type_ids
// tensors [N, L], padded to max_length or to the batch's longest text (pad ids from the
// tokenizer), via Tokenizer (text/tokenizer.h).
#pragma once

#include <span>

#include "nalar/session.h"
#include "nalar/status.h"
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_config.h"
#include "pipeline/text/tokenizer.h"

namespace nalar::pipeline {

// `config` is resolved (input names the model has, "" for those it lacks). Errors start
// "example <i>: ".
Result<NamedTensors> prepare_text_batch(std::span<const Example> examples, const TextConfig& config,
                                        const Tokenizer& tokenizer);

}  // namespace nalar::pipeline
