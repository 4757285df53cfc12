// The gRPC load driver: `concurrency` ModelInfer calls in flight through the callback API,
// spread over `channels` channels (each its own TCP connection).
#pragma once

#include <string>

#include "loadgen/load_plan.h"
#include "loadgen/recorder.h"
#include "serving/grpc/grpc_service.pb.h"

namespace nalar::loadgen {

void run_grpc_driver(const std::string& target, const inference::ModelInferRequest& request,
                     const LoadPlan& plan, int channels, Recorder& recorder);

}  // namespace nalar::loadgen
