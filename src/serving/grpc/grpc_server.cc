#include "serving/grpc/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <cstdint>

#include "serving/grpc/grpc_service_impl.h"

namespace nalar::serving::kserve_grpc {

struct GrpcServer::Impl {
  Impl(ModelRepository* repository, const std::atomic<bool>* ready, GrpcServerOptions o)
      : options(std::move(o)), service(repository, ready) {}

  GrpcServerOptions options;
  InferenceServiceImpl service;  // outlives the server below
  std::unique_ptr<::grpc::Server> server;
  int port = 0;
};

GrpcServer::GrpcServer(ModelRepository* repository, const std::atomic<bool>* ready,
                       GrpcServerOptions options)
    : impl_(std::make_unique<Impl>(repository, ready, std::move(options))) {}

GrpcServer::~GrpcServer() { stop(0); }

Status GrpcServer::start() {
  ::grpc::EnableDefaultHealthCheckService(true);
  const std::string address = impl_->options.host + ":" + std::to_string(impl_->options.port);
  ::grpc::ServerBuilder builder;
  builder.AddListeningPort(address, ::grpc::InsecureServerCredentials(), &impl_->port);
  builder.RegisterService(&impl_->service);
  const size_t max = impl_->options.max_message_bytes;
  builder.SetMaxReceiveMessageSize(max > INT32_MAX ? INT32_MAX : static_cast<int>(max));
  builder.SetMaxSendMessageSize(-1);  // responses are bounded by the model, not by a limit
  // gRPC sets SO_REUSEPORT by default: a second server on a busy port would silently share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port == 0) {
    impl_->server.reset();
    return Status(StatusCode::kUnavailable, "gRPC: cannot listen on " + address);
  }
  set_serving(false);
  return Status::ok();
}

int GrpcServer::port() const { return impl_->port; }

void GrpcServer::set_serving(bool serving) {
  if (!impl_->server) return;
  if (auto* health = impl_->server->GetHealthCheckService()) {
    health->SetServingStatus(serving);
    health->SetServingStatus("inference.GRPCInferenceService", serving);
  }
}

void GrpcServer::stop(int drain_timeout_ms) {
  if (!impl_->server) return;
  impl_->service.drain_streams();  // idle streams end now instead of at the deadline
  // New calls are refused at once; running ones get until the deadline, then are cancelled.
  // Shutdown returns once every call has finished (inference calls finish from the scheduler).
  impl_->server->Shutdown(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(drain_timeout_ms));
  impl_->server->Wait();
  impl_->server.reset();
}

}  // namespace nalar::serving::kserve_grpc
