// The KServe v2 gRPC front-end: Triton's inference.GRPCInferenceService (every RPC in
// grpc_service.proto) plus grpc.health.v1, on the same model repository, validation, scheduler
// and statistics as the REST front-end. Built on the grpc++ callback API: a request waiting in a
// model's queue holds no thread. Status codes follow Triton and the REST mapping: bad request
// INVALID_ARGUMENT, unknown model/version NOT_FOUND, queue full / unavailable UNAVAILABLE,
// unsupported UNIMPLEMENTED, anything else INTERNAL. gRPC headers stay behind this interface.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "nalar/status.h"
#include "serving/repository.h"

namespace nalar::serving::kserve_grpc {

struct GrpcServerOptions {
  std::string host = "0.0.0.0";
  int port = 8001;                              // 0: pick a free port (see port())
  size_t max_message_bytes = size_t{64} << 20;  // largest request accepted
};

class GrpcServer {
 public:
  // `ready` is the server-level readiness (startup done, not draining).
  GrpcServer(ModelRepository* repository, const std::atomic<bool>* ready,
             GrpcServerOptions options);
  ~GrpcServer();  // stops if still running
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Binds and starts serving; fails naming the address when it cannot bind.
  Status start();
  int port() const;
  // The grpc.health.v1 status of the server (NOT_SERVING until set, and again after stop()).
  void set_serving(bool serving);
  // Stops accepting calls, lets in-flight ones finish (cancelling those still running after
  // `drain_timeout_ms`), then releases the server.
  void stop(int drain_timeout_ms = 30000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nalar::serving::kserve_grpc
