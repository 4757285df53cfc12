#include "batch/row_format.h"

#include <cstring>

#include "batch/npy_stream.h"
#include "batch/row_parse.h"
#include "core/json.h"

namespace nalar::batch {

Result<OutputFormat> output_format_of(const std::string& path) {
  auto ends = [&](const char* s) {
    const size_t n = std::strlen(s);
    return path.size() >= n && path.compare(path.size() - n, n, s) == 0;
  };
  if (ends(".csv")) return OutputFormat::kCsv;
  if (ends(".jsonl") || ends(".ndjson") || ends(".json")) return OutputFormat::kJsonl;
  if (ends(".npy")) return OutputFormat::kNpy;
  return invalid_argument("--output '" + path +
                          "': name it .csv, .jsonl or .npy to say the format");
}

const char* output_format_name(OutputFormat f) {
  switch (f) {
    case OutputFormat::kCsv:
      return "csv";
    case OutputFormat::kJsonl:
      return "jsonl";
    case OutputFormat::kNpy:
      return "npy";
  }
  return "?";
}

namespace {

void csv_cell(std::string* out, const Cell& c) {
  switch (c.kind) {
    case Cell::Kind::kMissing:
      break;
    default:
      append_csv_field(out, c.text);
  }
}

// Whether a CSV cell is a number as JSON writes them: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

void json_cell(json::Writer* w, const Cell& c) {
  switch (c.kind) {
    case Cell::Kind::kMissing:
      w->null();
      break;
    case Cell::Kind::kJsonString:
      w->string(c.text);
      break;
    case Cell::Kind::kJsonLiteral:
      w->raw(c.text);
      break;
    case Cell::Kind::kText:  // a CSV cell: a number when it is one as JSON writes it
      if (is_json_number(c.text))
        w->raw(c.text);
      else
        w->string(c.text);
      break;
  }
}

}  // namespace

std::string RowFormatter::fallback_header() const {
  if (format_ != OutputFormat::kCsv) return "";
  std::string h;
  for (const auto& k : keep_) {
    if (!h.empty()) h.push_back(',');
    append_csv_field(&h, k);
  }
  for (const auto& n : names_) {
    if (!h.empty()) h.push_back(',');
    append_csv_field(&h, n);
  }
  h.push_back('\n');
  return h;
}

Status RowFormatter::fix_layout(const std::vector<PredValue>& row, const WorkBatch& b) {
  widths_.clear();
  for (const auto& v : row) widths_.push_back(v.items.size());
  if (format_ == OutputFormat::kCsv) {
    std::string h;
    for (const auto& k : keep_) {
      if (!h.empty()) h.push_back(',');
      append_csv_field(&h, k);
    }
    for (size_t i = 0; i < names_.size(); ++i) {
      if (!row[i].is_array) {
        if (!h.empty()) h.push_back(',');
        append_csv_field(&h, names_[i]);
        continue;
      }
      for (size_t j = 0; j < widths_[i]; ++j) {
        if (!h.empty()) h.push_back(',');
        append_csv_field(&h, names_[i] + "_" + std::to_string(j));
      }
    }
    h.push_back('\n');
    if (header_.empty())
      header_ = h;
    else if (header_ != h)
      return internal_error("the prediction columns changed between runs of this job");
  } else if (format_ == OutputFormat::kNpy) {
    if (b.outputs.empty()) return internal_error("no model outputs for .npy");
    const Tensor& t = b.outputs[0].second;
    std::string descr = npy_descr(t.dtype());
    if (descr.empty())
      return invalid_argument("output '" + b.outputs[0].first + "' has dtype " +
                              dtype_name(t.dtype()) + ", which .npy output cannot hold");
    std::string h = descr;
    for (int64_t d = 1; d < t.rank(); ++d) h += " " + std::to_string(t.dim(d));
    if (header_.empty())
      header_ = h;
    else if (header_ != h)
      return internal_error("the first output's row shape changed: " + header_ + " vs " + h);
  }
  return Status::ok();
}

Status RowFormatter::append_rows(const WorkBatch& b, const PredRows& preds, std::string* out) {
  if (preds.empty()) return Status::ok();
  if (widths_.empty()) NALAR_RETURN_IF_ERROR(fix_layout(preds[0], b));
  if (format_ == OutputFormat::kNpy) {
    const Tensor& t = b.outputs[0].second;
    out->append(static_cast<const char*>(t.raw()), t.nbytes());
    return Status::ok();
  }
  for (size_t r = 0; r < preds.size(); ++r) {
    const Cell* kept = b.kept_row(b.ok_rows[r]);
    const auto& row = preds[r];
    if (row.size() != widths_.size())
      return internal_error("a row has " + std::to_string(row.size()) +
                            " prediction columns, not " + std::to_string(widths_.size()));
    for (size_t i = 0; i < row.size(); ++i)
      if (row[i].items.size() != widths_[i])
        return invalid_argument("prediction '" + names_[i] + "' has " +
                                std::to_string(row[i].items.size()) + " values in one row and " +
                                std::to_string(widths_[i]) + " in another");
    if (format_ == OutputFormat::kCsv) {
      bool first = true;
      for (size_t k = 0; k < keep_.size(); ++k) {
        if (!first) out->push_back(',');
        first = false;
        if (k < b.keep_count) csv_cell(out, kept[k]);
      }
      for (const auto& v : row)
        for (const auto& c : v.items) {
          if (!first) out->push_back(',');
          first = false;
          csv_cell(out, c);
        }
      out->push_back('\n');
    } else {
      json::Writer w;
      w.begin_object();
      for (size_t k = 0; k < keep_.size(); ++k) {
        w.key(keep_[k]);
        json_cell(&w, k < b.keep_count ? kept[k] : Cell{});
      }
      for (size_t i = 0; i < row.size(); ++i) {
        w.key(names_[i]);
        if (row[i].is_array) w.begin_array();
        for (const auto& c : row[i].items) json_cell(&w, c);
        if (row[i].is_array) w.end_array();
      }
      w.end_object();
      out->append(w.str());
      out->push_back('\n');
    }
  }
  return Status::ok();
}

void RowFormatter::append_errors(const WorkBatch& b, const std::string& source_path,
                                 std::string* err) const {
  for (size_t i = 0; i < b.rows.size(); ++i) {
    const RowState& st = b.state[i];
    if (st.error.empty()) continue;
    const RawRow& r = b.rows[i];
    json::Writer w;
    w.begin_object();
    w.key("file").string(r.path.empty() ? source_path : r.path);
    w.key("row").int64(r.row + 1);
    if (r.line > 0) w.key("line").int64(r.line);
    w.key("raw");
    if (!r.path.empty() || b.info->npy_dtype != DataType::kUndefined) {
      w.null();  // binary rows (an image, a .npy row): the file and row locate them
    } else {
      // Invalid UTF-8 would make the errors file unreadable JSON: replace such bytes.
      const std::string_view text = b.text(r);
      std::string clean;
      clean.reserve(text.size());
      for (size_t p = 0; p < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[p]);
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && p + len <= text.size();
        for (size_t k = 1; ok && k < len; ++k)
          ok = (static_cast<unsigned char>(text[p + k]) & 0xc0) == 0x80;
        if (ok) {
          clean.append(text.substr(p, len));
          p += len;
        } else {
          clean.append("\xef\xbf\xbd");
          ++p;
        }
      }
      w.string(clean);
    }
    w.key("reason").string(st.error);
    w.end_object();
    err->append(w.str());
    err->push_back('\n');
  }
}

}  // namespace nalar::batch
