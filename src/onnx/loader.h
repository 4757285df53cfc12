// ONNX model loading: protobuf bytes -> Nalar's graph IR (model.h), with clear errors for files
// that are empty, truncated, not ONNX or out of the supported IR range.
#pragma once

#include <string>

#include "onnx/model.h"

namespace nalar {

struct LoadOptions {
  // Runs ONNX's own type and shape inference (libonnx) so that Graph::value_infos holds the
  // inferred dtype and shape of intermediate values. Advisory: kernels compute concrete shapes.
  bool infer_shapes = false;
};

// Reads and converts an .onnx file. External data is resolved relative to the file's folder.
Result<Model> load_model_file(const std::string& path, const LoadOptions& options = {});
// Converts serialized ModelProto bytes. `base_dir` resolves external data ("" forbids it).
Result<Model> load_model_bytes(const void* data, size_t size, const std::string& base_dir,
                               const std::string& source = "<bytes>",
                               const LoadOptions& options = {});
// Reads one serialized TensorProto (the ONNX test-data .pb format).
Result<Tensor> load_tensor_file(const std::string& path);

}  // namespace nalar
