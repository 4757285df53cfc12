#include "loadgen/grpc_request.h"

namespace nalar::loadgen {

inference::ModelInferRequest encode_grpc_request(const std::string& model,
                                                 const std::string& version,
                                                 const std::vector<InputTensor>& inputs) {
  inference::ModelInferRequest r;
  r.set_model_name(model);
  r.set_model_version(version);
  for (const auto& t : inputs) {
    auto* in = r.add_inputs();
    in->set_name(t.name);
    in->set_datatype(t.datatype);
    for (int64_t d : t.shape) in->add_shape(d);
    r.add_raw_input_contents(t.raw);
  }
  return r;
}

}  // namespace nalar::loadgen
