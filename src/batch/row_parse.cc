#include "batch/row_parse.h"

#include <charconv>
#include <cstring>

namespace nalar::batch {

Status split_csv(std::string_view record, std::vector<std::string_view>* fields,
                 std::string* scratch) {
  fields->clear();
  scratch->clear();
  if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
  // Unescaping only shrinks text, so the scratch never reallocates and views stay valid.
  scratch->reserve(record.size());
  size_t pos = 0;
  while (true) {
    if (pos < record.size() && record[pos] == '"') {
      const size_t start = scratch->size();
      size_t i = pos + 1;
      bool closed = false;
      while (i < record.size()) {
        char c = record[i];
        if (c == '"') {
          if (i + 1 < record.size() && record[i + 1] == '"') {
            scratch->push_back('"');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        scratch->push_back(c);
        ++i;
      }
      if (!closed)
        return invalid_argument("unterminated quoted field " + std::to_string(fields->size() + 1));
      fields->emplace_back(scratch->data() + start, scratch->size() - start);
      if (i == record.size()) return Status::ok();
      if (record[i] != ',')
        return invalid_argument("text after the closing quote of field " +
                                std::to_string(fields->size()));
      pos = i + 1;
      continue;
    }
    const void* comma = std::memchr(record.data() + pos, ',', record.size() - pos);
    if (comma == nullptr) {
      fields->push_back(record.substr(pos));
      return Status::ok();
    }
    size_t end = static_cast<size_t>(static_cast<const char*>(comma) - record.data());
    fields->push_back(record.substr(pos, end - pos));
    pos = end + 1;
  }
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <class T>
bool parse_fp(std::string_view cell, T* out) {
  cell = trim(cell);
  if (cell.empty()) return false;
  if (cell.front() == '+') cell.remove_prefix(1);  // from_chars refuses a leading '+'
  if (cell.empty()) return false;
  auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), *out);
  return ec == std::errc() && end == cell.data() + cell.size();
}

}  // namespace

bool parse_number(std::string_view cell, double* out) { return parse_fp(cell, out); }
bool parse_float(std::string_view cell, float* out) { return parse_fp(cell, out); }

void append_csv_field(std::string* out, std::string_view cell) {
  if (cell.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(cell);
    return;
  }
  out->push_back('"');
  for (char c : cell) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

Result<json::Value> parse_json_row(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  json::ParseOptions options;
  options.max_depth = 32;
  auto v = json::parse(line, options);
  if (!v.is_ok()) return invalid_argument("broken JSON: " + v.status().message());
  if (!v->is_object() && !v->is_array())
    return invalid_argument(std::string("expected a JSON object or array, got ") +
                            json::type_name(v->type));
  return v;
}

size_t find_csv_record_end(std::string_view text, size_t pos) {
  bool quoted = false;
  bool* in_quotes = &quoted;
  const char* base = text.data();
  const char* end = base + text.size();
  const char* p = base + pos;
  while (p < end) {
    if (*in_quotes) {
      const void* q = std::memchr(p, '"', static_cast<size_t>(end - p));
      if (q == nullptr) return std::string_view::npos;
      p = static_cast<const char*>(q) + 1;
      *in_quotes = false;  // an escaped "" re-enters quotes on its second quote below
      continue;
    }
    const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
    const char* stop = nl ? static_cast<const char*>(nl) : end;
    const void* q = std::memchr(p, '"', static_cast<size_t>(stop - p));
    if (q == nullptr) {
      if (nl == nullptr) return std::string_view::npos;
      return static_cast<size_t>(stop - base);
    }
    p = static_cast<const char*>(q) + 1;
    *in_quotes = true;
  }
  return std::string_view::npos;
}

}  // namespace nalar::batch
