// pipeline.json -> PipelineConfig. Strict: an unknown member, a wrong type or an out-of-range
// value is an error naming the member by its path ("input.columns[2].vocabulary: ...").
#pragma once

#include <string_view>

#include "nalar/status.h"
#include "pipeline/pipeline_config.h"

namespace nalar::pipeline {

Result<PipelineConfig> parse_pipeline_config(std::string_view json_text);

// "float32" -> kFloat etc. (the spellings pipeline.json accepts); kUndefined when unknown.
DataType dtype_from_pipeline_name(std::string_view name);

}  // namespace nalar::pipeline
