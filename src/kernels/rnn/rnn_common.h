// Shared pieces of the recurrent operators (LSTM, GRU, RNN): attribute parsing, activation
// functions, input validation, the batched GEMM, and layout conversion of inputs and outputs.
//
// Every kernel works in the "sequence-major" layout ([seq, batch, ...]); the batchwise layout
// (opset 14 layout=1) is converted on the way in and out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace nalar::rnn {

enum class ActKind {
  kSigmoid,
  kTanh,
  kRelu,
  kAffine,
  kLeakyRelu,
  kThresholdedRelu,
  kScaledTanh,
  kHardSigmoid,
  kElu,
  kSoftsign,
  kSoftplus,
};

struct Activation {
  ActKind kind = ActKind::kSigmoid;
  float alpha = 0;
  float beta = 0;
};

// Applies `act` to n values in place.
template <class T>
void apply_activation(const Activation& act, T* x, int64_t n);

// Clips n values into [-clip, clip] in place (clip <= 0 means no clipping).
template <class T>
void apply_clip(T* x, int64_t n, float clip);

enum class Direction { kForward, kReverse, kBidirectional };

// Attributes common to the three operators.
struct RnnAttributes {
  int64_t hidden_size = 0;  // 0 when absent: inferred from R
  Direction direction = Direction::kForward;
  int num_directions = 1;
  int64_t layout = 0;
  float clip = 0;  // 0: no clipping
  // activations for every direction, num_activations per direction
  std::vector<Activation> activations;
};

// Reads direction, layout, clip, hidden_size and the activation list (with alpha/beta) for an
// operator whose per-direction defaults are `defaults` (e.g. {"Sigmoid","Tanh","Tanh"}).
Status parse_attributes(const Node& node, const char* op, const std::vector<std::string>& defaults,
                        RnnAttributes* out);

// The validated common inputs. Shapes are given in the sequence-major layout.
struct RnnInputs {
  int64_t seq_length = 0;
  int64_t batch = 0;
  int64_t input_size = 0;
  int64_t hidden = 0;
  Tensor x;                       // [seq, batch, input] (transposed copy when layout = 1)
  const Tensor* w = nullptr;      // [dirs, gates*hidden, input]
  const Tensor* r = nullptr;      // [dirs, gates*hidden, hidden]
  const Tensor* b = nullptr;      // [dirs, 2*gates*hidden] or null
  std::vector<int64_t> seq_lens;  // one per batch entry (seq_length when absent)
  Tensor initial_h;               // [dirs, batch, hidden] seq-major, or undefined
  Tensor initial_c;               // LSTM only
  const Tensor* p = nullptr;      // LSTM peepholes [dirs, 3*hidden] or null
};

// Validates X, W, R, B, sequence_lens, initial_h (and for LSTM initial_c at input 6 and P at
// input 7) for an operator with `gates` gates.
Status read_inputs(const KernelContext& ctx, const char* op, const RnnAttributes& attrs,
                   int64_t gates, bool is_lstm, RnnInputs* out);

// Row-major C[M,N] = A[M,K] * B[N,K]^T (+ C when accumulate). lda/ldb/ldc are row strides.
template <class T>
void gemm_nt(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
             T* c, int64_t ldc, bool accumulate);

// The per-timestep recurrent product C[M,N] = A[M,K] * R[N,K]^T. Small products (the usual
// batch 1-8 case) run on the calling thread from rt = R^T ([K,N], row stride ldrt): forking
// threads for a few microseconds of work per step costs more than it saves, especially on a busy
// machine. Larger ones go to the threaded GEMM with r itself.
template <class T>
void recurrent_gemm(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* r,
                    int64_t ldr, const T* rt, int64_t ldrt, T* c, int64_t ldc);

// Transposes rows x cols `src` into dst (cols x rows).
template <class T>
void transpose(const T* src, int64_t rows, int64_t cols, T* dst);

// R [dirs, gates*hidden, hidden] transposed per direction to [dirs, hidden, gates*hidden], for
// a constant R at prepare time (undefined for other dtypes or ranks).
Tensor transpose_recurrent(const Tensor* r);

// Converts a sequence-major Y [seq, dirs, batch, hidden] into the output layout.
Tensor finish_y(const Tensor& y, int64_t layout);
// Converts a state [dirs, batch, hidden] into the output layout ([batch, dirs, hidden] when 1).
Tensor finish_state(const Tensor& h, int64_t layout);

}  // namespace nalar::rnn

namespace nalar::rnn {

// out[seq*batch, gh] = x[seq*batch, input] * w[gh, input]^T + bias[gh] (bias may be null).
template <class T>
void project_inputs(const T* x, int64_t rows, int64_t input, const T* w, int64_t gh, const T* bias,
                    T* out) {
  gemm_nt<T>(rows, gh, input, x, input, w, input, out, gh, false);
  if (!bias) return;
  for (int64_t i = 0; i < rows; ++i) {
    T* o = out + i * gh;
    for (int64_t j = 0; j < gh; ++j) o[j] += bias[j];
  }
}

// R^T for direction `d` ([hidden, gh]): the copy transposed at prepare when R was a constant of
// this dtype, else R transposed now into `scratch`.
template <class T>
const T* recurrent_transposed(const Tensor& cached, const T* r, int64_t gh, int64_t hidden,
                              int64_t d, std::vector<T>& scratch) {
  if (cached.defined() && cached.dtype() == dtype_of<T>) return cached.data<T>() + d * gh * hidden;
  scratch.resize(static_cast<size_t>(gh * hidden));
  transpose(r, gh, hidden, scratch.data());
  return scratch.data();
}

// Time index of step `s` for a batch entry of length `len` (reverse runs each sequence backwards
// from its own last valid element).
inline int64_t time_index(int64_t s, int64_t len, bool reverse) {
  return reverse ? len - 1 - s : s;
}

}  // namespace nalar::rnn
