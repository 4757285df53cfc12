// Session: a loaded, planned ONNX model ready to run. Create once, call run() from any number of
// threads at the same time.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nalar/status.h"
#include "nalar/tensor.h"

namespace nalar {

// Arithmetic of the heavy GEMMs (MatMul, Gemm and their fusions with constant weights); tensors
// at the graph boundary stay float32 either way.
enum class Precision {
  kFp32,
  kBf16,  // weights and activations in bfloat16, f32 accumulation (AMX / avx512_bf16)
  kInt8,  // dynamic quantisation: int8 weights per output column, u8 activations per tensor
};
// "fp32", "bf16", "int8".
Result<Precision> parse_precision(const std::string& name);
const char* precision_name(Precision p);

struct SessionOptions {
  int num_threads = 0;  // 0: one per available core
  // Graph optimisation before planning: 0 none, 1 basic (dead code, Identity/Dropout removal,
  // constant folding, Conv+BatchNormalization folding), 2 extended (also Conv+Mul/Add folding).
  int optimization_level = 2;
  // Flush denormal floats to zero (FTZ/DAZ) on the threads that run the model: denormals are
  // 10-100x slower on x86 and never matter for inference accuracy.
  bool flush_denormals = true;
  Precision precision = Precision::kFp32;
};

// One dimension of a declared input/output shape: a fixed size, a symbolic name, or unknown.
struct Dim {
  int64_t value = -1;  // >= 0 when fixed
  std::string param;   // symbolic name, e.g. "batch"; empty when fixed or unknown
  bool is_fixed() const { return value >= 0; }
};

struct TensorInfo {
  std::string name;
  DataType dtype = DataType::kUndefined;
  bool has_shape = false;  // false: rank unknown
  std::vector<Dim> shape;
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Runtime;  // internal

class Session {
 public:
  static Result<std::unique_ptr<Session>> load(const std::string& path,
                                               const SessionOptions& options = {});
  static Result<std::unique_ptr<Session>> load_from_bytes(const void* data, size_t size,
                                                          const SessionOptions& options = {});
  ~Session();

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  int num_threads() const;

  // Runs the model. Inputs are matched by name and validated against the declared dtype and
  // shape. Returns every graph output, in the graph's order.
  Result<NamedTensors> run(const NamedTensors& inputs) const;

 private:
  explicit Session(std::unique_ptr<Runtime> runtime);
  std::unique_ptr<Runtime> runtime_;
};

}  // namespace nalar
