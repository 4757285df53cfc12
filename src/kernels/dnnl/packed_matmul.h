// A GEMM with constant weights: Y[M,N] = act(alpha * A[M,K] x W[K,N] + bias), W packed once at
// session creation into oneDNN's preferred layout in the session's precision:
//   fp32: as given;
//   bf16: W in bfloat16, A converted to bfloat16 per run, f32 accumulation and output;
//   int8: W symmetric int8 per output column, A quantised per run to u8 with a zero point from
//         its own range (dynamic quantisation), s32 accumulation, f32 output.
// The original W is not needed after init(), so kernels using this release their initializer.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/dnnl/dnnl_context.h"
#include "nalar/session.h"

namespace nalar {

class PackedMatmul {
 public:
  // `w` is a float matrix, [K,N], or [N,K] when `trans`. `gelu` appends an erf-GELU.
  Status init(const Tensor& w, bool trans, Precision precision, float alpha, bool gelu);

  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  Precision precision() const { return precision_; }

  // y[rows,n] = act(alpha * a[rows,k] x W + bias); bias: n floats or nullptr. Row-major, dense.
  Status run(const float* a, int64_t rows, const float* bias, float* y) const;

 private:
  struct Prim;
  std::shared_ptr<const Prim> get(int64_t rows, bool bias) const;
  dnnl::primitive_attr attr(bool bias) const;

  Precision precision_ = Precision::kFp32;
  int64_t k_ = 0, n_ = 0;
  float alpha_ = 1.0f;
  bool gelu_ = false;
  dnnl::memory packed_;        // W in the layout the primitives want
  std::vector<float> scales_;  // int8: alpha * per-column weight scale
  mutable std::mutex mu_;
  mutable std::map<std::pair<int64_t, bool>, std::shared_ptr<const Prim>> cache_;
};

}  // namespace nalar
