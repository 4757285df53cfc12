// `nalar run MODEL_DIR --image/--record/--text ...`: raw examples through the model's pipeline.
#pragma once

#include <string>
#include <vector>

#include "nalar/session.h"

namespace nalar::cli {

struct RunExamplesOptions {
  std::string model_dir;
  std::string model_file;
  int threads = 0;
  Precision precision = Precision::kFp32;
  int top_k = 0;  // 0: the pipeline's
  bool json = false;
  std::vector<std::string> images;   // file paths
  std::vector<std::string> records;  // JSON objects
  std::vector<std::string> texts;
};

// Prints the predictions (text or JSON) on stdout; returns the exit code.
int run_examples(const RunExamplesOptions& options);

}  // namespace nalar::cli
