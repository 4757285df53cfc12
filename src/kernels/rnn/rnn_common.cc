#include "kernels/rnn/rnn_common.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/common.h"

namespace nalar::rnn {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct ActInfo {
  const char* name;
  ActKind kind;
  bool uses_alpha, uses_beta;
  float default_alpha, default_beta;  // the standalone ONNX operators' defaults
};

constexpr ActInfo kActs[] = {
    {"sigmoid", ActKind::kSigmoid, false, false, 0, 0},
    {"tanh", ActKind::kTanh, false, false, 0, 0},
    {"relu", ActKind::kRelu, false, false, 0, 0},
    {"affine", ActKind::kAffine, true, true, 1.0f, 0.0f},
    {"leakyrelu", ActKind::kLeakyRelu, true, false, 0.01f, 0},
    {"thresholdedrelu", ActKind::kThresholdedRelu, true, false, 1.0f, 0},
    {"scaledtanh", ActKind::kScaledTanh, true, true, 1.0f, 1.0f},
    {"hardsigmoid", ActKind::kHardSigmoid, true, true, 0.2f, 0.5f},
    {"elu", ActKind::kElu, true, false, 1.0f, 0},
    {"softsign", ActKind::kSoftsign, false, false, 0, 0},
    {"softplus", ActKind::kSoftplus, false, false, 0, 0},
};

}  // namespace

Status parse_attributes(const Node& node, const char* op, const std::vector<std::string>& defaults,
                        RnnAttributes* out) {
  out->hidden_size = node.get_int("hidden_size", 0);
  if (out->hidden_size < 0)
    return invalid_argument(std::string(op) + ": hidden_size must be positive, got " +
                            std::to_string(out->hidden_size));
  const std::string dir = node.get_string("direction", "forward");
  if (dir == "forward") {
    out->direction = Direction::kForward;
  } else if (dir == "reverse") {
    out->direction = Direction::kReverse;
  } else if (dir == "bidirectional") {
    out->direction = Direction::kBidirectional;
  } else {
    return invalid_argument(std::string(op) + ": unknown direction '" + dir + "'");
  }
  out->num_directions = out->direction == Direction::kBidirectional ? 2 : 1;
  out->layout = node.get_int("layout", 0);
  if (out->layout != 0 && out->layout != 1)
    return invalid_argument(std::string(op) + ": layout must be 0 or 1, got " +
                            std::to_string(out->layout));
  out->clip = node.get_float("clip", 0.0f);
  if (node.has("clip") && !(out->clip > 0))
    return invalid_argument(std::string(op) + ": clip must be positive");

  std::vector<std::string> names = node.get_strings("activations");
  const size_t per_dir = defaults.size();
  const size_t want = per_dir * static_cast<size_t>(out->num_directions);
  if (names.empty()) {
    for (int d = 0; d < out->num_directions; ++d)
      names.insert(names.end(), defaults.begin(), defaults.end());
  } else if (names.size() == per_dir && out->num_directions == 2) {
    // Some exporters give one set for both directions.
    names.insert(names.end(), names.begin(), names.end());
  } else if (names.size() != want) {
    return invalid_argument(std::string(op) + ": expected " + std::to_string(want) +
                            " activations, got " + std::to_string(names.size()));
  }
  const std::vector<float> alphas = node.get_floats("activation_alpha");
  const std::vector<float> betas = node.get_floats("activation_beta");
  size_t ai = 0, bi = 0;
  out->activations.clear();
  for (const auto& name : names) {
    const std::string l = lower(name);
    const ActInfo* info = nullptr;
    for (const auto& a : kActs)
      if (l == a.name) info = &a;
    if (!info) return unimplemented(std::string(op) + ": unsupported activation '" + name + "'");
    Activation act{info->kind, info->default_alpha, info->default_beta};
    // alpha/beta lists are consumed in order by the functions that take them.
    if (info->uses_alpha && ai < alphas.size()) act.alpha = alphas[ai++];
    if (info->uses_beta && bi < betas.size()) act.beta = betas[bi++];
    out->activations.push_back(act);
  }
  return Status::ok();
}

template <class T>
void apply_activation(const Activation& act, T* x, int64_t n) {
  const T alpha = static_cast<T>(act.alpha), beta = static_cast<T>(act.beta);
  switch (act.kind) {
    case ActKind::kSigmoid:
      for (int64_t i = 0; i < n; ++i) {
        // Split by sign so exp never overflows.
        const T v = x[i];
        if (v >= 0) {
          x[i] = T(1) / (T(1) + std::exp(-v));
        } else {
          const T e = std::exp(v);
          x[i] = e / (T(1) + e);
        }
      }
      break;
    case ActKind::kTanh:
      for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
      break;
    case ActKind::kRelu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : T(0);
      break;
    case ActKind::kAffine:
      for (int64_t i = 0; i < n; ++i) x[i] = alpha * x[i] + beta;
      break;
    case ActKind::kLeakyRelu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= 0 ? x[i] : alpha * x[i];
      break;
    case ActKind::kThresholdedRelu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > alpha ? x[i] : T(0);
      break;
    case ActKind::kScaledTanh:
      for (int64_t i = 0; i < n; ++i) x[i] = alpha * std::tanh(beta * x[i]);
      break;
    case ActKind::kHardSigmoid:
      for (int64_t i = 0; i < n; ++i) x[i] = std::min(T(1), std::max(T(0), alpha * x[i] + beta));
      break;
    case ActKind::kElu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= 0 ? x[i] : alpha * (std::exp(x[i]) - T(1));
      break;
    case ActKind::kSoftsign:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (T(1) + std::abs(x[i]));
      break;
    case ActKind::kSoftplus:
      for (int64_t i = 0; i < n; ++i) {
        const T v = x[i];  // log(1 + e^v) without overflow
        x[i] = v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
      }
      break;
  }
}

template <class T>
void apply_clip(T* x, int64_t n, float clip) {
  if (!(clip > 0)) return;
  const T c = static_cast<T>(clip);
  for (int64_t i = 0; i < n; ++i) x[i] = std::min(c, std::max(-c, x[i]));
}

template void apply_activation<float>(const Activation&, float*, int64_t);
template void apply_activation<double>(const Activation&, double*, int64_t);
template void apply_clip<float>(float*, int64_t, float);
template void apply_clip<double>(double*, int64_t, float);

namespace {

// Reads an optional [dirs, batch, hidden] state, converting layout 1 ([batch, dirs, hidden]).
Status read_state(const Tensor* t, const char* op, const char* name, int64_t dirs, int64_t batch,
                  int64_t hidden, int64_t layout, DataType dtype, Tensor* out) {
  if (!t) return Status::ok();
  const Shape want = layout == 0 ? Shape{dirs, batch, hidden} : Shape{batch, dirs, hidden};
  if (t->shape() != want)
    return invalid_argument(std::string(op) + ": " + name + " must have shape " +
                            shape_to_string(want) + ", got " + shape_to_string(t->shape()));
  if (t->dtype() != dtype)
    return invalid_argument(std::string(op) + ": " + name + " must have the element type of X");
  if (layout == 0) {
    *out = *t;
    return Status::ok();
  }
  *out = Tensor::create(dtype, {dirs, batch, hidden});
  const size_t es = dtype_size(dtype);
  const char* src = static_cast<const char*>(t->raw());
  char* dst = static_cast<char*>(out->raw());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t d = 0; d < dirs; ++d)
      std::memcpy(dst + ((d * batch + b) * hidden) * es, src + ((b * dirs + d) * hidden) * es,
                  static_cast<size_t>(hidden) * es);
  return Status::ok();
}

}  // namespace

Status read_inputs(const KernelContext& ctx, const char* op, const RnnAttributes& attrs,
                   int64_t gates, bool is_lstm, RnnInputs* out) {
  const std::string o(op);
  const Tensor* x = ctx.input(0);
  const Tensor* w = ctx.input(1);
  const Tensor* r = ctx.input(2);
  if (!x || !w || !r) return invalid_argument(o + ": inputs X, W and R are required");
  const DataType dt = x->dtype();
  if (dt != DataType::kFloat && dt != DataType::kDouble)
    return unimplemented(o + ": element type " + dtype_name(dt) + " is not supported");
  if (w->dtype() != dt || r->dtype() != dt)
    return invalid_argument(o + ": W and R must have the element type of X");
  if (x->rank() != 3)
    return invalid_argument(o + ": X must have rank 3, got " + shape_to_string(x->shape()));
  if (w->rank() != 3 || r->rank() != 3)
    return invalid_argument(o + ": W and R must have rank 3, got " + shape_to_string(w->shape()) +
                            " and " + shape_to_string(r->shape()));
  const int64_t dirs = attrs.num_directions;
  const int64_t hidden = attrs.hidden_size > 0 ? attrs.hidden_size : r->dim(2);
  if (hidden <= 0) return invalid_argument(o + ": hidden size must be positive");
  const int64_t seq = attrs.layout == 0 ? x->dim(0) : x->dim(1);
  const int64_t batch = attrs.layout == 0 ? x->dim(1) : x->dim(0);
  const int64_t input = x->dim(2);
  if (w->shape() != Shape{dirs, gates * hidden, input})
    return invalid_argument(o + ": W must have shape " +
                            shape_to_string({dirs, gates * hidden, input}) + ", got " +
                            shape_to_string(w->shape()));
  if (r->shape() != Shape{dirs, gates * hidden, hidden})
    return invalid_argument(o + ": R must have shape " +
                            shape_to_string({dirs, gates * hidden, hidden}) + ", got " +
                            shape_to_string(r->shape()));
  const Tensor* b = ctx.input(3);
  if (b) {
    if (b->shape() != Shape{dirs, 2 * gates * hidden})
      return invalid_argument(o + ": B must have shape " +
                              shape_to_string({dirs, 2 * gates * hidden}) + ", got " +
                              shape_to_string(b->shape()));
    if (b->dtype() != dt) return invalid_argument(o + ": B must have the element type of X");
  }
  out->seq_length = seq;
  out->batch = batch;
  out->input_size = input;
  out->hidden = hidden;
  out->w = w;
  out->r = r;
  out->b = b;

  out->seq_lens.assign(static_cast<size_t>(batch), seq);
  if (const Tensor* sl = ctx.input(4)) {
    if (sl->rank() != 1 || sl->dim(0) != batch)
      return invalid_argument(o + ": sequence_lens must have shape [" + std::to_string(batch) +
                              "], got " + shape_to_string(sl->shape()));
    NALAR_ASSIGN_OR_RETURN(out->seq_lens, read_int64s(*sl, "sequence_lens"));
    for (int64_t v : out->seq_lens)
      if (v < 0 || v > seq)
        return invalid_argument(o + ": sequence_lens value " + std::to_string(v) +
                                " is outside [0, " + std::to_string(seq) + "]");
  }
  NALAR_RETURN_IF_ERROR(read_state(ctx.input(5), op, "initial_h", dirs, batch, hidden, attrs.layout,
                                   dt, &out->initial_h));
  if (is_lstm) {
    NALAR_RETURN_IF_ERROR(read_state(ctx.input(6), op, "initial_c", dirs, batch, hidden,
                                     attrs.layout, dt, &out->initial_c));
    out->p = ctx.input(7);
    if (out->p) {
      if (out->p->shape() != Shape{dirs, 3 * hidden})
        return invalid_argument(o + ": P must have shape " + shape_to_string({dirs, 3 * hidden}) +
                                ", got " + shape_to_string(out->p->shape()));
      if (out->p->dtype() != dt) return invalid_argument(o + ": P must have the element type of X");
    }
  }

  if (attrs.layout == 0) {
    out->x = *x;
  } else {  // [batch, seq, input] -> [seq, batch, input]
    out->x = Tensor::create(dt, {seq, batch, input});
    const size_t es = dtype_size(dt);
    const char* src = static_cast<const char*>(x->raw());
    char* dst = static_cast<char*>(out->x.raw());
    for (int64_t bi = 0; bi < batch; ++bi)
      for (int64_t t = 0; t < seq; ++t)
        std::memcpy(dst + ((t * batch + bi) * input) * es, src + ((bi * seq + t) * input) * es,
                    static_cast<size_t>(input) * es);
  }
  return Status::ok();
}

template <>
void gemm_nt<float>(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  dnnl::sgemm('N', 'T', m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
}

template <>
void gemm_nt<double>(int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b,
                     int64_t ldb, double* c, int64_t ldc, bool accumulate) {
  // Double is rare here (conformance only); a plain dot-product loop is enough.
  parallel_for(m * n, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t i = idx / n, j = idx % n;
      const double* ar = a + i * lda;
      const double* br = b + j * ldb;
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += ar[p] * br[p];
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
    }
  });
}

template <class T>
void recurrent_gemm(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* r,
                    int64_t ldr, const T* rt, int64_t ldrt, T* c, int64_t ldc) {
  constexpr int64_t kSerialLimit = int64_t{1} << 22;  // multiply-adds
  if (m * n * k > kSerialLimit) {
    gemm_nt<T>(m, n, k, a, lda, r, ldr, c, ldc, false);
    return;
  }
  for (int64_t i = 0; i < m; ++i) {
    T* __restrict ci = c + i * ldc;
    const T* ai = a + i * lda;
    std::fill(ci, ci + n, T(0));
    for (int64_t p = 0; p < k; ++p) {
      const T av = ai[p];
      const T* __restrict row = rt + p * ldrt;
      for (int64_t j = 0; j < n; ++j) ci[j] += av * row[j];
    }
  }
}

template <class T>
void transpose(const T* src, int64_t rows, int64_t cols, T* dst) {
  constexpr int64_t kBlock = 32;
  for (int64_t i0 = 0; i0 < rows; i0 += kBlock)
    for (int64_t j0 = 0; j0 < cols; j0 += kBlock)
      for (int64_t i = i0; i < std::min(rows, i0 + kBlock); ++i)
        for (int64_t j = j0; j < std::min(cols, j0 + kBlock); ++j)
          dst[j * rows + i] = src[i * cols + j];
}

template void recurrent_gemm<float>(int64_t, int64_t, int64_t, const float*, int64_t, const float*,
                                    int64_t, const float*, int64_t, float*, int64_t);
template void recurrent_gemm<double>(int64_t, int64_t, int64_t, const double*, int64_t,
                                     const double*, int64_t, const double*, int64_t, double*,
                                     int64_t);
template void transpose<float>(const float*, int64_t, int64_t, float*);
template void transpose<double>(const double*, int64_t, int64_t, double*);

Tensor transpose_recurrent(const Tensor* r) {
  if (!r || r->rank() != 3) return Tensor();
  const int64_t dirs = r->dim(0), rows = r->dim(1), cols = r->dim(2);
  Tensor out = Tensor::create(r->dtype(), {dirs, cols, rows});
  if (r->dtype() == DataType::kFloat) {
    for (int64_t d = 0; d < dirs; ++d)
      transpose(r->data<float>() + d * rows * cols, rows, cols,
                out.data<float>() + d * rows * cols);
  } else if (r->dtype() == DataType::kDouble) {
    for (int64_t d = 0; d < dirs; ++d)
      transpose(r->data<double>() + d * rows * cols, rows, cols,
                out.data<double>() + d * rows * cols);
  } else {
    return Tensor();
  }
  return out;
}

Tensor finish_y(const Tensor& y, int64_t layout) {
  if (layout == 0) return y;
  const int64_t seq = y.dim(0), dirs = y.dim(1), batch = y.dim(2), hidden = y.dim(3);
  Tensor out = Tensor::create(y.dtype(), {batch, seq, dirs, hidden});
  const size_t es = dtype_size(y.dtype());
  const char* src = static_cast<const char*>(y.raw());
  char* dst = static_cast<char*>(out.raw());
  for (int64_t t = 0; t < seq; ++t)
    for (int64_t d = 0; d < dirs; ++d)
      for (int64_t b = 0; b < batch; ++b)
        std::memcpy(dst + (((b * seq + t) * dirs + d) * hidden) * es,
                    src + (((t * dirs + d) * batch + b) * hidden) * es,
                    static_cast<size_t>(hidden) * es);
  return out;
}

Tensor finish_state(const Tensor& h, int64_t layout) {
  if (layout == 0) return h;
  const int64_t dirs = h.dim(0), batch = h.dim(1), hidden = h.dim(2);
  Tensor out = Tensor::create(h.dtype(), {batch, dirs, hidden});
  const size_t es = dtype_size(h.dtype());
  const char* src = static_cast<const char*>(h.raw());
  char* dst = static_cast<char*>(out.raw());
  for (int64_t d = 0; d < dirs; ++d)
    for (int64_t b = 0; b < batch; ++b)
      std::memcpy(dst + ((b * dirs + d) * hidden) * es, src + ((d * batch + b) * hidden) * es,
                  static_cast<size_t>(hidden) * es);
  return out;
}

}  // namespace nalar::rnn
