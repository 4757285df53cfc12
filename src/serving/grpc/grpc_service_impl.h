// The handlers of inference.GRPCInferenceService (callback API). Inference is asynchronous end
// to end: the handler validates and queues the request and returns; the scheduler's executor
// finishes the call. Repository load/unload, which can take seconds, run on one worker thread of
// their own instead of gRPC's callback threads.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "serving/grpc/grpc_service.grpc.pb.h"
#include "serving/infer_request.h"
#include "serving/repository.h"

namespace nalar::serving::kserve_grpc {

class StreamInferReactor;

// Triton's mapping of error kinds to gRPC codes (see grpc_server.h).
::grpc::Status to_grpc_status(const Status& status);

// Runs jobs one after another on a thread of its own; the destructor finishes what was queued.
class SerialWorker {
 public:
  SerialWorker();
  ~SerialWorker();
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;
  void post(std::function<void()> job);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest exists
};

class InferenceServiceImpl final : public inference::GRPCInferenceService::CallbackService {
 public:
  InferenceServiceImpl(ModelRepository* repository, const std::atomic<bool>* ready)
      : repo_(repository), ready_(ready) {}

  // Decodes `request`, finds the model and queues it; `done` is called exactly once (possibly
  // before this returns) with the response or the reason it failed. `deadline_us` > 0: the time
  // the client still waits; a request still queued then is dropped before it costs a run (it
  // acts as a shorter `timeout` parameter).
  void start_infer(const inference::ModelInferRequest& request, InferCallback done,
                   uint64_t deadline_us = 0);

  // Open ModelStreamInfer streams, so that shutdown can end idle ones instead of waiting for
  // their clients. add_stream returns true when the server is already draining.
  bool add_stream(StreamInferReactor* stream);
  void remove_stream(StreamInferReactor* stream);
  // Stops every open stream (and any opened later) once its running requests are answered.
  void drain_streams();

  ::grpc::ServerUnaryReactor* ServerLive(::grpc::CallbackServerContext* ctx,
                                         const inference::ServerLiveRequest* request,
                                         inference::ServerLiveResponse* response) override;
  ::grpc::ServerUnaryReactor* ServerReady(::grpc::CallbackServerContext* ctx,
                                          const inference::ServerReadyRequest* request,
                                          inference::ServerReadyResponse* response) override;
  ::grpc::ServerUnaryReactor* ModelReady(::grpc::CallbackServerContext* ctx,
                                         const inference::ModelReadyRequest* request,
                                         inference::ModelReadyResponse* response) override;
  ::grpc::ServerUnaryReactor* ServerMetadata(::grpc::CallbackServerContext* ctx,
                                             const inference::ServerMetadataRequest* request,
                                             inference::ServerMetadataResponse* response) override;
  ::grpc::ServerUnaryReactor* ModelMetadata(::grpc::CallbackServerContext* ctx,
                                            const inference::ModelMetadataRequest* request,
                                            inference::ModelMetadataResponse* response) override;
  ::grpc::ServerUnaryReactor* ModelInfer(::grpc::CallbackServerContext* ctx,
                                         const inference::ModelInferRequest* request,
                                         inference::ModelInferResponse* response) override;
  ::grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>*
  ModelStreamInfer(::grpc::CallbackServerContext* ctx) override;
  ::grpc::ServerUnaryReactor* ModelConfig(::grpc::CallbackServerContext* ctx,
                                          const inference::ModelConfigRequest* request,
                                          inference::ModelConfigResponse* response) override;
  ::grpc::ServerUnaryReactor* ModelStatistics(
      ::grpc::CallbackServerContext* ctx, const inference::ModelStatisticsRequest* request,
      inference::ModelStatisticsResponse* response) override;
  ::grpc::ServerUnaryReactor* RepositoryIndex(
      ::grpc::CallbackServerContext* ctx, const inference::RepositoryIndexRequest* request,
      inference::RepositoryIndexResponse* response) override;
  ::grpc::ServerUnaryReactor* RepositoryModelLoad(
      ::grpc::CallbackServerContext* ctx, const inference::RepositoryModelLoadRequest* request,
      inference::RepositoryModelLoadResponse* response) override;
  ::grpc::ServerUnaryReactor* RepositoryModelUnload(
      ::grpc::CallbackServerContext* ctx, const inference::RepositoryModelUnloadRequest* request,
      inference::RepositoryModelUnloadResponse* response) override;

 private:
  ModelRepository* repo_;
  const std::atomic<bool>* ready_;
  SerialWorker repository_worker_;  // load / unload
  std::mutex streams_mu_;
  std::set<StreamInferReactor*> streams_;
  bool draining_ = false;
};

}  // namespace nalar::serving::kserve_grpc
