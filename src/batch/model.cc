#include "batch/model.h"

#include <charconv>
#include <cstring>
#include <filesystem>

namespace nalar::batch {

namespace fs = std::filesystem;

void append_number(std::string* out, float v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}
void append_number(std::string* out, double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

std::string json_text(const json::Value& v) {
  json::Writer w;
  struct Rec {
    static void put(json::Writer& w, const json::Value& v) {
      switch (v.type) {
        case json::Type::kNull:
          w.null();
          break;
        case json::Type::kBool:
          w.boolean(v.boolean);
          break;
        case json::Type::kNumber:
          w.raw(v.str);
          break;
        case json::Type::kString:
          w.string(v.str);
          break;
        case json::Type::kRaw:
          w.raw(v.raw);
          break;
        case json::Type::kArray:
          w.begin_array();
          for (const auto& i : v.items) put(w, i);
          w.end_array();
          break;
        case json::Type::kObject:
          w.begin_object();
          for (size_t i = 0; i < v.keys.size(); ++i) {
            w.key(v.keys[i]);
            put(w, v.values[i]);
          }
          w.end_object();
          break;
      }
    }
  };
  Rec::put(w, v);
  return w.take();
}

void kept_from_json(const json::Value& object, const std::vector<std::string>& names, Cell* out) {
  for (size_t i = 0; i < names.size(); ++i) {
    const json::Value* v = object.find(names[i]);
    if (v == nullptr)
      out[i] = {Cell::Kind::kMissing, {}};
    else if (v->is_string())
      out[i] = {Cell::Kind::kJsonString, v->str};
    else
      out[i] = {Cell::Kind::kJsonLiteral, json_text(*v)};
  }
}

namespace {

// The model file of MODEL: the file itself, DIR/model.onnx, or DIR/<highest version>/model.onnx.
Result<std::string> resolve_model(const std::string& model, std::string* model_dir) {
  std::error_code ec;
  if (fs::is_regular_file(model, ec)) {
    model_dir->clear();
    return model;
  }
  if (!fs::is_directory(model, ec))
    return not_found("--model '" + model + "' is neither an .onnx file nor a model directory");
  *model_dir = model;
  if (fs::is_regular_file(fs::path(model) / "model.onnx", ec))
    return (fs::path(model) / "model.onnx").string();
  int64_t best = -1;
  for (const auto& e : fs::directory_iterator(model, ec)) {
    const std::string name = e.path().filename().string();
    int64_t v = 0;
    auto r = std::from_chars(name.data(), name.data() + name.size(), v);
    if (r.ec != std::errc() || r.ptr != name.data() + name.size() || v <= 0) continue;
    if (fs::is_regular_file(e.path() / "model.onnx", ec) && v > best) best = v;
  }
  if (best < 0)
    return not_found("model directory '" + model +
                     "' has no model.onnx and no <version>/model.onnx");
  return (fs::path(model) / std::to_string(best) / "model.onnx").string();
}

Tensor slice_row(const Tensor& t, int64_t row) {
  Shape s = t.shape();
  s[0] = 1;
  Tensor out = Tensor::empty(t.dtype(), s);
  const int64_t n = out.size();
  if (t.dtype() == DataType::kString) {
    for (int64_t i = 0; i < n; ++i) out.data<std::string>()[i] = t.data<std::string>()[row * n + i];
  } else {
    const size_t es = dtype_size(t.dtype());
    std::memcpy(out.raw(), static_cast<const char*>(t.raw()) + row * n * es, n * es);
  }
  return out;
}

// Stacks per-row tensors [1, ...] along dim 0; all must share dtype and row shape.
Result<Tensor> stack_rows(const std::vector<Tensor>& rows) {
  Shape s = rows[0].shape();
  if (s.empty()) return internal_error("a scalar output cannot be split into rows");
  s[0] = static_cast<int64_t>(rows.size());
  Tensor out = Tensor::empty(rows[0].dtype(), s);
  const int64_t n = rows[0].size();
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != n || rows[r].dtype() != rows[0].dtype())
      return internal_error("rows' outputs differ in shape: " + rows[0].describe() + " vs " +
                            rows[r].describe());
    if (out.dtype() == DataType::kString) {
      for (int64_t i = 0; i < n; ++i)
        out.data<std::string>()[static_cast<int64_t>(r) * n + i] = rows[r].data<std::string>()[i];
    } else {
      const size_t es = dtype_size(out.dtype());
      std::memcpy(static_cast<char*>(out.raw()) + r * n * es, rows[r].raw(), n * es);
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Model>> Model::load(const ModelOptions& options) {
  std::string model_dir;
  NALAR_ASSIGN_OR_RETURN(std::string path, resolve_model(options.model, &model_dir));
  auto m = std::unique_ptr<Model>(new Model());
  m->onnx_path_ = path;
  SessionOptions so;
  so.num_threads = options.threads;
  NALAR_ASSIGN_OR_RETURN(m->session_, Session::load(path, so));
  std::error_code ec;
  if (!model_dir.empty() && fs::exists(fs::path(model_dir) / "pipeline.json", ec)) {
    NALAR_ASSIGN_OR_RETURN(m->preparer_, make_pipeline_preparer(*m->session_, model_dir, options));
  } else {
    NALAR_ASSIGN_OR_RETURN(m->preparer_, make_positional_preparer(*m->session_, options));
  }
  return m;
}

void Model::forward(WorkBatch* batch) const {
  batch->outputs.clear();
  if (batch->ok_rows.empty()) return;
  auto out = session_->run(batch->inputs);
  if (out.is_ok()) {
    batch->outputs = std::move(out).value();
    return;
  }
  if (batch->ok_rows.size() == 1) {
    batch->state[batch->ok_rows[0]].error = "model: " + out.status().message();
    batch->ok_rows.clear();
    return;
  }
  // One row's values broke the whole batch: find it, keep the rest.
  std::vector<uint32_t> kept;
  std::vector<std::vector<Tensor>> per_output;
  std::vector<std::string> names;
  for (size_t i = 0; i < batch->ok_rows.size(); ++i) {
    NamedTensors one;
    for (const auto& [name, t] : batch->inputs)
      one.emplace_back(name, slice_row(t, static_cast<int64_t>(i)));
    auto r = session_->run(one);
    if (!r.is_ok()) {
      batch->state[batch->ok_rows[i]].error = "model: " + r.status().message();
      continue;
    }
    if (names.empty()) {
      for (const auto& [name, t] : *r) names.push_back(name);
      per_output.resize(names.size());
    }
    for (size_t o = 0; o < r->size(); ++o) per_output[o].push_back((*r)[o].second);
    kept.push_back(batch->ok_rows[i]);
  }
  batch->ok_rows = kept;
  for (size_t o = 0; o < names.size(); ++o) {
    auto t = stack_rows(per_output[o]);
    if (!t.is_ok()) {  // cannot happen for a model with a batch dimension; fail the rows loudly
      for (uint32_t k : kept) batch->state[k].error = "model: " + t.status().message();
      batch->ok_rows.clear();
      batch->outputs.clear();
      return;
    }
    batch->outputs.emplace_back(names[o], std::move(t).value());
  }
}

}  // namespace nalar::batch
