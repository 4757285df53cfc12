// The tabular input stage: a record of named fields (a JSON object or a CSV row with a header)
// becomes one feature row in the model's column order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "nalar/status.h"
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_config.h"

namespace nalar::pipeline {

// Features one record becomes: one per column, vocabulary.size() for a one-hot category.
int64_t tabular_feature_count(const TabularConfig& config);

// Writes tabular_feature_count(config) features of `record` into `out`. Errors name the column:
// "column 'amount': missing value and no default", "column 'amount': 'abc' is not a number",
// "column 'merchant': unknown category 'casino' (vocabulary: grocery, travel)".
Status encode_record(const Record& record, const TabularConfig& config, double* out);

// Same, straight into row `row` of a [rows, features] tensor of config.dtype.
Status encode_record_into(const Record& record, const TabularConfig& config, Tensor* out,
                          int64_t row);

// A JSON object of named fields: numbers, strings, booleans, null (missing). Arrays and objects
// become the text "<JSON array>" / "<JSON object>", harmless unless a column names them.
Result<Record> record_from_json(const json::Value& object);
Result<Record> record_from_json_text(std::string_view text);
// A CSV row under its header: every cell is text (an empty cell is missing).
Result<Record> record_from_csv(const std::vector<std::string>& header,
                               const std::vector<std::string>& cells);

}  // namespace nalar::pipeline
