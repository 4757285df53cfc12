// The pipeline's side of a served model (<model dir>/pipeline.json): clients send raw examples
// (encoded images or texts as BYTES, tabular records as one tensor per column) and may ask for
// label / probability / index / decision outputs. Everything goes through ModelVersion::infer,
// so every front-end (REST, gRPC) gets it by filling an InferRequest.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "serving/model.h"

namespace nalar::serving {

namespace {

using pipeline::InputKind;

constexpr const char* kLabel = "label";
constexpr const char* kProbability = "probability";
constexpr const char* kIndex = "index";
constexpr const char* kDecision = "decision";

// Texts may also come under this name.
constexpr const char* kTextInput = "text";

// "example 3: ..." from a chunk that starts at `offset` names the example of the whole request.
Status renumber_example(const Status& st, size_t offset) {
  if (offset == 0 || st.is_ok()) return st;
  const std::string& m = st.message();
  if (m.rfind("example ", 0) != 0) return st;
  size_t end = 8;
  while (end < m.size() && m[end] >= '0' && m[end] <= '9') ++end;
  if (end == 8 || end >= m.size() || m[end] != ':') return st;
  const size_t i = std::stoul(m.substr(8, end - 8));
  return Status(st.code(), "example " + std::to_string(i + offset) + m.substr(end));
}

// Threads that may decode the images of one request: a batched request on an idle server
// should not leave cores unused while one thread decodes image after image.
int prepare_threads() {
  static const int n = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  return n;
}

// The rows of a [N] or [N,1] tensor, or -1 when it is neither.
int64_t column_rows(const Tensor& t) {
  if (t.rank() == 1) return t.dim(0);
  if (t.rank() == 2 && t.dim(1) == 1) return t.dim(0);
  return -1;
}

Result<pipeline::FieldValue> field_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::kFloat:
      return pipeline::FieldValue::of_number(t.data<float>()[i]);
    case DataType::kDouble:
      return pipeline::FieldValue::of_number(t.data<double>()[i]);
    case DataType::kInt64:
      return pipeline::FieldValue::of_number(static_cast<double>(t.data<int64_t>()[i]));
    case DataType::kInt32:
      return pipeline::FieldValue::of_number(t.data<int32_t>()[i]);
    case DataType::kBool:
      return pipeline::FieldValue::of_bool(t.data<bool>()[i]);
    case DataType::kString:
      return pipeline::FieldValue::of_string(t.data<std::string>()[i]);
    default:
      return invalid_argument(std::string("has datatype ") + kserve_dtype_name(t.dtype()) +
                              "; a column is FP32, FP64, INT64, INT32, BOOL or BYTES");
  }
}

}  // namespace

Status ModelVersion::load_pipeline(const std::string& model_dir) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(model_dir) / "pipeline.json", ec))
    return Status::ok();
  NALAR_ASSIGN_OR_RETURN(pipeline_, pipeline::Pipeline::load(model_dir, *session_));
  return Status::ok();
}

bool ModelVersion::is_pipeline_output(const std::string& name) const {
  if (!pipeline_ || !pipeline_->has_output_stage()) return false;
  const pipeline::OutputConfig& oc = *pipeline_->config().output;
  if (name == kDecision) return oc.threshold.has_value();
  return !oc.regression && (name == kLabel || name == kProbability || name == kIndex);
}

void ModelVersion::make_public_config() {
  public_config_ = config_;
  if (!pipeline_) return;
  const pipeline::PipelineConfig& pc = pipeline_->config();
  auto add_input = [this](const std::string& name, inference::DataType dt, bool optional) {
    auto* in = public_config_.add_input();
    in->set_name(name);
    in->set_data_type(dt);
    in->add_dims(1);
    in->set_optional(optional);
  };
  switch (pc.kind) {
    case InputKind::kTensor:
      break;
    case InputKind::kImage:
      public_config_.clear_input();
      add_input(pc.image.input, inference::TYPE_STRING, false);
      break;
    case InputKind::kText:
      public_config_.clear_input();
      add_input(pc.text.input_ids, inference::TYPE_STRING, false);
      break;
    case InputKind::kTabular:
      public_config_.clear_input();
      for (const pipeline::ColumnConfig& c : pc.tabular.columns)
        add_input(c.name,
                  c.type == pipeline::ColumnType::kNumber ? inference::TYPE_FP32
                  : c.type == pipeline::ColumnType::kBool ? inference::TYPE_BOOL
                                                          : inference::TYPE_STRING,
                  c.missing_default.has_value());
      break;
  }
  if (!pipeline_->has_output_stage()) return;
  // Pipeline outputs replace model outputs of the same name.
  auto* outs = public_config_.mutable_output();
  outs->erase(std::remove_if(outs->begin(), outs->end(),
                             [this](const auto& o) { return is_pipeline_output(o.name()); }),
              outs->end());
  const bool batched = config_.max_batch_size() > 0;
  const int k = pc.output->top_k;
  auto add_output = [&](const char* name, inference::DataType dt, bool per_class) {
    if (!is_pipeline_output(name)) return;
    auto* o = public_config_.add_output();
    o->set_name(name);
    o->set_data_type(dt);
    if (!batched) o->add_dims(-1);
    if (per_class) o->add_dims(k);
  };
  add_output(kLabel, inference::TYPE_STRING, true);
  add_output(kProbability, inference::TYPE_FP32, true);
  add_output(kIndex, inference::TYPE_INT64, true);
  add_output(kDecision, inference::TYPE_BOOL, false);
}

Status ModelVersion::convert_pipeline_inputs(NamedTensors* inputs) const {
  if (!pipeline_ || pipeline_->input_kind() == InputKind::kTensor || inputs->empty())
    return Status::ok();
  // Tensors for the model itself pass unchanged.
  bool model_tensors = true;
  for (const auto& [name, t] : *inputs) {
    bool match = false;
    for (const auto& ci : config_.input())
      match = match || (ci.name() == name && dtype_from_config(ci.data_type()) == t.dtype());
    model_tensors = model_tensors && match;
  }
  if (model_tensors) return Status::ok();

  const pipeline::PipelineConfig& pc = pipeline_->config();
  const std::string model = "model '" + config_.name() + "'";
  std::vector<pipeline::Example> examples;
  std::vector<pipeline::Record> records;
  if (pc.kind == InputKind::kImage || pc.kind == InputKind::kText) {
    const bool image = pc.kind == InputKind::kImage;
    const std::string& want = image ? pc.image.input : pc.text.input_ids;
    const std::string what = image ? "an encoded JPEG or PNG image" : "a UTF-8 text";
    const auto& [name, t] = (*inputs)[0];
    if (inputs->size() != 1 || (name != want && !(!image && name == kTextInput)))
      return invalid_argument(model + " takes one BYTES input '" + want + "' (" + what +
                              " per element); got input '" + name + "'" +
                              (inputs->size() > 1 ? " and more" : ""));
    if (t.dtype() != DataType::kString)
      return invalid_argument("input '" + name + "' has datatype " + kserve_dtype_name(t.dtype()) +
                              "; " + model + " takes BYTES (" + what + " per element)");
    if (column_rows(t) < 1)
      return invalid_argument("input '" + name + "' has shape " + shape_to_string(t.shape()) +
                              "; expected [N] or [N,1] with N >= 1");
    examples.resize(static_cast<size_t>(t.size()));
    for (int64_t i = 0; i < t.size(); ++i)
      examples[static_cast<size_t>(i)].bytes = t.data<std::string>()[i];
  } else {
    int64_t rows = -1;
    for (const auto& [name, t] : *inputs) {
      bool known = false;
      for (const auto& c : pc.tabular.columns) known = known || c.name == name;
      if (!known) {
        std::string cols;
        for (const auto& c : pc.tabular.columns) cols += (cols.empty() ? "" : ", ") + c.name;
        return invalid_argument("unexpected input '" + name + "' for " + model +
                                "; its inputs are the columns " + cols);
      }
      const int64_t n = column_rows(t);
      if (n < 1)
        return invalid_argument("input '" + name + "' has shape " + shape_to_string(t.shape()) +
                                "; a column is [N] or [N,1] with N >= 1");
      if (rows >= 0 && n != rows)
        return invalid_argument("columns disagree on the number of rows (" + std::to_string(rows) +
                                " vs " + std::to_string(n) + " in '" + name + "')");
      rows = n;
    }
    records.resize(static_cast<size_t>(rows));
    for (const auto& [name, t] : *inputs) {
      for (int64_t i = 0; i < rows; ++i) {
        auto f = field_at(t, i);
        if (!f.is_ok()) return f.status().with_context("input '" + name + "'");
        records[static_cast<size_t>(i)].names.push_back(name);
        records[static_cast<size_t>(i)].values.push_back(std::move(f).value());
      }
    }
    examples.resize(records.size());
    for (size_t i = 0; i < records.size(); ++i) examples[i].record = &records[i];
  }
  const int64_t max_batch = config_.max_batch_size();
  if (max_batch > 0 && static_cast<int64_t>(examples.size()) > max_batch)
    return invalid_argument(std::to_string(examples.size()) +
                            " examples in one request, more than the max_batch_size " +
                            std::to_string(max_batch) + " of " + model +
                            " (/classify splits larger batches)");
  NALAR_ASSIGN_OR_RETURN(NamedTensors prepared, pipeline_->prepare(examples, prepare_threads()));
  *inputs = std::move(prepared);
  return Status::ok();
}

Result<NamedTensors> ModelVersion::pipeline_outputs(const InferRequest& request,
                                                    const NamedTensors& outputs) const {
  std::vector<std::string> wanted;
  int k = 0;
  if (request.outputs.empty()) {
    for (const char* n : {kLabel, kProbability, kIndex, kDecision})
      if (is_pipeline_output(n)) wanted.emplace_back(n);
  } else {
    for (const auto& ro : request.outputs)
      if (is_pipeline_output(ro.name)) {
        wanted.push_back(ro.name);
        k = std::max(k, ro.classification);
      }
  }
  NamedTensors out;
  if (wanted.empty()) return out;
  const pipeline::OutputConfig& oc = *pipeline_->config().output;
  int64_t rows = 1;
  for (const auto& [name, t] : outputs)
    if (name == oc.output) rows = t.rank() > 0 ? t.dim(0) : 1;
  NALAR_ASSIGN_OR_RETURN(std::vector<pipeline::Prediction> preds,
                         pipeline_->interpret(outputs, static_cast<size_t>(rows), k));
  const int64_t kk = preds.empty() ? 0 : static_cast<int64_t>(preds[0].top.size());
  for (const std::string& name : wanted) {
    Tensor t;
    if (name == kDecision) {
      t = Tensor::create(DataType::kBool, {rows});
      for (int64_t r = 0; r < rows; ++r)
        t.data<bool>()[r] = preds[static_cast<size_t>(r)].decision.value_or(false);
    } else if (name == kLabel) {
      t = Tensor::create(DataType::kString, {rows, kk});
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < kk; ++j)
          t.data<std::string>()[r * kk + j] =
              preds[static_cast<size_t>(r)].top[static_cast<size_t>(j)].label;
    } else if (name == kProbability) {
      t = Tensor::create(DataType::kFloat, {rows, kk});
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < kk; ++j)
          t.data<float>()[r * kk + j] =
              preds[static_cast<size_t>(r)].top[static_cast<size_t>(j)].score;
    } else {
      t = Tensor::create(DataType::kInt64, {rows, kk});
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < kk; ++j)
          t.data<int64_t>()[r * kk + j] =
              preds[static_cast<size_t>(r)].top[static_cast<size_t>(j)].index;
    }
    out.emplace_back(name, std::move(t));
  }
  return out;
}

void ModelVersion::predict(std::vector<std::string> payloads, std::vector<pipeline::Record> records,
                           int top_k, PredictCallback done) {
  if (!pipeline_ || pipeline_->input_kind() == InputKind::kTensor)
    return done(invalid_argument("model '" + config_.name() +
                                 "' has no pipeline input stage (pipeline.json \"input\")"));
  const bool tabular = pipeline_->input_kind() == InputKind::kTabular;
  const size_t n = tabular ? records.size() : payloads.size();
  if (n == 0) return done(invalid_argument("no instances to predict"));

  // Batches above max_batch_size go to the scheduler in chunks; the last one to finish answers.
  struct State {
    std::mutex mu;
    std::vector<std::string> payloads;
    std::vector<pipeline::Record> records;
    std::vector<pipeline::Prediction> predictions;
    Status error;
    size_t pending = 1;  // one for the loop below
    PredictCallback done;
  };
  auto state = std::make_shared<State>();
  state->payloads = std::move(payloads);
  state->records = std::move(records);
  state->predictions.resize(n);
  state->done = std::move(done);
  auto finish_one = [state](Status st) {
    std::unique_lock<std::mutex> lock(state->mu);
    if (!st.is_ok() && state->error.is_ok()) state->error = st;
    if (--state->pending > 0) return;
    lock.unlock();
    if (!state->error.is_ok()) return state->done(state->error);
    state->done(std::move(state->predictions));
  };
  const size_t chunk =
      config_.max_batch_size() > 0 ? static_cast<size_t>(config_.max_batch_size()) : 1;
  for (size_t begin = 0; begin < n; begin += chunk) {
    const size_t end = std::min(n, begin + chunk);
    std::vector<pipeline::Example> examples(end - begin);
    for (size_t i = begin; i < end; ++i) {
      if (tabular)
        examples[i - begin].record = &state->records[i];
      else
        examples[i - begin].bytes = state->payloads[i];
    }
    const auto prepare_start = std::chrono::steady_clock::now();
    auto prepared = pipeline_->prepare(examples, prepare_threads());
    const uint64_t prepare_ns =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - prepare_start)
                                  .count());
    if (!prepared.is_ok()) {
      stats_->fail.add(0);
      finish_one(renumber_example(prepared.status(), begin));
      return;
    }
    auto batch = validate_inputs(*prepared);
    if (!batch.is_ok()) {
      stats_->fail.add(0);
      finish_one(batch.status());
      return;
    }
    {
      std::lock_guard<std::mutex> lock(state->mu);
      ++state->pending;
    }
    scheduler_->enqueue(
        std::move(prepared).value(), 0, 0,
        [this, state, begin, end, top_k, finish_one](Result<NamedTensors> outputs) {
          if (!outputs.is_ok()) return finish_one(outputs.status());
          auto preds = pipeline_->interpret(*outputs, end - begin, top_k);
          if (!preds.is_ok()) return finish_one(preds.status());
          for (size_t i = begin; i < end; ++i)
            state->predictions[i] = std::move((*preds)[i - begin]);
          finish_one(Status::ok());
        },
        prepare_ns);
  }
  finish_one(Status::ok());
}

}  // namespace nalar::serving
