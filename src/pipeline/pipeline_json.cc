#include "pipeline/pipeline_json.h"

#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>

#include "core/json.h"

namespace nalar::pipeline {

namespace {

using json::Value;

Status bad(const std::string& path, const std::string& what) {
  return invalid_argument("pipeline.json: " + path + ": " + what);
}

// Every member of `obj` must be one of `known`: a typo is an error, not a silent default.
Status check_members(const Value& obj, const std::string& path,
                     std::initializer_list<std::string_view> known) {
  for (const std::string& k : obj.keys) {
    bool ok = false;
    for (std::string_view n : known) ok = ok || k == n;
    if (!ok) {
      std::string list;
      for (std::string_view n : known) list += (list.empty() ? "" : ", ") + std::string(n);
      return bad(path.empty() ? k : path + "." + k, "unknown member (known: " + list + ")");
    }
  }
  return Status::ok();
}

std::string member_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

Status get_string(const Value& obj, const std::string& path, std::string_view key,
                  std::string* out) {
  const Value* v = obj.find(key);
  if (!v) return Status::ok();
  if (!v->is_string()) return bad(member_path(path, key), "must be a string");
  *out = v->str;
  return Status::ok();
}

Status get_bool(const Value& obj, const std::string& path, std::string_view key, bool* out) {
  const Value* v = obj.find(key);
  if (!v) return Status::ok();
  if (!v->is_bool()) return bad(member_path(path, key), "must be true or false");
  *out = v->boolean;
  return Status::ok();
}

Status get_number(const Value& obj, const std::string& path, std::string_view key, double* out) {
  const Value* v = obj.find(key);
  if (!v) return Status::ok();
  if (!v->is_number() || !std::isfinite(v->number))
    return bad(member_path(path, key), "must be a finite number");
  *out = v->number;
  return Status::ok();
}

Status get_int(const Value& obj, const std::string& path, std::string_view key, int64_t lo,
               int64_t hi, int64_t* out) {
  const Value* v = obj.find(key);
  if (!v) return Status::ok();
  int64_t x;
  if (!v->get_int64(&x) || x < lo || x > hi)
    return bad(member_path(path, key), "must be a whole number in [" + std::to_string(lo) + ", " +
                                           std::to_string(hi) + "]");
  *out = x;
  return Status::ok();
}

// A string member that must be one of `choices`; returns its position in `choices`.
Status get_choice(const Value& obj, const std::string& path, std::string_view key,
                  std::initializer_list<std::string_view> choices, int* out) {
  const Value* v = obj.find(key);
  if (!v) return Status::ok();
  std::string list;
  for (std::string_view c : choices) list += (list.empty() ? "\"" : ", \"") + std::string(c) + "\"";
  if (!v->is_string()) return bad(member_path(path, key), "must be one of " + list);
  int i = 0;
  for (std::string_view c : choices) {
    if (v->str == c) {
      *out = i;
      return Status::ok();
    }
    ++i;
  }
  return bad(member_path(path, key), "\"" + v->str + "\" is not one of " + list);
}

Status get_float_list(const Value& obj, const std::string& path, std::string_view key,
                      std::vector<float>* out) {
  const Value* v = obj.find(key);
  if (!v) return Status::ok();
  if (!v->is_array()) return bad(member_path(path, key), "must be an array of numbers");
  out->clear();
  for (const Value& x : v->items) {
    if (!x.is_number() || !std::isfinite(x.number))
      return bad(member_path(path, key), "must be an array of numbers");
    out->push_back(static_cast<float>(x.number));
  }
  return Status::ok();
}

Status get_dtype(const Value& obj, const std::string& path, std::initializer_list<DataType> allowed,
                 DataType* out) {
  const Value* v = obj.find("dtype");
  if (!v) return Status::ok();
  std::string list;
  for (DataType t : allowed)
    list += (list.empty() ? "\"" : ", \"") + std::string(dtype_name(t)) + "\"";
  if (!v->is_string()) return bad(member_path(path, "dtype"), "must be one of " + list);
  DataType t = dtype_from_pipeline_name(v->str);
  for (DataType a : allowed)
    if (t == a) {
      *out = t;
      return Status::ok();
    }
  return bad(member_path(path, "dtype"), "\"" + v->str + "\" is not one of " + list);
}

Status parse_image(const Value& in, ImageConfig* c) {
  const std::string p = "input";
  NALAR_RETURN_IF_ERROR(check_members(
      in, p,
      {"kind", "input", "color", "resize", "interpolation", "height", "width", "shorter_side",
       "pad_value", "scale", "mean", "std", "layout", "dtype", "max_pixels", "max_bytes"}));
  NALAR_RETURN_IF_ERROR(get_string(in, p, "input", &c->input));
  int choice = -1;
  NALAR_RETURN_IF_ERROR(get_choice(in, p, "color", {"rgb", "bgr", "gray"}, &choice));
  if (choice >= 0) c->color = static_cast<ColorMode>(choice);
  choice = -1;
  NALAR_RETURN_IF_ERROR(
      get_choice(in, p, "resize", {"exact", "shorter_side", "letterbox"}, &choice));
  if (choice >= 0) c->resize = static_cast<ResizeMode>(choice);
  choice = -1;
  NALAR_RETURN_IF_ERROR(
      get_choice(in, p, "interpolation", {"bilinear", "area", "nearest"}, &choice));
  if (choice >= 0) c->interpolation = static_cast<Interpolation>(choice);
  choice = -1;
  NALAR_RETURN_IF_ERROR(get_choice(in, p, "layout", {"NCHW", "NHWC"}, &choice));
  if (choice >= 0) c->layout = static_cast<Layout>(choice);
  int64_t v = c->height;
  NALAR_RETURN_IF_ERROR(get_int(in, p, "height", 0, 1 << 16, &v));
  c->height = static_cast<int>(v);
  v = c->width;
  NALAR_RETURN_IF_ERROR(get_int(in, p, "width", 0, 1 << 16, &v));
  c->width = static_cast<int>(v);
  v = c->shorter_side;
  NALAR_RETURN_IF_ERROR(get_int(in, p, "shorter_side", 0, 1 << 16, &v));
  c->shorter_side = static_cast<int>(v);
  v = c->pad_value;
  NALAR_RETURN_IF_ERROR(get_int(in, p, "pad_value", 0, 255, &v));
  c->pad_value = static_cast<uint8_t>(v);
  double scale = c->scale;
  NALAR_RETURN_IF_ERROR(get_number(in, p, "scale", &scale));
  c->scale = static_cast<float>(scale);
  NALAR_RETURN_IF_ERROR(get_float_list(in, p, "mean", &c->mean));
  NALAR_RETURN_IF_ERROR(get_float_list(in, p, "std", &c->std));
  for (float s : c->std)
    if (s == 0) return bad("input.std", "must not hold 0 (values are divided by it)");
  const size_t channels = c->color == ColorMode::kGray ? 1 : 3;
  if (!c->mean.empty() && c->mean.size() != channels && c->mean.size() != 1)
    return bad("input.mean", "has " + std::to_string(c->mean.size()) + " values, expected " +
                                 std::to_string(channels) + " (one per channel) or 1");
  if (!c->std.empty() && c->std.size() != channels && c->std.size() != 1)
    return bad("input.std", "has " + std::to_string(c->std.size()) + " values, expected " +
                                std::to_string(channels) + " (one per channel) or 1");
  NALAR_RETURN_IF_ERROR(
      get_dtype(in, p, {DataType::kFloat, DataType::kFloat16, DataType::kUint8}, &c->dtype));
  NALAR_RETURN_IF_ERROR(
      get_int(in, p, "max_pixels", 1, std::numeric_limits<int64_t>::max(), &c->max_pixels));
  NALAR_RETURN_IF_ERROR(
      get_int(in, p, "max_bytes", 1, std::numeric_limits<int64_t>::max(), &c->max_bytes));
  return Status::ok();
}

// A category given as a vocabulary entry (string) or an index (number); -1 allowed when
// `allow_none` (all-zero one-hot).
Status category_index(const Value& v, const ColumnConfig& col, const std::string& path,
                      bool allow_none, int64_t* out) {
  if (v.is_string()) {
    for (size_t i = 0; i < col.vocabulary.size(); ++i)
      if (col.vocabulary[i] == v.str) {
        *out = static_cast<int64_t>(i);
        return Status::ok();
      }
    return bad(path, "\"" + v.str + "\" is not in the vocabulary");
  }
  int64_t x;
  const int64_t n = static_cast<int64_t>(col.vocabulary.size());
  if (!v.get_int64(&x) || x < (allow_none ? -1 : 0) || x >= n)
    return bad(path, "must be a vocabulary entry or an index in [" +
                         std::to_string(allow_none ? -1 : 0) + ", " + std::to_string(n - 1) + "]");
  *out = x;
  return Status::ok();
}

Status parse_column(const Value& v, const std::string& p, ColumnConfig* col) {
  if (!v.is_object()) return bad(p, "must be an object");
  NALAR_RETURN_IF_ERROR(
      check_members(v, p, {"name", "type", "missing", "vocabulary", "encoding", "unknown"}));
  const Value* name = v.find("name");
  if (!name || !name->is_string() || name->str.empty())
    return bad(p + ".name", "required: a non-empty string");
  col->name = name->str;
  int choice = -1;
  NALAR_RETURN_IF_ERROR(get_choice(v, p, "type", {"number", "category", "bool"}, &choice));
  if (choice >= 0) col->type = static_cast<ColumnType>(choice);
  if (const Value* voc = v.find("vocabulary")) {
    if (col->type != ColumnType::kCategory)
      return bad(p + ".vocabulary", "only category columns have a vocabulary");
    if (!voc->is_array() || voc->items.empty())
      return bad(p + ".vocabulary", "must be a non-empty array of strings");
    for (const Value& s : voc->items) {
      if (!s.is_string()) return bad(p + ".vocabulary", "must be a non-empty array of strings");
      for (const std::string& seen : col->vocabulary)
        if (seen == s.str) return bad(p + ".vocabulary", "\"" + s.str + "\" appears twice");
      col->vocabulary.push_back(s.str);
    }
  } else if (col->type == ColumnType::kCategory) {
    return bad(p + ".vocabulary", "required for a category column");
  }
  choice = -1;
  NALAR_RETURN_IF_ERROR(get_choice(v, p, "encoding", {"index", "onehot"}, &choice));
  if (choice >= 0) {
    if (col->type != ColumnType::kCategory)
      return bad(p + ".encoding", "only category columns have an encoding");
    col->encoding = static_cast<CategoryEncoding>(choice);
  }
  if (const Value* u = v.find("unknown")) {
    if (col->type != ColumnType::kCategory)
      return bad(p + ".unknown", "only category columns have an unknown-category policy");
    if (!(u->is_string() && u->str == "error")) {
      int64_t idx;
      NALAR_RETURN_IF_ERROR(category_index(*u, *col, p + ".unknown", true, &idx));
      col->unknown_index = idx;
    }
  }
  if (const Value* m = v.find("missing")) {
    if (m->type == json::Type::kNull || (m->is_string() && m->str == "error")) {
      // explicit: a missing value is an error (the default)
    } else if (col->type == ColumnType::kCategory) {
      int64_t idx;
      NALAR_RETURN_IF_ERROR(category_index(*m, *col, p + ".missing", true, &idx));
      col->missing_default = static_cast<double>(idx);
    } else if (col->type == ColumnType::kBool) {
      if (m->is_bool())
        col->missing_default = m->boolean ? 1.0 : 0.0;
      else if (m->is_number() && (m->number == 0 || m->number == 1))
        col->missing_default = m->number;
      else
        return bad(p + ".missing", "must be true, false, 0 or 1 for a bool column");
    } else {
      if (!m->is_number() || std::isinf(m->number))
        return bad(p + ".missing", "must be a number for a number column");
      col->missing_default = m->number;
    }
  }
  return Status::ok();
}

Status parse_tabular(const Value& in, TabularConfig* c) {
  const std::string p = "input";
  NALAR_RETURN_IF_ERROR(check_members(in, p, {"kind", "input", "dtype", "columns"}));
  NALAR_RETURN_IF_ERROR(get_string(in, p, "input", &c->input));
  NALAR_RETURN_IF_ERROR(get_dtype(
      in, p,
      {DataType::kFloat, DataType::kDouble, DataType::kFloat16, DataType::kInt64, DataType::kInt32},
      &c->dtype));
  const Value* cols = in.find("columns");
  if (!cols) return bad("input.columns", "required for kind \"tabular\"");
  if (!cols->is_array() || cols->items.empty())
    return bad("input.columns", "must be a non-empty array of column objects");
  for (size_t i = 0; i < cols->items.size(); ++i) {
    ColumnConfig col;
    NALAR_RETURN_IF_ERROR(
        parse_column(cols->items[i], "input.columns[" + std::to_string(i) + "]", &col));
    for (const ColumnConfig& seen : c->columns)
      if (seen.name == col.name)
        return bad("input.columns[" + std::to_string(i) + "].name",
                   "column '" + col.name + "' is named twice");
    c->columns.push_back(std::move(col));
  }
  return Status::ok();
}

Status parse_text(const Value& in, TextConfig* c) {
  const std::string p = "input";
  NALAR_RETURN_IF_ERROR(
      check_members(in, p,
                    {"kind", "tokenizer", "vocab", "lowercase", "max_length", "padding",
                     "truncation", "add_special_tokens", "inputs", "dtype"}));
  int choice = -1;
  NALAR_RETURN_IF_ERROR(get_choice(in, p, "tokenizer", {"wordpiece", "sentencepiece"}, &choice));
  if (choice >= 0) c->tokenizer = static_cast<TokenizerKind>(choice);
  if (c->tokenizer == TokenizerKind::kSentencePiece) c->vocab_file.clear();
  NALAR_RETURN_IF_ERROR(get_string(in, p, "vocab", &c->vocab_file));
  if (c->vocab_file.empty()) {
    if (c->tokenizer == TokenizerKind::kSentencePiece)
      return bad("input.vocab", "required for the sentencepiece tokenizer (the .model file)");
    c->vocab_file = "vocab.txt";
  }
  NALAR_RETURN_IF_ERROR(get_bool(in, p, "lowercase", &c->lowercase));
  NALAR_RETURN_IF_ERROR(get_int(in, p, "max_length", 1, 1 << 20, &c->max_length));
  choice = -1;
  NALAR_RETURN_IF_ERROR(get_choice(in, p, "padding", {"max_length", "longest", "none"}, &choice));
  if (choice >= 0) c->padding = static_cast<Padding>(choice);
  NALAR_RETURN_IF_ERROR(get_bool(in, p, "truncation", &c->truncation));
  NALAR_RETURN_IF_ERROR(get_bool(in, p, "add_special_tokens", &c->add_special_tokens));
  NALAR_RETURN_IF_ERROR(get_dtype(in, p, {DataType::kInt64, DataType::kInt32}, &c->dtype));
  if (const Value* names = in.find("inputs")) {
    if (!names->is_object()) return bad("input.inputs", "must be an object");
    NALAR_RETURN_IF_ERROR(
        check_members(*names, "input.inputs", {"input_ids", "attention_mask", "token_type_ids"}));
    NALAR_RETURN_IF_ERROR(get_string(*names, "input.inputs", "input_ids", &c->input_ids));
    NALAR_RETURN_IF_ERROR(get_string(*names, "input.inputs", "attention_mask", &c->attention_mask));
    NALAR_RETURN_IF_ERROR(get_string(*names, "input.inputs", "token_type_ids", &c->token_type_ids));
    if (c->input_ids.empty()) return bad("input.inputs.input_ids", "must name a model input");
  }
  return Status::ok();
}

Status parse_output(const Value& out, OutputConfig* c) {
  const std::string p = "output";
  if (!out.is_object()) return bad(p, "must be an object");
  NALAR_RETURN_IF_ERROR(check_members(out, p,
                                      {"task", "output", "label_output", "activation", "top_k",
                                       "labels", "threshold", "positive_index"}));
  int choice = -1;
  NALAR_RETURN_IF_ERROR(get_choice(out, p, "task", {"classification", "regression"}, &choice));
  c->regression = choice == 1;
  NALAR_RETURN_IF_ERROR(get_string(out, p, "output", &c->output));
  NALAR_RETURN_IF_ERROR(get_string(out, p, "label_output", &c->label_output));
  choice = -1;
  NALAR_RETURN_IF_ERROR(get_choice(out, p, "activation", {"none", "softmax", "sigmoid"}, &choice));
  if (choice >= 0) c->activation = static_cast<Activation>(choice);
  int64_t k = c->top_k;
  NALAR_RETURN_IF_ERROR(get_int(out, p, "top_k", 1, 1 << 20, &k));
  c->top_k = static_cast<int>(k);
  NALAR_RETURN_IF_ERROR(get_string(out, p, "labels", &c->labels_file));
  if (const Value* t = out.find("threshold"); t && t->type != json::Type::kNull) {
    if (!t->is_number() || !std::isfinite(t->number))
      return bad("output.threshold", "must be a finite number or null");
    c->threshold = static_cast<float>(t->number);
  }
  NALAR_RETURN_IF_ERROR(get_int(out, p, "positive_index", 0, 1 << 30, &c->positive_index));
  if (c->regression && !c->label_output.empty())
    return bad("output.label_output", "a regression output has no labels");
  return Status::ok();
}

}  // namespace

DataType dtype_from_pipeline_name(std::string_view name) {
  struct N {
    std::string_view name;
    DataType t;
  };
  static constexpr N kNames[] = {
      {"float32", DataType::kFloat},   {"float", DataType::kFloat},
      {"float16", DataType::kFloat16}, {"float64", DataType::kDouble},
      {"double", DataType::kDouble},   {"uint8", DataType::kUint8},
      {"int64", DataType::kInt64},     {"int32", DataType::kInt32},
  };
  for (const N& n : kNames)
    if (n.name == name) return n.t;
  return DataType::kUndefined;
}

Result<PipelineConfig> parse_pipeline_config(std::string_view json_text) {
  auto doc = json::parse(json_text);
  if (!doc.is_ok()) return doc.status().with_context("pipeline.json");
  const Value& root = *doc;
  if (!root.is_object()) return invalid_argument("pipeline.json: must be a JSON object");
  NALAR_RETURN_IF_ERROR(check_members(root, "", {"input", "output"}));
  PipelineConfig c;
  if (const Value* in = root.find("input")) {
    if (!in->is_object()) return bad("input", "must be an object");
    const Value* kind = in->find("kind");
    if (!kind) return bad("input.kind", "required: \"image\", \"tabular\", \"text\" or \"tensor\"");
    int choice = -1;
    NALAR_RETURN_IF_ERROR(
        get_choice(*in, "input", "kind", {"tensor", "image", "tabular", "text"}, &choice));
    c.kind = static_cast<InputKind>(choice);
    switch (c.kind) {
      case InputKind::kTensor:
        NALAR_RETURN_IF_ERROR(check_members(*in, "input", {"kind"}));
        break;
      case InputKind::kImage:
        NALAR_RETURN_IF_ERROR(parse_image(*in, &c.image));
        break;
      case InputKind::kTabular:
        NALAR_RETURN_IF_ERROR(parse_tabular(*in, &c.tabular));
        break;
      case InputKind::kText:
        NALAR_RETURN_IF_ERROR(parse_text(*in, &c.text));
        break;
    }
  }
  if (const Value* out = root.find("output"); out && out->type != json::Type::kNull) {
    OutputConfig oc;
    NALAR_RETURN_IF_ERROR(parse_output(*out, &oc));
    c.output = std::move(oc);
  }
  return c;
}

}  // namespace nalar::pipeline
