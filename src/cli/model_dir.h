// MODEL arguments that name a repository model folder instead of an .onnx file.
#pragma once

#include <string>

#include "nalar/status.h"

namespace nalar::cli {

// <dir>/<highest numeric version>/model.onnx, else <dir>/model.onnx; errors name what is missing.
Result<std::string> model_file_in_dir(const std::string& dir);

}  // namespace nalar::cli
