// nalar inspect MODEL [--json]: what a model takes and gives, and what it is made of.
#include <iostream>
#include <map>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/json_text.h"
#include "kernels/kernel.h"
#include "onnx/loader.h"

namespace nalar::cli {

namespace {

const char* kHelp =
    "usage: nalar inspect MODEL [--json]\n"
    "Prints the model's inputs and outputs (name, dtype, shape with symbolic dims), its opset\n"
    "imports, and a histogram of its operators (subgraphs included), marking any operator this\n"
    "build of Nalar cannot run.\n";

void count_ops(const Graph& g, const Model& m, std::map<std::string, int>& hist,
               std::map<std::string, bool>& supported) {
  for (const auto& n : g.nodes) {
    std::string key = n.domain.empty() ? n.op_type : n.domain + "." + n.op_type;
    ++hist[key];
    supported[key] = find_kernel(n.domain, n.op_type, m.opset(n.domain)) != nullptr;
    for (const auto& [name, a] : n.attributes) {
      if (a.g) count_ops(*a.g, m, hist, supported);
      for (const auto& sub : a.graphs) count_ops(*sub, m, hist, supported);
    }
  }
}

std::string dims_text(const TensorInfo& info) {
  if (!info.has_shape) return "?";
  std::string s = "[";
  for (size_t i = 0; i < info.shape.size(); ++i) {
    if (i) s += ", ";
    const Dim& d = info.shape[i];
    s += d.is_fixed() ? std::to_string(d.value) : (d.param.empty() ? "?" : d.param);
  }
  return s + "]";
}

std::string dims_json(const TensorInfo& info) {
  if (!info.has_shape) return "null";
  std::string s = "[";
  for (size_t i = 0; i < info.shape.size(); ++i) {
    if (i) s += ", ";
    const Dim& d = info.shape[i];
    s += d.is_fixed() ? std::to_string(d.value) : json_string(d.param.empty() ? "?" : d.param);
  }
  return s + "]";
}

std::string io_json(const std::vector<TensorInfo>& list) {
  std::string s = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) s += ", ";
    s += "{\"name\": " + json_string(list[i].name) + ", \"dtype\": " +
         json_string(dtype_name(list[i].dtype)) + ", \"shape\": " + dims_json(list[i]) + "}";
  }
  return s + "]";
}

}  // namespace

int inspect_main(int argc, char** argv) {
  auto args = Args::parse(argc, argv, {}, {"--json", "--help"});
  if (!args.is_ok()) {
    std::cerr << "nalar inspect: " << args.status().message() << "\n";
    return 2;
  }
  if (args->has("--help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positionals().size() != 1) {
    std::cerr << kHelp;
    return 2;
  }
  auto model = load_model_file(args->positionals()[0], {.infer_shapes = true});
  if (!model.is_ok()) {
    std::cerr << "nalar inspect: " << model.status().message() << "\n";
    return 1;
  }
  const Model& m = *model;
  // Graph inputs that have an initializer are defaults, not feeds.
  std::vector<TensorInfo> inputs;
  for (const auto& in : m.graph.inputs)
    if (!m.graph.initializers.count(in.name)) inputs.push_back(in);
  std::map<std::string, int> hist;
  std::map<std::string, bool> supported;
  count_ops(m.graph, m, hist, supported);
  // Intermediate values whose dtype and rank static inference could work out.
  size_t node_values = 0, inferred = 0;
  for (const auto& n : m.graph.nodes) node_values += n.outputs.size();
  for (const auto& vi : m.graph.value_infos)
    if (vi.dtype != DataType::kUndefined && vi.has_shape) ++inferred;

  if (args->has("--json")) {
    std::string s = "{\"model\": " + json_string(m.source) +
                    ", \"ir_version\": " + std::to_string(m.ir_version) +
                    ", \"producer\": " + json_string(m.producer_name + " " + m.producer_version) +
                    ", \"opsets\": {";
    bool first = true;
    for (const auto& [domain, v] : m.opsets) {
      s += (first ? "" : ", ") + json_string(domain.empty() ? "ai.onnx" : domain) + ": " +
           std::to_string(v);
      first = false;
    }
    s += "}, \"inputs\": " + io_json(inputs) + ", \"outputs\": " + io_json(m.graph.outputs) +
         ", \"operators\": {";
    first = true;
    for (const auto& [op, n] : hist) {
      s += (first ? "" : ", ") + json_string(op) + ": " + std::to_string(n);
      first = false;
    }
    s += "}, \"node_outputs\": " + std::to_string(node_values) +
         ", \"inferred_types\": " + std::to_string(inferred) + ", \"unsupported_operators\": [";
    first = true;
    for (const auto& [op, ok] : supported)
      if (!ok) {
        s += (first ? "" : ", ") + json_string(op);
        first = false;
      }
    s += "]}";
    std::cout << s << "\n";
    return 0;
  }
  std::cout << "model:    " << m.source << "\n"
            << "ir:       " << m.ir_version << "\n"
            << "producer: " << m.producer_name << " " << m.producer_version << "\n"
            << "opsets:  ";
  for (const auto& [domain, v] : m.opsets)
    std::cout << " " << (domain.empty() ? "ai.onnx" : domain) << "=" << v;
  std::cout << "\ninputs:\n";
  for (const auto& in : inputs)
    std::cout << "  " << in.name << ": " << dtype_name(in.dtype) << " " << dims_text(in) << "\n";
  std::cout << "outputs:\n";
  for (const auto& out : m.graph.outputs)
    std::cout << "  " << out.name << ": " << dtype_name(out.dtype) << " " << dims_text(out) << "\n";
  std::cout << "inferred: dtype and shape of " << inferred << " of " << node_values
            << " node outputs\n";
  std::cout << "operators (" << hist.size() << " kinds):\n";
  for (const auto& [op, n] : hist)
    std::cout << "  " << op << " x" << n << (supported[op] ? "" : "  (not supported by Nalar)")
              << "\n";
  return 0;
}

}  // namespace nalar::cli
