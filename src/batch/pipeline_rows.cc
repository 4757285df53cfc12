// Rows through a model's pipeline (pipeline.json): CSV rows and JSON objects as named records,
// image files, texts. The pipeline prepares a whole batch at once; when one example in it is bad,
// the examples are prepared one by one so that only the bad ones fail, each with its reason.
#include <charconv>
#include <cstring>

#include "batch/model.h"
#include "batch/row_parse.h"
#include "pipeline/pipeline.h"

namespace nalar::batch {

namespace {

using pipeline::Example;
using pipeline::FieldValue;
using pipeline::InputKind;
using pipeline::Pipeline;
using pipeline::Record;

// "example 3: column 'amount': ..." -> "column 'amount': ..." (the row is named elsewhere).
std::string strip_example_prefix(const std::string& m) {
  if (m.rfind("example ", 0) != 0) return m;
  size_t colon = m.find(": ");
  return colon == std::string::npos ? m : m.substr(colon + 2);
}

FieldValue field_from_json(const json::Value& v) {
  switch (v.type) {
    case json::Type::kNull:
      return FieldValue::missing();
    case json::Type::kNumber: {
      double d = 0;
      json::number_to_double(v.str, &d);
      return FieldValue::of_number(d);
    }
    case json::Type::kString:
      return FieldValue::of_string(v.str);
    case json::Type::kBool:
      return FieldValue::of_bool(v.boolean);
    default:
      return FieldValue::of_string(std::string("<JSON ") + json::type_name(v.type) + ">");
  }
}

class PipelinePreparer : public RowPreparer {
 public:
  PipelinePreparer(std::unique_ptr<Pipeline> p, const ModelOptions& options)
      : pipeline_(std::move(p)), options_(options) {
    const auto& out = pipeline_->config().output;
    if (out.has_value()) {
      names_ = {"label", "probability"};
      if (out->threshold.has_value()) names_.push_back("decision");
    } else {
      names_ = {"values"};
    }
  }

  bool named_columns() const override { return true; }
  std::vector<std::string> prediction_names() const override { return names_; }

  Status prepare(WorkBatch* b) const override {
    const size_t n = b->rows.size();
    b->reset_prepared(options_.keep_columns.size());
    if (n == 0) return Status::ok();
    const InputKind kind = pipeline_->input_kind();
    if (kind == InputKind::kTensor)
      return invalid_argument("'" + options_.model +
                              "/pipeline.json' declares no input stage; "
                              "batch rows need a tabular, image or text stage (or use the .onnx "
                              "file for positional features)");
    if ((kind == InputKind::kImage) != (options_.format == InputFormat::kImages))
      return invalid_argument(std::string("the model's pipeline takes ") +
                              (kind == InputKind::kImage ? "images" : "records or texts") +
                              ", the input is " + format_name(options_.format));
    if (options_.format == InputFormat::kNpy)
      return invalid_argument(
          "a model with a pipeline takes records, texts or images, not .npy "
          "arrays; give the .onnx file for positional rows");
    // Records are reused from batch to batch on this thread: a CSV row then costs no
    // allocation for its names (the header's) nor, mostly, for its cells.
    thread_local std::vector<Record> records;
    thread_local std::vector<const SourceInfo*> names_from;
    if (records.size() < n) {
      records.resize(n);
      names_from.resize(n, nullptr);
    }
    std::vector<std::string> texts(n);
    std::vector<Example> examples;
    std::vector<uint32_t> candidates;
    examples.reserve(n);
    std::vector<std::string_view> fields;
    std::string scratch;
    const SourceInfo& info = *b->info;
    for (size_t i = 0; i < n; ++i) {
      const RawRow& r = b->rows[i];
      const std::string_view text = b->text(r);
      RowState& st = b->state[i];
      Example ex;
      if (kind == InputKind::kImage) {
        if (text.empty()) {
          st.error = "cannot read the image file (or it is empty)";
          continue;
        }
        ex.bytes = text;
      } else if (options_.format == InputFormat::kCsv) {
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
        Cell* kept = b->kept_row(i);
        for (size_t k = 0; k < info.kept_index.size(); ++k)
          if (info.kept_index[k] >= 0) {
            kept[k].kind = Cell::Kind::kText;
            kept[k].text.assign(fields[static_cast<size_t>(info.kept_index[k])]);
          }
        if (kind == InputKind::kText) {
          int col = text_column(info);
          if (col < 0) return invalid_argument("'" + info.path + "' has no column named 'text'");
          texts[i].assign(fields[static_cast<size_t>(col)]);
          ex.bytes = texts[i];
        } else {
          Record& rec = records[i];
          if (names_from[i] != &info) {
            rec.names = info.header;
            names_from[i] = &info;
          }
          rec.values.resize(fields.size());
          for (size_t f = 0; f < fields.size(); ++f) {
            FieldValue& v = rec.values[f];
            v.kind = FieldValue::Kind::kString;
            v.text.assign(fields[f]);
          }
          ex.record = &rec;
        }
      } else {  // JSON Lines
        auto v = parse_json_row(text);
        if (!v.is_ok()) {
          // A text model also takes a line that is a bare JSON string.
          st.error = v.status().message();
          if (kind == InputKind::kText) {
            auto s = json::parse(text);
            if (s.is_ok() && s->is_string()) {
              st.error.clear();
              texts[i] = s->str;
              ex.bytes = texts[i];
            }
          }
          if (!st.error.empty()) continue;
        } else if (!v->is_object()) {
          st.error = "expected a JSON object with named fields, got an array";
          continue;
        } else {
          kept_from_json(*v, options_.keep_columns, b->kept_row(i));
          if (kind == InputKind::kText) {
            const json::Value* t = v->find("text");
            if (!t || !t->is_string()) {
              st.error = "missing column 'text' (a string)";
              continue;
            }
            texts[i] = t->str;
            ex.bytes = texts[i];
          } else {
            Record& rec = records[i];
            rec.names = v->keys;
            names_from[i] = nullptr;
            rec.values.clear();
            for (const auto& x : v->values) rec.values.push_back(field_from_json(x));
            ex.record = &rec;
          }
        }
      }
      examples.push_back(ex);
      candidates.push_back(static_cast<uint32_t>(i));
    }
    if (examples.empty()) return Status::ok();
    auto all = pipeline_->prepare(examples);
    if (all.is_ok()) {
      b->ok_rows = candidates;
      b->inputs = std::move(all).value();
      return Status::ok();
    }
    // Find the bad examples one by one; the good ones are prepared again together so that the
    // model still sees one batch.
    std::vector<Example> good;
    std::vector<uint32_t> good_rows;
    for (size_t e = 0; e < examples.size(); ++e) {
      auto one = pipeline_->prepare(std::span<const Example>(&examples[e], 1));
      if (one.is_ok()) {
        good.push_back(examples[e]);
        good_rows.push_back(candidates[e]);
      } else {
        RowState& st = b->state[candidates[e]];
        st.error = strip_example_prefix(one.status().message());
      }
    }
    if (good.empty()) return Status::ok();
    auto again = pipeline_->prepare(good);
    if (!again.is_ok()) return again.status();  // each alone was fine: a pipeline defect
    b->ok_rows = good_rows;
    b->inputs = std::move(again).value();
    return Status::ok();
  }

  Status predictions(const WorkBatch& b, PredRows* out) const override {
    const size_t rows = b.ok_rows.size();
    NALAR_ASSIGN_OR_RETURN(auto preds, pipeline_->interpret(b.outputs, rows));
    out->resize(rows);
    const bool classify = pipeline_->config().output.has_value();
    for (size_t r = 0; r < rows; ++r) {
      const pipeline::Prediction& p = preds[r];
      auto& row = (*out)[r];
      if (classify) {
        row.resize(names_.size());
        for (auto& v : row) v.items.resize(1);
        Cell* label = &row[0].items[0];
        Cell* prob = &row[1].items[0];
        if (!p.top.empty()) {
          set_cell(label, Cell::Kind::kJsonString, p.top[0].label);
          set_cell(prob, Cell::Kind::kJsonLiteral, "");
          append_number(&prob->text, p.top[0].score);
        } else {  // a regression model with an output stage: its first value
          set_cell(label, Cell::Kind::kMissing, "");
          set_cell(prob, Cell::Kind::kJsonLiteral, "");
          append_number(&prob->text, p.values.empty() ? 0.0f : p.values[0]);
        }
        if (names_.size() == 3)
          set_cell(&row[2].items[0],
                   p.decision.has_value() ? Cell::Kind::kJsonLiteral : Cell::Kind::kMissing,
                   p.decision.has_value() ? (*p.decision ? "true" : "false") : "");
      } else {
        row.resize(1);
        PredValue& v = row[0];
        v.is_array = true;
        v.items.resize(p.values.size());
        for (size_t k = 0; k < p.values.size(); ++k) {
          set_cell(&v.items[k], Cell::Kind::kJsonLiteral, "");
          append_number(&v.items[k].text, p.values[k]);
        }
      }
    }
    return Status::ok();
  }

 private:
  static int text_column(const SourceInfo& info) {
    for (size_t i = 0; i < info.header.size(); ++i)
      if (info.header[i] == "text") return static_cast<int>(i);
    return -1;
  }

  std::unique_ptr<Pipeline> pipeline_;
  ModelOptions options_;
  std::vector<std::string> names_;
};

}  // namespace

Result<std::unique_ptr<RowPreparer>> make_pipeline_preparer(const Session& session,
                                                            const std::string& model_dir,
                                                            const ModelOptions& options) {
  NALAR_ASSIGN_OR_RETURN(auto p, Pipeline::load(model_dir, session));
  return std::unique_ptr<RowPreparer>(new PipelinePreparer(std::move(p), options));
}

}  // namespace nalar::batch
