// The gRPC ModelInfer request: tensor metadata in `inputs`, the bytes in raw_input_contents
// (one entry per input, in order), as Triton's clients send them.
#pragma once

#include <string>
#include <vector>

#include "loadgen/tensor_spec.h"
#include "serving/grpc/grpc_service.pb.h"

namespace nalar::loadgen {

inference::ModelInferRequest encode_grpc_request(const std::string& model,
                                                 const std::string& version,
                                                 const std::vector<InputTensor>& inputs);

}  // namespace nalar::loadgen
