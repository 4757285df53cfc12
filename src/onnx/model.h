// Nalar's graph IR: plain structs converted from ONNX's protobuf once at load, so that nothing
// past the loader depends on protobuf.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nalar/session.h"
#include "nalar/status.h"
#include "nalar/tensor.h"

namespace nalar {

struct Graph;

enum class AttrType {
  kUndefined = 0,
  kFloat = 1,
  kInt = 2,
  kString = 3,
  kTensor = 4,
  kGraph = 5,
  kFloats = 6,
  kInts = 7,
  kStrings = 8,
  kTensors = 9,
  kGraphs = 10,
  kSparseTensor = 11,
  kSparseTensors = 12,
  kTypeProto = 13,
  kTypeProtos = 14,
};

struct Attribute {
  std::string name;
  AttrType type = AttrType::kUndefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" for ai.onnx
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;  // "" marks an omitted optional output
  std::map<std::string, Attribute> attributes;

  bool has(const std::string& attr) const { return attributes.count(attr) != 0; }
  const Attribute* find(const std::string& attr) const;
  int64_t get_int(const std::string& attr, int64_t fallback) const;
  float get_float(const std::string& attr, float fallback) const;
  std::string get_string(const std::string& attr, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& attr,
                                const std::vector<int64_t>& fallback = {}) const;
  std::vector<float> get_floats(const std::string& attr,
                                const std::vector<float>& fallback = {}) const;
  std::vector<std::string> get_strings(const std::string& attr,
                                       const std::vector<std::string>& fallback = {}) const;
  // "Conv (node 'conv1')" for error messages.
  std::string describe() const;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
  std::vector<TensorInfo> value_infos;
  std::map<std::string, Tensor> initializers;
};

struct Model {
  int64_t ir_version = 0;
  std::map<std::string, int64_t> opsets;  // domain ("" = ai.onnx) -> version
  std::string producer_name;
  std::string producer_version;
  std::string source;  // file path, or "<bytes>"
  Graph graph;

  int64_t opset(const std::string& domain) const;
};

// Canonical domain: "" and "ai.onnx" are the same domain.
inline std::string canonical_domain(const std::string& d) { return d == "ai.onnx" ? "" : d; }

}  // namespace nalar
