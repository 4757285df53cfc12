// Builds small ONNX models in memory for tests, with the protobuf schema directly.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace nalar::testmodels {

inline onnx::ValueInfoProto value_info(const std::string& name, int elem_type,
                                       const std::vector<int64_t>& dims) {
  onnx::ValueInfoProto v;
  v.set_name(name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    if (d < 0) shape->add_dim()->set_dim_param("batch");
    else shape->add_dim()->set_dim_value(d);
  }
  return v;
}

// x -> op_type -> y, float tensors of `dims`.
inline onnx::ModelProto single_op_model(const std::string& op_type, const std::string& domain,
                                        const std::vector<int64_t>& dims, int opset = 17) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* imp = m.add_opset_import();
  imp->set_domain("");
  imp->set_version(opset);
  if (!domain.empty()) {
    auto* d = m.add_opset_import();
    d->set_domain(domain);
    d->set_version(1);
  }
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* n = g->add_node();
  n->set_op_type(op_type);
  n->set_domain(domain);
  n->add_input("x");
  n->add_output("y");
  *g->add_input() = value_info("x", onnx::TensorProto::FLOAT, dims);
  *g->add_output() = value_info("y", onnx::TensorProto::FLOAT, dims);
  return m;
}

inline std::string serialize(const onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

}  // namespace nalar::testmodels
