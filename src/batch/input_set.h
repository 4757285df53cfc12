// What a job reads: PATH_OR_GLOB expanded into a sorted list of files, the input format, and the
// sources rows are numbered in. CSV, JSON Lines and .npy files are one source each; all images
// together are one source whose row i is the i-th image, so image chunks span many files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nalar/status.h"

namespace nalar::batch {

enum class InputFormat { kCsv, kJsonl, kNpy, kImages };

const char* format_name(InputFormat f);
Result<InputFormat> parse_format(const std::string& name);

struct InputFile {
  std::string path;
  int64_t bytes = 0;
};

struct InputSet {
  InputFormat format = InputFormat::kCsv;
  std::vector<InputFile> files;  // sorted by path, duplicates removed
  int64_t total_bytes = 0;
  // Number of row sources: one per file, or 1 for images.
  size_t num_sources() const { return format == InputFormat::kImages ? 1 : files.size(); }
};

// Expands a file, a folder (its files, recursively) or a glob pattern. The format comes from
// `format` when not empty, otherwise from the file names (.csv, .jsonl/.ndjson, .npy, images;
// a .gz suffix is looked through). Mixed formats are an error.
Result<InputSet> expand_inputs(const std::string& path_or_glob, const std::string& format);

}  // namespace nalar::batch
