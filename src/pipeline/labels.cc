#include "pipeline/labels.h"

#include <fstream>

namespace nalar::pipeline {

Result<std::vector<std::string>> read_labels(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open labels file '" + path + "'");
  std::vector<std::string> labels;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(std::move(line));
  }
  if (in.bad()) return internal_error("error reading labels file '" + path + "'");
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  return labels;
}

}  // namespace nalar::pipeline
