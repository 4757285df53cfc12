// labels.txt: one class label per line, line i naming class index i.
#pragma once

#include <string>
#include <vector>

#include "nalar/status.h"

namespace nalar::pipeline {

// Reads the labels file; trailing '\r' and a final empty line are dropped. A missing file is
// an error (callers check for the file first when labels are optional).
Result<std::vector<std::string>> read_labels(const std::string& path);

}  // namespace nalar::pipeline
