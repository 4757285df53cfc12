// Builds small ONNX models in memory for tests, with the protobuf schema directly.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <utility>
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
    if (d < 0)
      shape->add_dim()->set_dim_param("batch");
    else
      shape->add_dim()->set_dim_value(d);
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

// A model under construction: IR 8, one ai.onnx opset import, a graph named "g". Tests derive
// their own builders from it and add the value and initializer helpers they need.
struct GraphBuilder {
  onnx::ModelProto m;
  onnx::GraphProto* g;

  explicit GraphBuilder(int opset = 13) {
    m.set_ir_version(8);
    auto* imp = m.add_opset_import();
    imp->set_domain("");
    imp->set_version(opset);
    g = m.mutable_graph();
    g->set_name("g");
  }
  // Moving keeps `g` pointing into this builder's own model.
  GraphBuilder(GraphBuilder&& o) noexcept : m(std::move(o.m)), g(m.mutable_graph()) {}
  GraphBuilder(const GraphBuilder&) = delete;
  GraphBuilder& operator=(const GraphBuilder&) = delete;

  // A node named "<op>_<index>".
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& in,
                        const std::vector<std::string>& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(op + "_" + std::to_string(g->node_size()));
    for (const auto& i : in) n->add_input(i);
    for (const auto& o : out) n->add_output(o);
    return n;
  }
};

inline std::string serialize(const onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

}  // namespace nalar::testmodels
