// Plan: a graph compiled once into an ordered list of kernel steps over numbered value slots,
// with each value freed after its last use. Running a plan touches no shared mutable state, so
// one plan serves any number of concurrent runs.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "onnx/model.h"

namespace nalar {

// Values visible at run time, looked up by name through enclosing graphs (for subgraph captures).
class Scope {
 public:
  Scope(const Plan* plan, const std::vector<Tensor>* slots, const Scope* parent)
      : plan_(plan), slots_(slots), parent_(parent) {}
  const Tensor* lookup(const std::string& name) const;

 private:
  const Plan* plan_;
  const std::vector<Tensor>* slots_;
  const Scope* parent_;
};

struct PlanOptions {
  int num_threads = 1;
  std::map<std::string, int64_t> opsets;  // domain -> version, from the model
  Precision precision = Precision::kFp32;
};

class Plan {
 public:
  // Compiles `graph`. `outer_names` are the names defined by enclosing graphs (empty for the main
  // graph): references to them become captures resolved through the Scope at run time.
  static Result<std::shared_ptr<const Plan>> compile(const Graph& graph, const PlanOptions& options,
                                                     const std::vector<std::string>& outer_names);
  // Takes the graph over: weights that kernels pack are then freed while planning goes on, so
  // the originals and their packed copies are never all held at once.
  static Result<std::shared_ptr<const Plan>> compile(Graph&& graph, const PlanOptions& options,
                                                     const std::vector<std::string>& outer_names);

  // Runs with inputs in graph-input order (undefined tensors for inputs that have an initializer
  // default). Returns the outputs in graph-output order.
  Result<std::vector<Tensor>> run(const std::vector<Tensor>& inputs, const Scope* outer,
                                  int num_threads) const;

  const std::vector<std::string>& input_names() const { return input_names_; }
  const std::vector<std::string>& output_names() const { return output_names_; }
  // Names this graph reads from enclosing graphs.
  const std::vector<std::string>& captures() const { return capture_names_; }
  int slot_of(const std::string& name) const;

 private:
  struct Step {
    const Node* node = nullptr;
    std::unique_ptr<Kernel> kernel;
    std::vector<int> inputs;   // slot per input, -1 when omitted
    std::vector<int> outputs;  // slot per output, -1 when omitted
    std::vector<int> release;  // slots whose last use is this step
    bool has_subgraph = false;  // If/Loop/Scan: never forced serial, its body decides per step
  };

  Status build(Graph graph, const PlanOptions& options,
               const std::vector<std::string>& outer_names);

  std::shared_ptr<Graph> graph_;  // keeps nodes alive for kernels that refer to them
  std::map<std::string, int> slot_by_name_;
  size_t num_slots_ = 0;
  std::vector<std::pair<int, Tensor>> constants_;  // initializer slots
  std::vector<std::string> input_names_;
  std::vector<int> input_slots_;
  std::vector<std::string> output_names_;
  std::vector<int> output_slots_;
  std::vector<std::string> capture_names_;
  std::vector<int> capture_slots_;
  std::vector<Step> steps_;
};

}  // namespace nalar
