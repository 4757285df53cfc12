// Triton-compatible model configuration: config.pbtxt parsing (protobuf text format), completion
// of a partial or absent config from the ONNX model, and the datatype spellings of the protocol.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nalar/dtype.h"
#include "nalar/session.h"
#include "nalar/status.h"
#include "serving/datatypes.h"
#include "serving/model_config.pb.h"

namespace nalar::serving {

using inference::ModelConfig;

// Parses config.pbtxt text. Fields Nalar does not know are skipped; each one adds a line to
// `warnings`. Syntax errors fail with the line and column.
Result<ModelConfig> parse_model_config(const std::string& text, std::vector<std::string>* warnings);

// Triton's auto-complete: fills platform, inputs, outputs, max_batch_size (when the config was
// absent: > 0 iff every input and output has a symbolic first dim), instance_group, then checks
// what the config states against the model (names, dtypes, ranks, batch dims).
// `generated` is true when there was no config.pbtxt at all.
Status complete_model_config(const Session& session, bool generated, ModelConfig* config,
                             std::vector<std::string>* warnings);

// Default max_batch_size given to a generated config of a model with a symbolic batch dim.
inline constexpr int kDefaultMaxBatchSize = 8;

DataType dtype_from_config(inference::DataType t);  // kUndefined for TYPE_INVALID
inference::DataType dtype_to_config(DataType t);    // TYPE_INVALID when there is no equivalent

// A config given as JSON (the load API's "config" parameter), proto field names; unknown fields
// are ignored.
Result<ModelConfig> parse_model_config_json(const std::string& json);

// The config as JSON with proto field names and numbers as numbers (Triton's /config output).
std::string model_config_to_json(const ModelConfig& config);

}  // namespace nalar::serving
