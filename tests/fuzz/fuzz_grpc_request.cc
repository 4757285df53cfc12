// libFuzzer target for the gRPC inference request decoder: bytes -> ModelInferRequest (protobuf,
// as gRPC hands it over) -> InferRequest (raw_input_contents or typed contents), then the
// decoded inputs encoded back as a response. Anything may fail; nothing may crash, hang, leak or
// allocate beyond what the message's own size justifies.
#include <cstddef>
#include <cstdint>

#include "serving/grpc/grpc_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nalar::serving;
  inference::ModelInferRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  (void)kserve_grpc::parse_model_version(request.model_version());
  auto decoded = kserve_grpc::decode_infer_request(request);
  if (decoded.is_ok()) {
    InferResponse response;
    response.outputs = decoded->inputs;
    inference::ModelInferResponse out;
    kserve_grpc::encode_infer_response(response, &out);
  }
  return 0;
}
