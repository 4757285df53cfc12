// Parsers for one input row of text: a CSV record (RFC 4180 quoting) and a JSON Lines record.
// Untrusted bytes: every failure is a Status naming what was wrong; nothing is assumed about sizes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "nalar/status.h"

namespace nalar::batch {

// Splits one CSV record into its fields. Unquoted fields are views into `record`; quoted fields
// are unescaped ("" -> ") into `scratch`, which must outlive the views (it is reserved up front so
// that views stay valid). A trailing '\r' is dropped.
Status split_csv(std::string_view record, std::vector<std::string_view>* fields,
                 std::string* scratch);

// A cell as a number: decimal or exponent form, optional surrounding spaces, nan/inf accepted.
// False for anything else (empty, text, trailing junk).
bool parse_number(std::string_view cell, double* out);
bool parse_float(std::string_view cell, float* out);

// Writes `cell` as one CSV field, quoted when it holds a comma, quote, CR or LF.
void append_csv_field(std::string* out, std::string_view cell);

// Parses one JSON Lines record; it must be a JSON object or array.
Result<json::Value> parse_json_row(std::string_view line);

// Finds where the next CSV record ends in `text` starting at `pos`: the offset of its terminating
// '\n' (quoted newlines belong to the record), or npos when the record is not complete yet.
size_t find_csv_record_end(std::string_view text, size_t pos);

}  // namespace nalar::batch
