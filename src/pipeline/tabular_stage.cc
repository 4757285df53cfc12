#include "pipeline/tabular_stage.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <type_traits>

namespace nalar::pipeline {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool parse_double(std::string_view s, double* out) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Quoted and shortened for error messages: a megabyte cell must not become a megabyte error.
std::string quote(std::string_view s) {
  if (s.size() > 40) return "'" + std::string(s.substr(0, 40)) + "...'";
  return "'" + std::string(s) + "'";
}

// The text a category value is looked up by: strings as they are, whole numbers without a
// fraction ("3", not "3.0"), booleans as true/false.
std::string category_text(const FieldValue& v) {
  switch (v.kind) {
    case FieldValue::Kind::kString:
      return v.text;
    case FieldValue::Kind::kBool:
      return v.flag ? "true" : "false";
    case FieldValue::Kind::kNumber: {
      if (std::isfinite(v.number) && std::floor(v.number) == v.number &&
          std::fabs(v.number) < 9e15) {
        return std::to_string(static_cast<int64_t>(v.number));
      }
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, v.number);
      return std::string(buf, r.ptr);
    }
    case FieldValue::Kind::kMissing:
      break;
  }
  return {};
}

bool is_missing(const FieldValue* v) {
  return !v || v->kind == FieldValue::Kind::kMissing ||
         (v->kind == FieldValue::Kind::kString && trim(v->text).empty());
}

std::string vocabulary_list(const ColumnConfig& col) {
  std::string s;
  for (size_t i = 0; i < col.vocabulary.size(); ++i) {
    if (i == 10) return s + ", ... (" + std::to_string(col.vocabulary.size()) + " in all)";
    s += (i ? ", " : "") + col.vocabulary[i];
  }
  return s;
}

// The feature value of a number or bool column.
Status scalar_feature(const FieldValue& v, const ColumnConfig& col, double* out) {
  const std::string where = "column '" + col.name + "': ";
  if (col.type == ColumnType::kNumber) {
    switch (v.kind) {
      case FieldValue::Kind::kNumber:
        *out = v.number;
        return Status::ok();
      case FieldValue::Kind::kBool:
        *out = v.flag ? 1 : 0;
        return Status::ok();
      case FieldValue::Kind::kString:
        if (parse_double(v.text, out)) return Status::ok();
        return invalid_argument(where + quote(v.text) + " is not a number");
      case FieldValue::Kind::kMissing:
        break;
    }
    return internal_error(where + "missing value reached the encoder");
  }
  // kBool
  switch (v.kind) {
    case FieldValue::Kind::kBool:
      *out = v.flag ? 1 : 0;
      return Status::ok();
    case FieldValue::Kind::kNumber:
      if (v.number == 0 || v.number == 1) {
        *out = v.number;
        return Status::ok();
      }
      return invalid_argument(where + category_text(v) + " is not a boolean (expected 0 or 1)");
    case FieldValue::Kind::kString: {
      const std::string_view t = trim(v.text);
      for (std::string_view yes : {"true", "1", "yes", "y", "t", "on"})
        if (iequals(t, yes)) {
          *out = 1;
          return Status::ok();
        }
      for (std::string_view no : {"false", "0", "no", "n", "f", "off"})
        if (iequals(t, no)) {
          *out = 0;
          return Status::ok();
        }
      return invalid_argument(where + quote(v.text) +
                              " is not a boolean (expected true/false, 1/0 or yes/no)");
    }
    case FieldValue::Kind::kMissing:
      break;
  }
  return internal_error(where + "missing value reached the encoder");
}

// The vocabulary index of a category value; -1: the all-zero one-hot row.
Status category_feature(const FieldValue& v, const ColumnConfig& col, int64_t* out) {
  const std::string text = category_text(v);
  for (size_t i = 0; i < col.vocabulary.size(); ++i)
    if (col.vocabulary[i] == text) {
      *out = static_cast<int64_t>(i);
      return Status::ok();
    }
  if (col.unknown_index) {
    *out = *col.unknown_index;
    return Status::ok();
  }
  return invalid_argument("column '" + col.name + "': unknown category " + quote(text) +
                          " (vocabulary: " + vocabulary_list(col) + ")");
}

template <class T>
void store_row(const double* src, int64_t n, T* dst) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_integral_v<T>)
      dst[i] = static_cast<T>(std::llround(src[i]));
    else if constexpr (std::is_same_v<T, double>)
      dst[i] = src[i];
    else
      dst[i] = T(static_cast<float>(src[i]));
  }
}

}  // namespace

int64_t tabular_feature_count(const TabularConfig& config) {
  int64_t n = 0;
  for (const ColumnConfig& c : config.columns)
    n += c.type == ColumnType::kCategory && c.encoding == CategoryEncoding::kOneHot
             ? static_cast<int64_t>(c.vocabulary.size())
             : 1;
  return n;
}

Status encode_record(const Record& record, const TabularConfig& config, double* out) {
  for (const ColumnConfig& col : config.columns) {
    const FieldValue* v = record.find(col.name);
    const bool onehot =
        col.type == ColumnType::kCategory && col.encoding == CategoryEncoding::kOneHot;
    const int64_t width = onehot ? static_cast<int64_t>(col.vocabulary.size()) : 1;
    if (is_missing(v)) {
      if (!col.missing_default)
        return invalid_argument("column '" + col.name + "': missing value and no default");
      if (onehot) {
        for (int64_t i = 0; i < width; ++i) out[i] = 0;
        const int64_t idx = static_cast<int64_t>(*col.missing_default);
        if (idx >= 0 && idx < width) out[idx] = 1;
      } else {
        *out = *col.missing_default;
      }
      out += width;
      continue;
    }
    if (col.type != ColumnType::kCategory) {
      NALAR_RETURN_IF_ERROR(scalar_feature(*v, col, out));
      if (col.type == ColumnType::kNumber && std::isinf(*out))
        return invalid_argument("column '" + col.name + "': value is infinite");
      ++out;
      continue;
    }
    int64_t idx = 0;
    NALAR_RETURN_IF_ERROR(category_feature(*v, col, &idx));
    if (onehot) {
      for (int64_t i = 0; i < width; ++i) out[i] = 0;
      if (idx >= 0 && idx < width) out[idx] = 1;
    } else {
      *out = static_cast<double>(idx);
    }
    out += width;
  }
  return Status::ok();
}

Status encode_record_into(const Record& record, const TabularConfig& config, Tensor* out,
                          int64_t row) {
  const int64_t n = tabular_feature_count(config);
  std::vector<double> buf(static_cast<size_t>(n));
  NALAR_RETURN_IF_ERROR(encode_record(record, config, buf.data()));
  const int64_t off = row * n;
  switch (out->dtype()) {
    case DataType::kFloat:
      store_row(buf.data(), n, out->data<float>() + off);
      break;
    case DataType::kDouble:
      store_row(buf.data(), n, out->data<double>() + off);
      break;
    case DataType::kFloat16:
      store_row(buf.data(), n, out->data<Float16>() + off);
      break;
    case DataType::kInt64:
      store_row(buf.data(), n, out->data<int64_t>() + off);
      break;
    case DataType::kInt32:
      store_row(buf.data(), n, out->data<int32_t>() + off);
      break;
    default:
      return invalid_argument(std::string("tabular features cannot be written as ") +
                              dtype_name(out->dtype()));
  }
  return Status::ok();
}

Result<Record> record_from_json(const json::Value& object) {
  if (!object.is_object())
    return invalid_argument(std::string("a record must be a JSON object of named features, got ") +
                            json::type_name(object.type));
  Record r;
  for (size_t i = 0; i < object.keys.size(); ++i) {
    const json::Value& v = object.values[i];
    FieldValue f;
    switch (v.type) {
      case json::Type::kNull:
        break;
      case json::Type::kNumber:
        f = FieldValue::of_number(v.number);
        break;
      case json::Type::kString:
        f = FieldValue::of_string(v.str);
        break;
      case json::Type::kBool:
        f = FieldValue::of_bool(v.boolean);
        break;
      default:
        // Fields no column names are ignored, whatever they hold; a column that names this one
        // reports the text below as not a number / unknown category.
        f = FieldValue::of_string(std::string("<JSON ") + json::type_name(v.type) + ">");
        break;
    }
    r.names.push_back(object.keys[i]);
    r.values.push_back(std::move(f));
  }
  return r;
}

Result<Record> record_from_json_text(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc.is_ok()) return doc.status();
  return record_from_json(*doc);
}

Result<Record> record_from_csv(const std::vector<std::string>& header,
                               const std::vector<std::string>& cells) {
  if (cells.size() != header.size())
    return invalid_argument("the row has " + std::to_string(cells.size()) +
                            " fields but the header names " + std::to_string(header.size()));
  Record r;
  r.names = header;
  r.values.reserve(cells.size());
  for (const std::string& c : cells) r.values.push_back(FieldValue::of_string(c));
  return r;
}

}  // namespace nalar::pipeline
