#include "serving/model.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <random>

namespace nalar::serving {

namespace {

std::string shape_with_batch(const ModelConfig& c,
                             const google::protobuf::RepeatedField<int64_t>& dims) {
  Shape s;
  if (c.max_batch_size() > 0) s.push_back(-1);
  for (int64_t d : dims) s.push_back(d);
  return shape_to_string(s);
}

double element_as_double(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::kFloat:
      return t.data<float>()[i];
    case DataType::kDouble:
      return t.data<double>()[i];
    case DataType::kFloat16:
      return static_cast<float>(t.data<Float16>()[i]);
    case DataType::kBFloat16:
      return static_cast<float>(t.data<BFloat16>()[i]);
    case DataType::kInt8:
      return t.data<int8_t>()[i];
    case DataType::kUint8:
      return t.data<uint8_t>()[i];
    case DataType::kInt16:
      return t.data<int16_t>()[i];
    case DataType::kUint16:
      return t.data<uint16_t>()[i];
    case DataType::kInt32:
      return t.data<int32_t>()[i];
    case DataType::kUint32:
      return t.data<uint32_t>()[i];
    case DataType::kInt64:
      return static_cast<double>(t.data<int64_t>()[i]);
    case DataType::kUint64:
      return static_cast<double>(t.data<uint64_t>()[i]);
    case DataType::kBool:
      return t.data<bool>()[i] ? 1 : 0;
    default:
      return 0;
  }
}

}  // namespace

Result<std::shared_ptr<ModelVersion>> ModelVersion::load(const std::string& model_path,
                                                         int64_t version, ModelConfig config,
                                                         bool generated,
                                                         std::vector<std::string> labels,
                                                         const SessionOptions& session_options,
                                                         std::vector<std::string>* warnings) {
  std::shared_ptr<ModelVersion> m(new ModelVersion());
  m->version_ = version;
  NALAR_ASSIGN_OR_RETURN(m->session_, Session::load(model_path, session_options));
  NALAR_RETURN_IF_ERROR(complete_model_config(*m->session_, generated, &config, warnings));
  m->config_ = std::move(config);
  NALAR_RETURN_IF_ERROR(
      m->load_pipeline(std::filesystem::path(model_path).parent_path().parent_path().string()));
  m->make_public_config();
  m->labels_ = std::move(labels);
  for (const auto& ci : m->config_.input())
    if (ci.has_reshape())
      m->reshapes_.inputs.emplace_back(
          ci.name(), std::vector<int64_t>(ci.reshape().shape().begin(), ci.reshape().shape().end()));
  for (const auto& co : m->config_.output())
    if (co.has_reshape())
      m->reshapes_.outputs.emplace_back(co.name(),
                                        std::vector<int64_t>(co.dims().begin(), co.dims().end()));
  m->stats_ = std::make_unique<ModelStats>();

  SchedulerOptions so;
  so.max_batch_size = m->config_.max_batch_size();
  so.dynamic_batching = m->config_.has_dynamic_batching();
  if (so.dynamic_batching) {
    const auto& db = m->config_.dynamic_batching();
    so.preferred_batch_sizes.assign(db.preferred_batch_size().begin(),
                                    db.preferred_batch_size().end());
    so.max_queue_delay_us = db.max_queue_delay_microseconds();
    auto policy = [](const inference::ModelQueuePolicy& p) {
      QueuePolicy q;
      q.max_queue_size = p.max_queue_size();
      q.default_timeout_us = p.default_timeout_microseconds();
      q.allow_timeout_override = p.allow_timeout_override();
      q.delay_on_timeout = p.timeout_action() == inference::ModelQueuePolicy::DELAY;
      return q;
    };
    so.default_policy = policy(db.default_queue_policy());
    for (const auto& [level, p] : db.priority_queue_policy())
      so.level_policies[static_cast<uint32_t>(level)] = policy(p);
    so.priority_levels = static_cast<uint32_t>(db.priority_levels());
    so.default_priority_level = static_cast<uint32_t>(db.default_priority_level());
  }
  NALAR_RETURN_IF_ERROR(m->warm_up(model_path));
  so.instances = 0;
  for (const auto& g : m->config_.instance_group()) so.instances += g.count();
  const ModelVersion* mv = m.get();  // outlives scheduler_, which is destroyed first
  m->scheduler_ = std::make_unique<Scheduler>(
      so, [mv](const NamedTensors& in) { return mv->run_model(in); }, m->stats_.get());
  return m;
}

ModelVersion::~ModelVersion() { scheduler_.reset(); }

Result<NamedTensors> ModelVersion::run_model(const NamedTensors& inputs) const {
  if (reshapes_.empty()) return session_->run(inputs);
  const bool batched = config_.max_batch_size() > 0;
  NALAR_ASSIGN_OR_RETURN(NamedTensors in, apply_reshapes(inputs, reshapes_.inputs, batched));
  NALAR_ASSIGN_OR_RETURN(NamedTensors out, session_->run(in));
  return apply_reshapes(out, reshapes_.outputs, batched);
}

// Triton's model_warmup: runs the listed samples before the model is READY; a failure fails the
// load. input_data_file names a raw little-endian file in <model>/warmup/.
Status ModelVersion::warm_up(const std::string& model_path) const {
  const std::filesystem::path warmup_dir =
      std::filesystem::path(model_path).parent_path().parent_path() / "warmup";
  std::mt19937 rng(42);
  for (const auto& w : config_.model_warmup()) {
    const std::string where = "model_warmup '" + w.name() + "'";
    NamedTensors inputs;
    for (const auto& [name, in] : w.inputs()) {
      DataType dt = dtype_from_config(in.data_type());
      if (dt == DataType::kUndefined)
        return invalid_argument(where + ": input '" + name + "' has no data_type");
      Shape shape;
      if (config_.max_batch_size() > 0) shape.push_back(std::max<int64_t>(1, w.batch_size()));
      for (int64_t d : in.dims()) {
        if (d < 0) return invalid_argument(where + ": input '" + name + "' dims must be fixed");
        shape.push_back(d);
      }
      Tensor t = Tensor::create(dt, shape);
      if (in.has_random_data() && in.random_data()) {
        if (dt == DataType::kString) {
          for (int64_t i = 0; i < t.size(); ++i)
            t.data<std::string>()[i] = std::to_string(rng() % 1000);
        } else if (dt == DataType::kFloat) {
          std::uniform_real_distribution<float> u(-1, 1);
          for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = u(rng);
        } else {
          // Small non-negative values are valid for every numeric type (and for indices).
          auto* b = static_cast<uint8_t*>(t.raw());
          const size_t es = dtype_size(dt);
          for (int64_t i = 0; i < t.size(); ++i)
            b[static_cast<size_t>(i) * es] = static_cast<uint8_t>(rng() % 2);
        }
      } else if (in.has_input_data_file()) {
        std::ifstream f(warmup_dir / in.input_data_file(), std::ios::binary);
        if (!f) return not_found(where + ": cannot read warmup/" + in.input_data_file());
        std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        if (dt == DataType::kString) {
          if (t.size() != 1)
            return invalid_argument(where + ": BYTES input_data_file needs one element");
          t.data<std::string>()[0] = bytes;
        } else {
          if (bytes.size() != t.nbytes())
            return invalid_argument(where + ": warmup/" + in.input_data_file() + " has " +
                                    std::to_string(bytes.size()) + " bytes, input '" + name + "' " +
                                    shape_to_string(shape) + " needs " +
                                    std::to_string(t.nbytes()));
          std::memcpy(t.raw(), bytes.data(), bytes.size());
        }
      }
      inputs.emplace_back(name, std::move(t));
    }
    for (uint32_t i = 0; i < std::max<uint32_t>(1, w.count()); ++i) {
      auto r = run_model(inputs);
      if (!r.is_ok()) return r.status().with_context(where);
    }
  }
  return Status::ok();
}

Result<int64_t> ModelVersion::validate_inputs(const NamedTensors& inputs) const {
  const ModelConfig& c = config_;
  const bool batched = c.max_batch_size() > 0;
  int64_t batch = -1;
  std::vector<bool> given(static_cast<size_t>(c.input_size()), false);
  for (const auto& [name, t] : inputs) {
    int idx = -1;
    for (int i = 0; i < c.input_size(); ++i)
      if (c.input(i).name() == name) idx = i;
    if (idx < 0)
      return invalid_argument("unexpected inference input '" + name + "' for model '" + c.name() +
                              "'");
    if (given[static_cast<size_t>(idx)])
      return invalid_argument("input '" + name + "' is given more than once");
    given[static_cast<size_t>(idx)] = true;
    const auto& ci = c.input(idx);
    DataType want = dtype_from_config(ci.data_type());
    if (t.dtype() != want)
      return invalid_argument("input '" + name + "' has datatype " + kserve_dtype_name(t.dtype()) +
                              " but the model expects " + kserve_dtype_name(want));
    const Shape& s = t.shape();
    const size_t rank = static_cast<size_t>(ci.dims_size()) + (batched ? 1 : 0);
    bool ok = s.size() == rank;
    for (size_t i = 0; ok && i < static_cast<size_t>(ci.dims_size()); ++i) {
      int64_t want_d = ci.dims(static_cast<int>(i));
      ok = want_d < 0 || s[i + (batched ? 1 : 0)] == want_d;
    }
    if (!ok)
      return invalid_argument("input '" + name + "' has shape " + shape_to_string(s) +
                              " but the model expects " + shape_with_batch(c, ci.dims()));
    if (batched) {
      if (s[0] < 1 || s[0] > c.max_batch_size())
        return invalid_argument("input '" + name + "' has batch size " + std::to_string(s[0]) +
                                ", outside [1, max_batch_size " +
                                std::to_string(c.max_batch_size()) + "]");
      if (batch >= 0 && s[0] != batch)
        return invalid_argument("inputs disagree on the batch size (" + std::to_string(batch) +
                                " vs " + std::to_string(s[0]) + ")");
      batch = s[0];
    }
  }
  for (int i = 0; i < c.input_size(); ++i)
    if (!given[static_cast<size_t>(i)] && !c.input(i).optional())
      return invalid_argument("missing inference input '" + c.input(i).name() + "' for model '" +
                              c.name() + "'");
  return batched ? batch : int64_t{1};
}

void ModelVersion::infer(InferRequest request, InferCallback done) {
  const auto prepare_start = std::chrono::steady_clock::now();
  if (Status st = convert_pipeline_inputs(&request.inputs); !st.is_ok()) {
    stats_->fail.add(0);
    return done(st);
  }
  const uint64_t prepare_ns =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - prepare_start)
                                .count());
  auto batch = validate_inputs(request.inputs);
  if (!batch.is_ok()) {
    stats_->fail.add(0);
    return done(batch.status());
  }
  for (const auto& ro : request.outputs) {
    bool known = false;
    for (const auto& co : public_config_.output()) known = known || co.name() == ro.name;
    if (!known) {
      stats_->fail.add(0);
      return done(invalid_argument("unexpected inference output '" + ro.name + "' for model '" +
                                   config_.name() + "'"));
    }
    if (ro.classification < 0) return done(invalid_argument("classification must be >= 0"));
  }
  // Config order, so that requests naming inputs in different orders still batch together.
  NamedTensors inputs = std::move(request.inputs);
  std::stable_sort(inputs.begin(), inputs.end(), [this](const auto& a, const auto& b) {
    auto pos = [this](const std::string& n) {
      for (int i = 0; i < config_.input_size(); ++i)
        if (config_.input(i).name() == n) return i;
      return config_.input_size();
    };
    return pos(a.first) < pos(b.first);
  });
  request.inputs.clear();
  const uint32_t priority = request.priority;
  const uint64_t timeout = request.timeout_us;
  scheduler_->enqueue(
      std::move(inputs), priority, timeout,
      [this, request = std::move(request),
       done = std::move(done)](Result<NamedTensors> outputs) mutable {
        if (!outputs.is_ok()) return done(outputs.status());
        done(finish(request, std::move(outputs).value()));
      },
      prepare_ns);
}

Result<InferResponse> ModelVersion::finish(const InferRequest& request,
                                           NamedTensors outputs) const {
  InferResponse r;
  r.model_name = config_.name();
  r.model_version = version_;
  r.id = request.id;
  NamedTensors extra;  // pipeline outputs (label, probability, index, decision)
  if (pipeline_ && pipeline_->has_output_stage()) {
    NALAR_ASSIGN_OR_RETURN(extra, pipeline_outputs(request, outputs));
  }
  if (request.outputs.empty()) {
    for (auto& [name, t] : outputs) {
      // Only outputs the config exposes (all of them unless the config narrowed the list);
      // a pipeline output of the same name takes the place of a model output.
      bool exposed = false;
      for (const auto& co : config_.output()) exposed = exposed || co.name() == name;
      if (!exposed || is_pipeline_output(name)) continue;
      r.outputs.emplace_back(name, std::move(t));
      r.binary.push_back(request.binary_data_output);
    }
    for (auto& [name, t] : extra) {
      r.outputs.emplace_back(name, std::move(t));
      r.binary.push_back(request.binary_data_output);
    }
    return r;
  }
  for (const auto& ro : request.outputs) {
    const Tensor* t = nullptr;
    for (const auto& [name, tensor] : is_pipeline_output(ro.name) ? extra : outputs)
      if (name == ro.name) t = &tensor;
    if (!t) return internal_error("the model did not produce output '" + ro.name + "'");
    if (ro.classification > 0 && !is_pipeline_output(ro.name)) {
      NALAR_ASSIGN_OR_RETURN(
          Tensor c, classify(*t, ro.classification, config_.max_batch_size() > 0, labels_));
      r.outputs.emplace_back(ro.name, std::move(c));
    } else {
      r.outputs.emplace_back(ro.name, *t);
    }
    r.binary.push_back(ro.binary);
  }
  return r;
}

Result<Tensor> classify(const Tensor& scores, int k, bool batched,
                        const std::vector<std::string>& labels) {
  if (scores.dtype() == DataType::kString || dtype_size(scores.dtype()) == 0 ||
      scores.dtype() == DataType::kComplex64 || scores.dtype() == DataType::kComplex128)
    return invalid_argument("classification needs a numeric output, got " + scores.describe());
  int64_t rows = 1;
  if (batched) {
    if (scores.rank() == 0) return invalid_argument("classification of a scalar batch output");
    rows = scores.dim(0);
  }
  const int64_t n = rows == 0 ? 0 : scores.size() / rows;
  const int64_t kk = std::min<int64_t>(k, n);
  Tensor out = Tensor::create(DataType::kString, batched ? Shape{rows, kk} : Shape{kk});
  std::string* dst = out.data<std::string>();
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::vector<double> val(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < n; ++i)
      val[static_cast<size_t>(i)] = element_as_double(scores, r * n + i);
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + kk, idx.end(), [&](int64_t a, int64_t b) {
      double va = val[static_cast<size_t>(a)], vb = val[static_cast<size_t>(b)];
      return va > vb || (va == vb && a < b);
    });
    for (int64_t j = 0; j < kk; ++j) {
      const int64_t i = idx[static_cast<size_t>(j)];
      char buf[40];
      auto res =
          std::to_chars(buf, buf + sizeof buf, static_cast<float>(val[static_cast<size_t>(i)]));
      std::string s(buf, res.ptr);
      s += ":" + std::to_string(i);
      if (static_cast<size_t>(i) < labels.size()) s += ":" + labels[static_cast<size_t>(i)];
      dst[r * kk + j] = std::move(s);
    }
  }
  return out;
}

}  // namespace nalar::serving
