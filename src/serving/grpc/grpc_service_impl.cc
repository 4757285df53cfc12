#include "serving/grpc/grpc_service_impl.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "serving/grpc/grpc_codec.h"
#include "serving/grpc/grpc_stream.h"
#include "serving/http/kserve_http.h"  // kServerName, kServerVersion
#include "serving/log.h"

namespace nalar::serving::kserve_grpc {

namespace {

::grpc::ServerUnaryReactor* finish(::grpc::CallbackServerContext* ctx, const Status& st) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(to_grpc_status(st));
  return reactor;
}

::grpc::ServerUnaryReactor* finish_ok(::grpc::CallbackServerContext* ctx) {
  return finish(ctx, Status::ok());
}

void fill_tensor_meta(inference::ModelMetadataResponse::TensorMetadata* t, const std::string& name,
                      inference::DataType dt, int max_batch_size,
                      const google::protobuf::RepeatedField<int64_t>& dims) {
  t->set_name(name);
  t->set_datatype(kserve_dtype_name(dtype_from_config(dt)));
  if (max_batch_size > 0) t->add_shape(-1);
  for (int64_t d : dims) t->add_shape(d);
}

void fill_duration(inference::StatisticDuration* out, const ModelStats::Duration& d) {
  out->set_count(d.count.load());
  out->set_ns(d.ns.load());
}

void fill_stats(const ModelVersion& m, inference::ModelStatistics* out) {
  ModelStats& s = m.stats();
  out->set_name(m.name());
  out->set_version(std::to_string(m.version()));
  out->set_last_inference(s.last_inference_ms.load());
  out->set_inference_count(s.inference_count.load());
  out->set_execution_count(s.execution_count.load());
  auto* is = out->mutable_inference_stats();
  fill_duration(is->mutable_success(), s.success);
  fill_duration(is->mutable_fail(), s.fail);
  fill_duration(is->mutable_queue(), s.queue);
  fill_duration(is->mutable_compute_input(), s.compute_input);
  fill_duration(is->mutable_compute_infer(), s.compute_infer);
  fill_duration(is->mutable_compute_output(), s.compute_output);
  is->mutable_cache_hit();  // no response cache: present and zero, like the REST answer
  is->mutable_cache_miss();
  std::lock_guard<std::mutex> lock(s.batch_mu);
  for (const auto& [size, b] : s.batch) {
    auto* bs = out->add_batch_stats();
    bs->set_batch_size(static_cast<uint64_t>(size));
    bs->mutable_compute_input()->set_count(b.count);
    bs->mutable_compute_input()->set_ns(b.compute_input_ns);
    bs->mutable_compute_infer()->set_count(b.count);
    bs->mutable_compute_infer()->set_ns(b.compute_infer_ns);
    bs->mutable_compute_output()->set_count(b.count);
    bs->mutable_compute_output()->set_ns(b.compute_output_ns);
  }
}

bool known_model(const ModelRepository& repo, const std::string& name) {
  for (const auto& e : repo.index(false))
    if (e.name == name) return true;
  return false;
}

}  // namespace

::grpc::Status to_grpc_status(const Status& st) {
  using ::grpc::StatusCode;
  switch (st.code()) {
    case nalar::StatusCode::kOk:
      return ::grpc::Status::OK;
    case nalar::StatusCode::kInvalidArgument:
      return {StatusCode::INVALID_ARGUMENT, st.message()};
    case nalar::StatusCode::kNotFound:
      return {StatusCode::NOT_FOUND, st.message()};
    case nalar::StatusCode::kUnimplemented:
      return {StatusCode::UNIMPLEMENTED, st.message()};
    case nalar::StatusCode::kResourceExhausted:
    case nalar::StatusCode::kUnavailable:
      return {StatusCode::UNAVAILABLE, st.message()};
    case nalar::StatusCode::kInternal:
      return {StatusCode::INTERNAL, st.message()};
  }
  return {StatusCode::INTERNAL, st.message()};
}

SerialWorker::SerialWorker()
    : thread_([this] {
        std::unique_lock<std::mutex> lock(mu_);
        while (true) {
          cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
          if (jobs_.empty()) return;  // stopping, nothing left
          auto job = std::move(jobs_.front());
          jobs_.pop_front();
          lock.unlock();
          job();
          lock.lock();
        }
      }) {}

SerialWorker::~SerialWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void SerialWorker::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void InferenceServiceImpl::start_infer(const inference::ModelInferRequest& request,
                                       InferCallback done, uint64_t deadline_us) {
  auto version = parse_model_version(request.model_version());
  if (!version.is_ok()) return done(version.status());
  auto model = repo_->get(request.model_name(), *version);
  if (!model.is_ok()) return done(model.status());
  auto decoded = decode_infer_request(request);
  if (!decoded.is_ok()) return done(decoded.status());
  InferRequest ir = std::move(decoded).value();
  ir.model_name = request.model_name();
  ir.model_version = *version;
  if (deadline_us > 0 && (ir.timeout_us == 0 || deadline_us < ir.timeout_us))
    ir.timeout_us = deadline_us;
  (*model)->infer(std::move(ir), std::move(done));
}

bool InferenceServiceImpl::add_stream(StreamInferReactor* stream) {
  std::lock_guard<std::mutex> lock(streams_mu_);
  if (draining_) return stream->drain();
  streams_.insert(stream);
  return false;
}

void InferenceServiceImpl::remove_stream(StreamInferReactor* stream) {
  std::lock_guard<std::mutex> lock(streams_mu_);
  streams_.erase(stream);
}

void InferenceServiceImpl::drain_streams() {
  std::vector<StreamInferReactor*> idle;
  {
    std::lock_guard<std::mutex> lock(streams_mu_);
    draining_ = true;
    for (StreamInferReactor* s : streams_)
      if (s->drain()) idle.push_back(s);
  }
  // Outside the lock: OnDone (which takes it) may follow Finish. An idle stream stays alive
  // until it is finished here, since nothing else finishes it once drain() said so.
  for (StreamInferReactor* s : idle) s->finish();
}

::grpc::ServerUnaryReactor* InferenceServiceImpl::ServerLive(::grpc::CallbackServerContext* ctx,
                                                             const inference::ServerLiveRequest*,
                                                             inference::ServerLiveResponse* resp) {
  resp->set_live(true);
  return finish_ok(ctx);
}

::grpc::ServerUnaryReactor* InferenceServiceImpl::ServerReady(
    ::grpc::CallbackServerContext* ctx, const inference::ServerReadyRequest*,
    inference::ServerReadyResponse* resp) {
  resp->set_ready(ready_->load());
  return finish_ok(ctx);
}

::grpc::ServerUnaryReactor* InferenceServiceImpl::ModelReady(
    ::grpc::CallbackServerContext* ctx, const inference::ModelReadyRequest* req,
    inference::ModelReadyResponse* resp) {
  auto version = parse_model_version(req->version());
  if (!version.is_ok()) return finish(ctx, version.status());
  auto model = repo_->get(req->name(), *version);
  if (model.is_ok()) {
    resp->set_ready(true);
    return finish_ok(ctx);
  }
  // As REST: a model the repository knows but has not loaded is not ready; an unknown model or
  // version is NOT_FOUND.
  if (*version >= 0 || !known_model(*repo_, req->name())) return finish(ctx, model.status());
  resp->set_ready(false);
  return finish_ok(ctx);
}

::grpc::ServerUnaryReactor* InferenceServiceImpl::ServerMetadata(
    ::grpc::CallbackServerContext* ctx, const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* resp) {
  resp->set_name(http::kServerName);
  resp->set_version(http::kServerVersion);
  for (const char* e : {"classification", "model_repository", "model_repository(unload_dependents)",
                        "schedule_policy", "model_configuration", "statistics"})
    resp->add_extensions(e);
  return finish_ok(ctx);
}

::grpc::ServerUnaryReactor* InferenceServiceImpl::ModelMetadata(
    ::grpc::CallbackServerContext* ctx, const inference::ModelMetadataRequest* req,
    inference::ModelMetadataResponse* resp) {
  auto version = parse_model_version(req->version());
  if (!version.is_ok()) return finish(ctx, version.status());
  auto model = repo_->get(req->name(), *version);
  if (!model.is_ok()) return finish(ctx, model.status());
  const ::nalar::serving::ModelConfig& c = (*model)->config();
  resp->set_name(c.name());
  if (*version >= 0) {
    resp->add_versions(std::to_string(*version));
  } else {
    for (const auto& m : repo_->versions(req->name()))
      resp->add_versions(std::to_string(m->version()));
  }
  resp->set_platform(c.platform().empty() ? "onnxruntime_onnx" : c.platform());
  for (const auto& i : c.input())
    fill_tensor_meta(resp->add_inputs(), i.name(), i.data_type(), c.max_batch_size(), i.dims());
  for (const auto& o : c.output())
    fill_tensor_meta(resp->add_outputs(), o.name(), o.data_type(), c.max_batch_size(), o.dims());
  return finish_ok(ctx);
}

::grpc::ServerUnaryReactor* InferenceServiceImpl::ModelInfer(
    ::grpc::CallbackServerContext* ctx, const inference::ModelInferRequest* req,
    inference::ModelInferResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  uint64_t deadline_us = 0;  // the client's deadline, if it set one
  const auto left = ctx->deadline() - std::chrono::system_clock::now();
  if (left < std::chrono::hours(24 * 365)) {  // none set: time_point::max()
    deadline_us = static_cast<uint64_t>(
        std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::microseconds>(left).count()));
  }
  // The request and response live until Finish; the scheduler's executor calls Finish.
  start_infer(
      *req,
      [reactor, resp](Result<InferResponse> result) {
        if (!result.is_ok()) return reactor->Finish(to_grpc_status(result.status()));
        encode_infer_response(*result, resp);
        reactor->Finish(::grpc::Status::OK);
      },
      deadline_us);
  return reactor;
}

::grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>*
InferenceServiceImpl::ModelStreamInfer(::grpc::CallbackServerContext*) {
  return new StreamInferReactor(this);
}

::grpc::ServerUnaryReactor* InferenceServiceImpl::ModelConfig(
    ::grpc::CallbackServerContext* ctx, const inference::ModelConfigRequest* req,
    inference::ModelConfigResponse* resp) {
  auto version = parse_model_version(req->version());
  if (!version.is_ok()) return finish(ctx, version.status());
  auto model = repo_->get(req->name(), *version);
  if (!model.is_ok()) return finish(ctx, model.status());
  *resp->mutable_config() = (*model)->config();
  return finish_ok(ctx);
}

::grpc::ServerUnaryReactor* InferenceServiceImpl::ModelStatistics(
    ::grpc::CallbackServerContext* ctx, const inference::ModelStatisticsRequest* req,
    inference::ModelStatisticsResponse* resp) {
  auto version = parse_model_version(req->version());
  if (!version.is_ok()) return finish(ctx, version.status());
  if (req->name().empty()) {
    if (*version >= 0)
      return finish(ctx, invalid_argument("a statistics request with a version needs a name"));
    for (const auto& m : repo_->all_versions()) fill_stats(*m, resp->add_model_stats());
    return finish_ok(ctx);
  }
  if (*version < 0) {
    auto versions = repo_->versions(req->name());
    if (versions.empty()) return finish(ctx, repo_->get(req->name(), -1).status());
    for (const auto& m : versions) fill_stats(*m, resp->add_model_stats());
    return finish_ok(ctx);
  }
  auto model = repo_->get(req->name(), *version);
  if (!model.is_ok()) return finish(ctx, model.status());
  fill_stats(**model, resp->add_model_stats());
  return finish_ok(ctx);
}

::grpc::ServerUnaryReactor* InferenceServiceImpl::RepositoryIndex(
    ::grpc::CallbackServerContext* ctx, const inference::RepositoryIndexRequest* req,
    inference::RepositoryIndexResponse* resp) {
  for (const auto& e : repo_->index(req->ready())) {
    auto* m = resp->add_models();
    m->set_name(e.name);
    m->set_version(e.version);
    m->set_state(e.state);
    m->set_reason(e.reason);
  }
  return finish_ok(ctx);
}

::grpc::ServerUnaryReactor* InferenceServiceImpl::RepositoryModelLoad(
    ::grpc::CallbackServerContext* ctx, const inference::RepositoryModelLoadRequest* req,
    inference::RepositoryModelLoadResponse*) {
  std::optional<::nalar::serving::ModelConfig> override_config;
  for (const auto& [key, p] : req->parameters()) {
    if (key == "config") {
      using P = inference::ModelRepositoryParameter;
      if (p.parameter_choice_case() != P::kStringParam &&
          p.parameter_choice_case() != P::kBytesParam)
        return finish(ctx, invalid_argument("parameter 'config' must be a string holding the "
                                            "model configuration as JSON"));
      auto c = parse_model_config_json(
          p.parameter_choice_case() == P::kStringParam ? p.string_param() : p.bytes_param());
      if (!c.is_ok()) return finish(ctx, c.status());
      override_config = std::move(c).value();
    } else if (key.rfind("file:", 0) == 0) {
      return finish(ctx, unimplemented("loading model files from the request is not supported"));
    }
  }
  auto* reactor = ctx->DefaultReactor();
  repository_worker_.post(
      [this, reactor, name = req->model_name(), config = std::move(override_config)] {
        Status st = repo_->load(name, true, config ? &*config : nullptr);
        reactor->Finish(to_grpc_status(st));
      });
  return reactor;
}

::grpc::ServerUnaryReactor* InferenceServiceImpl::RepositoryModelUnload(
    ::grpc::CallbackServerContext* ctx, const inference::RepositoryModelUnloadRequest* req,
    inference::RepositoryModelUnloadResponse*) {
  auto* reactor = ctx->DefaultReactor();
  repository_worker_.post([this, reactor, name = req->model_name()] {
    reactor->Finish(to_grpc_status(repo_->unload(name, true)));
  });
  return reactor;
}

}  // namespace nalar::serving::kserve_grpc
