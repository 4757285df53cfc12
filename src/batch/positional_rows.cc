// Positional rows: for a plain ONNX model without pipeline.json. Each row's numbers, in order,
// are one example of the model's single input: the CSV columns that are not kept columns, a JSON
// array (or an object's members that are not kept), or a .npy row.
#include <cstring>

#include "batch/model.h"
#include "batch/row_parse.h"

namespace nalar::batch {

namespace {

template <class T>
void store(void* base, int64_t index, double v) {
  static_cast<T*>(base)[index] = static_cast<T>(v);
}

// Writes one value of the input dtype; false for dtypes positional rows cannot fill.
bool store_value(DataType dt, void* base, int64_t index, double v) {
  switch (dt) {
    case DataType::kFloat:
      store<float>(base, index, v);
      return true;
    case DataType::kDouble:
      store<double>(base, index, v);
      return true;
    case DataType::kInt64:
      store<int64_t>(base, index, v);
      return true;
    case DataType::kInt32:
      store<int32_t>(base, index, v);
      return true;
    case DataType::kInt16:
      store<int16_t>(base, index, v);
      return true;
    case DataType::kInt8:
      store<int8_t>(base, index, v);
      return true;
    case DataType::kUint8:
      store<uint8_t>(base, index, v);
      return true;
    case DataType::kBool:
      store<bool>(base, index, v != 0);
      return true;
    default:
      return false;
  }
}

double load_value(DataType dt, const char* p) {
  switch (dt) {
    case DataType::kFloat: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DataType::kDouble: {
      double v;
      std::memcpy(&v, p, 8);
      return v;
    }
    case DataType::kInt64: {
      int64_t v;
      std::memcpy(&v, p, 8);
      return static_cast<double>(v);
    }
    case DataType::kInt32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DataType::kInt16: {
      int16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case DataType::kInt8:
      return static_cast<int8_t>(*p);
    case DataType::kUint8:
      return static_cast<uint8_t>(*p);
    case DataType::kUint16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case DataType::kUint32: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DataType::kUint64: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return static_cast<double>(v);
    }
    case DataType::kBool:
      return *p != 0;
    default:
      return 0;
  }
}

// Appends the numbers of a JSON value (nested arrays flattened); false on anything else.
bool flatten_numbers(const json::Value& v, std::vector<double>* out, std::string* why) {
  if (v.is_number()) {
    double d;
    if (!json::number_to_double(v.str, &d)) {
      *why = "bad number '" + v.str + "'";
      return false;
    }
    out->push_back(d);
    return true;
  }
  if (v.is_bool()) {
    out->push_back(v.boolean ? 1 : 0);
    return true;
  }
  if (v.is_array()) {
    for (const auto& i : v.items)
      if (!flatten_numbers(i, out, why)) return false;
    return true;
  }
  if (v.is_string()) {
    double d;
    if (parse_number(v.str, &d)) {
      out->push_back(d);
      return true;
    }
    *why = "bad number \"" + v.str + "\"";
    return false;
  }
  *why = std::string("expected a number, got ") + json::type_name(v.type);
  return false;
}

class PositionalPreparer : public RowPreparer {
 public:
  PositionalPreparer(const TensorInfo& input, const TensorInfo* const* outputs, size_t n_outputs,
                     const ModelOptions& options)
      : input_(input), options_(options) {
    for (size_t i = 0; i < n_outputs; ++i) output_names_.push_back(outputs[i]->name);
    row_shape_.assign(input.shape.size() > 1 ? input.shape.size() - 1 : 0, -1);
    row_elems_ = 1;
    for (size_t d = 1; d < input.shape.size(); ++d) {
      row_shape_[d - 1] = input.shape[d].value;
      if (input.shape[d].is_fixed())
        row_elems_ *= input.shape[d].value;
      else
        row_elems_ = -1;
    }
    if (!input.has_shape) row_shape_ = {-1};  // unknown rank: rows of numbers
  }

  bool named_columns() const override { return false; }
  std::vector<std::string> prediction_names() const override { return output_names_; }

  Status prepare(WorkBatch* b) const override {
    const size_t n = b->rows.size();
    b->reset_prepared(options_.keep_columns.size());
    if (n == 0) return Status::ok();
    const SourceInfo& info = *b->info;
    int64_t elems = row_elems_;
    if (options_.format == InputFormat::kCsv && elems >= 0 &&
        static_cast<int64_t>(info.feature_index.size()) != elems)
      return invalid_argument("'" + info.path + "' has " +
                              std::to_string(info.feature_index.size()) +
                              " feature columns (the header's columns that are not kept), but "
                              "the model input '" +
                              input_.name + "' takes " + std::to_string(elems) + " values per row");
    if (options_.format == InputFormat::kCsv && elems < 0)
      elems = static_cast<int64_t>(info.feature_index.size());
    if (options_.format == InputFormat::kNpy) {
      const int64_t npy_elems = shape_size(info.npy_row_shape);
      if (elems >= 0 && npy_elems != elems)
        return invalid_argument("'" + info.path + "' rows have shape " +
                                shape_to_string(info.npy_row_shape) + " (" +
                                std::to_string(npy_elems) + " values), the model input '" +
                                input_.name + "' takes " + std::to_string(elems));
      elems = npy_elems;
    }
    // JSON rows of a model with an open row length: the first good row decides.
    std::vector<double> values;
    std::vector<std::string_view> fields;
    std::string scratch;
    std::string why;
    Tensor t;  // allocated once elems is known
    void* base = nullptr;
    auto ensure = [&](int64_t e) {
      if (base) return;
      elems = e;
      Shape s{static_cast<int64_t>(n)};
      if (options_.format == InputFormat::kNpy && row_shape_.size() != 1) {
        for (int64_t d : info.npy_row_shape) s.push_back(d);
      } else if (row_shape_.size() == 1) {
        s.push_back(e);
      } else {
        for (int64_t d : row_shape_) s.push_back(d);
      }
      t = Tensor::empty(input_.dtype, s);
      base = t.raw();
    };
    if (elems < 0 && row_shape_.size() > 1 && options_.format != InputFormat::kNpy)
      return invalid_argument("model input '" + input_.name +
                              "' has open dimensions beyond the "
                              "batch; text rows can only fill a fixed row shape");
    if (elems >= 0) ensure(elems);
    const DataType dt = input_.dtype;
    for (size_t i = 0; i < n; ++i) {
      const RawRow& r = b->rows[i];
      const std::string_view text = b->text(r);
      RowState& st = b->state[i];
      const int64_t slot = static_cast<int64_t>(b->ok_rows.size());
      if (options_.format == InputFormat::kCsv) {
        Status s = split_csv(text, &fields, &scratch);
        if (!s.is_ok()) {
          st.error = "bad CSV: " + s.message();
          continue;
        }
        if (fields.size() != info.header.size()) {
          st.error = "wrong arity: " + std::to_string(fields.size()) + " fields, the header has " +
                     std::to_string(info.header.size());
          continue;
        }
        bool ok = true;
        for (size_t f = 0; f < info.feature_index.size() && ok; ++f) {
          const int c = info.feature_index[f];
          std::string_view cell = fields[static_cast<size_t>(c)];
          double d;
          if (dt == DataType::kFloat) {
            float v;
            ok = parse_float(cell, &v);
            if (ok) static_cast<float*>(base)[slot * elems + static_cast<int64_t>(f)] = v;
          } else {
            ok = parse_number(cell, &d) &&
                 store_value(dt, base, slot * elems + static_cast<int64_t>(f), d);
          }
          if (!ok)
            st.error = cell.find_first_not_of(" \t") == std::string_view::npos
                           ? "column '" + info.header[static_cast<size_t>(c)] + "': missing value"
                           : "column '" + info.header[static_cast<size_t>(c)] + "': bad number '" +
                                 std::string(cell) + "'";
        }
        if (!ok) continue;
        Cell* kept = b->kept_row(i);
        for (size_t k = 0; k < info.kept_index.size(); ++k)
          if (info.kept_index[k] >= 0) {
            kept[k].kind = Cell::Kind::kText;
            kept[k].text.assign(fields[static_cast<size_t>(info.kept_index[k])]);
          }
      } else if (options_.format == InputFormat::kJsonl) {
        auto v = parse_json_row(text);
        if (!v.is_ok()) {
          st.error = v.status().message();
          continue;
        }
        values.clear();
        bool ok = true;
        if (v->is_array()) {
          ok = flatten_numbers(*v, &values, &why);
        } else {
          for (size_t m = 0; m < v->keys.size() && ok; ++m) {
            bool kept = false;
            for (const auto& k : options_.keep_columns) kept |= k == v->keys[m];
            if (kept) continue;
            ok = flatten_numbers(v->values[m], &values, &why);
            if (!ok) why = "member '" + v->keys[m] + "': " + why;
          }
          kept_from_json(*v, options_.keep_columns, b->kept_row(i));
        }
        if (!ok) {
          st.error = why;
          continue;
        }
        if (elems < 0) ensure(static_cast<int64_t>(values.size()));
        if (static_cast<int64_t>(values.size()) != elems) {
          st.error = "wrong arity: " + std::to_string(values.size()) +
                     " values, the model input '" + input_.name + "' takes " +
                     std::to_string(elems);
          continue;
        }
        for (int64_t e = 0; e < elems; ++e)
          if (!store_value(dt, base, slot * elems + e, values[static_cast<size_t>(e)]))
            return invalid_argument("model input '" + input_.name + "' has dtype " +
                                    dtype_name(dt) + ", which numeric rows cannot fill");
      } else if (options_.format == InputFormat::kNpy) {
        const size_t es = dtype_size(info.npy_dtype);
        if (info.npy_dtype == dt) {
          std::memcpy(static_cast<char*>(base) + slot * elems * static_cast<int64_t>(es),
                      text.data(), text.size());
        } else {
          for (int64_t e = 0; e < elems; ++e)
            if (!store_value(
                    dt, base, slot * elems + e,
                    load_value(info.npy_dtype, text.data() + e * static_cast<int64_t>(es))))
              return invalid_argument("model input '" + input_.name + "' has dtype " +
                                      dtype_name(dt) + ", which .npy rows cannot fill");
        }
      } else {
        return invalid_argument(
            "image input needs a model directory whose pipeline.json has an image stage "
            "(decoding, resizing, normalisation); '" +
            options_.model + "' has none");
      }
      b->ok_rows.push_back(static_cast<uint32_t>(i));
    }
    if (b->ok_rows.empty()) return Status::ok();
    if (b->ok_rows.size() != n) {  // shrink to the rows that made it
      Shape s = t.shape();
      s[0] = static_cast<int64_t>(b->ok_rows.size());
      Tensor exact = Tensor::empty(dt, s);
      std::memcpy(exact.raw(), t.raw(), exact.nbytes());
      t = exact;
    }
    b->inputs.emplace_back(input_.name, std::move(t));
    return Status::ok();
  }

  Status predictions(const WorkBatch& b, PredRows* out) const override {
    const size_t rows = b.ok_rows.size();
    out->resize(rows);
    for (auto& r : *out) r.resize(b.outputs.size());
    for (size_t o = 0; o < b.outputs.size(); ++o) {
      const Tensor& t = b.outputs[o].second;
      if (t.rank() == 0 || t.dim(0) != static_cast<int64_t>(rows))
        return invalid_argument("output '" + b.outputs[o].first + "' is " + t.describe() +
                                " for a batch of " + std::to_string(rows) +
                                " rows; batch needs outputs with the batch as dimension 0");
      const int64_t per = rows ? t.size() / static_cast<int64_t>(rows) : 0;
      const bool array = t.rank() > 2 || (t.rank() == 2 && t.dim(1) != 1);
      for (size_t r = 0; r < rows; ++r) {
        PredValue& pv = (*out)[r][o];
        pv.is_array = array;
        pv.items.resize(static_cast<size_t>(per));
        for (int64_t e = 0; e < per; ++e) {
          Cell& c = pv.items[static_cast<size_t>(e)];
          const int64_t idx = static_cast<int64_t>(r) * per + e;
          c.kind = Cell::Kind::kJsonLiteral;
          c.text.clear();
          switch (t.dtype()) {
            case DataType::kFloat:
              append_number(&c.text, t.data<float>()[idx]);
              break;
            case DataType::kDouble:
              append_number(&c.text, t.data<double>()[idx]);
              break;
            case DataType::kInt64:
              c.text = std::to_string(t.data<int64_t>()[idx]);
              break;
            case DataType::kInt32:
              c.text = std::to_string(t.data<int32_t>()[idx]);
              break;
            case DataType::kBool:
              c.text = t.data<bool>()[idx] ? "true" : "false";
              break;
            case DataType::kString:
              c.kind = Cell::Kind::kJsonString;
              c.text = t.data<std::string>()[idx];
              break;
            default: {
              const char* p = static_cast<const char*>(t.raw()) + idx * dtype_size(t.dtype());
              append_number(&c.text, load_value(t.dtype(), p));
            }
          }
        }
      }
    }
    return Status::ok();
  }

 private:
  TensorInfo input_;
  ModelOptions options_;
  std::vector<std::string> output_names_;
  std::vector<int64_t> row_shape_;
  int64_t row_elems_ = -1;
};

}  // namespace

Result<std::unique_ptr<RowPreparer>> make_positional_preparer(const Session& session,
                                                              const ModelOptions& options) {
  const auto& ins = session.inputs();
  if (ins.size() != 1)
    return invalid_argument(
        "a model without pipeline.json gets positional features in its single "
        "input, but '" +
        options.model + "' has " + std::to_string(ins.size()) +
        " inputs; give it a model directory with a pipeline.json");
  const TensorInfo& in = ins[0];
  if (in.has_shape && in.shape.empty())
    return invalid_argument("model input '" + in.name +
                            "' is a scalar; batch rows need a batch "
                            "dimension first");
  std::vector<const TensorInfo*> outs;
  for (const auto& o : session.outputs()) outs.push_back(&o);
  return std::unique_ptr<RowPreparer>(
      new PositionalPreparer(in, outs.data(), outs.size(), options));
}

}  // namespace nalar::batch
