// libFuzzer target: arbitrary bytes through the batch job's row parsers: record splitting (CSV
// quoting across lines), CSV fields, numbers, JSON Lines records, and CSV re-quoting round trips.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "batch/row_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Records as the reader cuts them, each then parsed both ways.
  size_t pos = 0;
  std::vector<std::string_view> fields;
  std::string scratch;
  while (pos <= text.size()) {
    size_t end = nalar::batch::find_csv_record_end(text, pos);
    if (end != std::string_view::npos && (end < pos || end >= text.size())) abort();
    std::string_view rec =
        text.substr(pos, end == std::string_view::npos ? text.size() - pos : end - pos);
    if (nalar::batch::split_csv(rec, &fields, &scratch).is_ok()) {
      // Every field is writable and reads back as itself.
      std::string line;
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i) line.push_back(',');
        nalar::batch::append_csv_field(&line, fields[i]);
      }
      std::vector<std::string> before(fields.begin(), fields.end());
      std::vector<std::string_view> again;
      std::string scratch2;
      bool has_newline = false;
      for (const auto& f : before) has_newline |= f.find('\r') != std::string::npos;
      if (!has_newline) {
        if (!nalar::batch::split_csv(line, &again, &scratch2).is_ok()) abort();
        if (again.size() != before.size()) abort();
        for (size_t i = 0; i < again.size(); ++i)
          if (again[i] != before[i]) abort();
      }
      for (auto f : fields) {
        double d;
        float fl;
        (void)nalar::batch::parse_number(f, &d);
        (void)nalar::batch::parse_float(f, &fl);
      }
    }
    (void)nalar::batch::parse_json_row(rec);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return 0;
}
