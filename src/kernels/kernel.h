// The kernel interface. A kernel is created once per node when a session is planned (prepare),
// then computed on every run; compute() is const because many runs may share one kernel.
//
// Adding an operator: one file in src/kernels/, a class deriving from Kernel, and
//   NALAR_REGISTER_KERNEL("", "Relu", 6, kMaxOpset, ReluKernel);
// Domains: "" is ai.onnx, "ai.onnx.ml" the classical-ML set.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nalar/session.h"
#include "nalar/status.h"
#include "nalar/tensor.h"
#include "onnx/model.h"

namespace nalar {

inline constexpr int64_t kMaxOpset = 1000;

class Plan;   // a compiled (sub)graph, see runtime/plan.h
class Scope;  // the values visible to a subgraph at run time

// What a kernel sees while being prepared, at session creation.
struct KernelConfig {
  const Node& node;
  int64_t opset = 0;  // version of node.domain imported by the model
  // Values of inputs that are initializers (constant for the session's life); nullptr otherwise.
  std::vector<const Tensor*> constant_inputs;
  int num_threads = 1;
  // Compiles a graph attribute (If/Loop/Scan bodies); values it uses from enclosing graphs
  // are resolved through the Scope at run time.
  std::function<Result<std::shared_ptr<const Plan>>(const Graph&)> compile_subgraph;
  // The session's GEMM precision (kernels without a low-precision path ignore it).
  Precision precision = Precision::kFp32;

  const Tensor* constant(size_t i) const {
    return i < constant_inputs.size() ? constant_inputs[i] : nullptr;
  }
};

// What a kernel sees while computing.
class KernelContext {
 public:
  KernelContext(std::vector<const Tensor*> inputs, size_t num_outputs, int num_threads,
                const Scope* scope)
      : inputs_(std::move(inputs)), outputs_(num_outputs), num_threads_(num_threads),
        scope_(scope) {}

  size_t num_inputs() const { return inputs_.size(); }
  // nullptr when the optional input was omitted (or i is past the given inputs).
  const Tensor* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  size_t num_outputs() const { return outputs_.size(); }
  // Assign the result: ctx.output(0) = Tensor::create(...).
  Tensor& output(size_t i) { return outputs_.at(i); }
  std::vector<Tensor>& outputs() { return outputs_; }

  int num_threads() const { return num_threads_; }
  const Scope* scope() const { return scope_; }

 private:
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor> outputs_;
  int num_threads_;
  const Scope* scope_;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Reads attributes and constant inputs once; rejects what this kernel cannot run.
  virtual Status prepare(const KernelConfig& /*config*/) { return Status::ok(); }
  virtual Status compute(KernelContext& ctx) const = 0;
  // True when prepare() copied constant input `i` into a private (e.g. pre-packed) form and
  // compute() never reads the original: the plan may then drop its own reference so the
  // weights are not held twice.
  virtual bool releases_constant_input(size_t /*i*/) const { return false; }
};

using KernelFactory = std::function<std::unique_ptr<Kernel>()>;

struct KernelKey {
  std::string domain;
  std::string op_type;
  int64_t since = 1;
  int64_t until = kMaxOpset;
};

void register_kernel(const KernelKey& key, KernelFactory factory);
// The kernel registered for (domain, op) whose opset range holds `opset`; nullptr if none.
const KernelFactory* find_kernel(const std::string& domain, const std::string& op_type,
                                 int64_t opset);
// Every registered (domain, op_type), for `nalar inspect` and error messages.
std::vector<KernelKey> registered_kernels();

struct KernelRegistrar {
  KernelRegistrar(const KernelKey& key, KernelFactory factory) {
    register_kernel(key, std::move(factory));
  }
};

}  // namespace nalar

#define NALAR_REGISTER_KERNEL(DOMAIN, OP, SINCE, UNTIL, ...)                     \
  static ::nalar::KernelRegistrar NALAR_CONCAT(nalar_kernel_registrar_, __LINE__)( \
      ::nalar::KernelKey{DOMAIN, OP, SINCE, UNTIL},                               \
      []() -> std::unique_ptr<::nalar::Kernel> { return std::make_unique<__VA_ARGS__>(); })
