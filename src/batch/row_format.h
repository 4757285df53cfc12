// Output rows as text or bytes: CSV (kept columns, then prediction columns; arrays spread over
// name_0, name_1, ...), JSON Lines (one object per row, arrays stay arrays) or .npy (the first
// prediction column's values, raw); and the errors file's JSON Lines.
#pragma once

#include <string>
#include <vector>

#include "batch/input_set.h"
#include "batch/model.h"
#include "batch/work_batch.h"
#include "nalar/status.h"

namespace nalar::batch {

enum class OutputFormat { kCsv, kJsonl, kNpy };
Result<OutputFormat> output_format_of(const std::string& path);
const char* output_format_name(OutputFormat f);

class RowFormatter {
 public:
  RowFormatter(OutputFormat format, std::vector<std::string> keep_columns,
               std::vector<std::string> prediction_names)
      : format_(format), keep_(std::move(keep_columns)), names_(std::move(prediction_names)) {}

  // Appends the batch's predicted rows to *out. The first call fixes the column layout
  // (header()); later rows must fit it.
  Status append_rows(const WorkBatch& b, const PredRows& preds, std::string* out);
  // Appends one JSON line per failed row of the batch to *err.
  void append_errors(const WorkBatch& b, const std::string& source_path, std::string* err) const;

  // CSV: the header line (with '\n'); npy: "<descr> <row dims...>"; empty until known.
  const std::string& header() const { return header_; }
  void set_header(std::string h) { header_ = std::move(h); }
  // The header for a job that predicted nothing: prediction names without array widths.
  std::string fallback_header() const;

 private:
  Status fix_layout(const std::vector<PredValue>& row, const WorkBatch& b);
  OutputFormat format_;
  std::vector<std::string> keep_;
  std::vector<std::string> names_;
  std::vector<size_t> widths_;  // per prediction column (arrays), once known
  std::string header_;
};

}  // namespace nalar::batch
