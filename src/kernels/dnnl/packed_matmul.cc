#include "kernels/dnnl/packed_matmul.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "kernels/common.h"

namespace nalar {

using dnnl::memory;
using dnnl_util::dt;

struct PackedMatmul::Prim {
  dnnl::matmul prim;
  memory::desc src_md, dst_md, bias_md;
  dnnl::reorder to_bf16;  // bf16: A f32 -> bf16
};

namespace {

dt weights_type(Precision p) {
  return p == Precision::kBf16 ? dt::bf16 : p == Precision::kInt8 ? dt::s8 : dt::f32;
}
dt src_type(Precision p) {
  return p == Precision::kBf16 ? dt::bf16 : p == Precision::kInt8 ? dt::u8 : dt::f32;
}

// Below this many elements of A, conversions run inline on the calling thread: a thread team
// or a oneDNN reorder call costs more than the work (the tabular MLP's layers).
constexpr int64_t kSmall = int64_t{1} << 15;

// min and max of x[0..n), 0 included (so zero stays exactly representable).
void value_range(const float* x, int64_t n, float& lo, float& hi) {
  const int chunks = omp_in_parallel() || n < kSmall ? 1 : std::max(1, omp_get_max_threads());
  std::vector<float> los(static_cast<size_t>(chunks), 0.0f), his(static_cast<size_t>(chunks), 0.0f);
  const int64_t per = (n + chunks - 1) / chunks;
  parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      float l = 0.0f, h = 0.0f;
      const int64_t e = std::min(n, (c + 1) * per);
      for (int64_t i = c * per; i < e; ++i) {
        l = std::min(l, x[i]);
        h = std::max(h, x[i]);
      }
      los[static_cast<size_t>(c)] = l;
      his[static_cast<size_t>(c)] = h;
    }
  });
  lo = *std::min_element(los.begin(), los.end());
  hi = *std::max_element(his.begin(), his.end());
}

// float -> bfloat16, rounding to nearest even (NaN stays NaN).
void to_bf16(const float* x, int64_t n, uint16_t* y) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, &x[i], sizeof u);
    y[i] = std::isnan(x[i]) ? uint16_t{0x7fc0}
                            : static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
}

}  // namespace

Status PackedMatmul::init(const Tensor& w, bool trans, Precision precision, float alpha,
                          bool gelu) {
  if (w.dtype() != DataType::kFloat || w.rank() != 2)
    return invalid_argument("packed matmul: weights must be a float matrix, got " +
                            shape_to_string(w.shape()));
  precision_ = precision;
  alpha_ = alpha;
  gelu_ = gelu;
  k_ = trans ? w.dim(1) : w.dim(0);
  n_ = trans ? w.dim(0) : w.dim(1);
  if (k_ == 0 || n_ == 0) return invalid_argument("packed matmul: empty weights");
  return dnnl_util::guard("packed matmul", [&]() -> Status {
    // The layout oneDNN wants for W does not depend on M here (checked for M 1..4096), so one
    // representative primitive picks it and every shape later shares the packed copy.
    const memory::desc any({k_, n_}, weights_type(precision_), memory::format_tag::any);
    dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(dnnl_util::plain_md({1, k_}, src_type(precision_)), any,
                           dnnl_util::plain_md({1, n_})),
        attr(false), dnnl_util::engine());
    packed_ = memory(pd.weights_desc(), dnnl_util::engine());
    const memory::desc user =
        trans ? memory::desc({k_, n_}, dt::f32, {1, k_}) : dnnl_util::plain_md({k_, n_});
    if (precision_ != Precision::kInt8) {
      dnnl_util::reorder(dnnl_util::wrap(user, w.raw()), packed_);
      return Status::ok();
    }
    // Symmetric per-column int8: q = round(w / s[j]), s[j] = max_k |w[k,j]| / 127.
    const float* wp = w.data<float>();
    auto at = [&](int64_t r, int64_t c) { return trans ? wp[c * k_ + r] : wp[r * n_ + c]; };
    std::vector<float> col_max(static_cast<size_t>(n_), 0.0f);
    for (int64_t r = 0; r < k_; ++r)
      for (int64_t c = 0; c < n_; ++c)
        col_max[static_cast<size_t>(c)] =
            std::max(col_max[static_cast<size_t>(c)], std::abs(at(r, c)));
    std::vector<int8_t> q(static_cast<size_t>(k_ * n_));
    scales_.assign(static_cast<size_t>(n_), 0.0f);
    for (int64_t c = 0; c < n_; ++c) {
      const float s = col_max[static_cast<size_t>(c)] / 127.0f;
      scales_[static_cast<size_t>(c)] = s * alpha_;
      const float inv = s > 0.0f ? 1.0f / s : 0.0f;
      for (int64_t r = 0; r < k_; ++r)
        q[static_cast<size_t>(r * n_ + c)] =
            static_cast<int8_t>(std::clamp(std::nearbyint(at(r, c) * inv), -127.0f, 127.0f));
    }
    dnnl_util::reorder(dnnl_util::wrap(dnnl_util::plain_md({k_, n_}, dt::s8), q.data()), packed_);
    return Status::ok();
  });
}

dnnl::primitive_attr PackedMatmul::attr(bool bias) const {
  dnnl::primitive_attr a = dnnl_util::user_scratch_attr();
  dnnl::post_ops ops;
  if (precision_ == Precision::kInt8) {
    // acc = sum (qa - zp) * qw; y = acc * s_w[j] (output scale) * s_a (runtime, post-op 0)
    // [+ bias (post-op 1)]. The zero point's compensation is oneDNN's, from the packed W.
    std::vector<float> s =
        scales_.empty() ? std::vector<float>(static_cast<size_t>(n_), 1.0f) : scales_;
    a.set_output_scales(1 << 1, s);
    a.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    ops.append_binary(dnnl::algorithm::binary_mul, dnnl_util::plain_md({1, 1}));
    if (bias) ops.append_binary(dnnl::algorithm::binary_add, dnnl_util::plain_md({1, n_}));
  } else if (alpha_ != 1.0f) {
    a.set_output_scales(0, {alpha_});
  }
  if (gelu_) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
  a.set_post_ops(ops);
  return a;
}

std::shared_ptr<const PackedMatmul::Prim> PackedMatmul::get(int64_t rows, bool bias) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find({rows, bias});
  if (it != cache_.end()) return it->second;
  auto p = std::make_shared<Prim>();
  p->src_md = dnnl_util::plain_md({rows, k_}, src_type(precision_));
  p->dst_md = dnnl_util::plain_md({rows, n_});
  p->bias_md = dnnl_util::plain_md({1, n_});
  const bool native_bias = bias && precision_ != Precision::kInt8;
  auto desc = native_bias ? dnnl::matmul::desc(p->src_md, packed_.get_desc(), p->bias_md, p->dst_md)
                          : dnnl::matmul::desc(p->src_md, packed_.get_desc(), p->dst_md);
  dnnl::matmul::primitive_desc pd(desc, attr(bias), dnnl_util::engine());
  p->prim = dnnl::matmul(pd);
  if (precision_ == Precision::kBf16)
    p->to_bf16 = dnnl::reorder(dnnl::reorder::primitive_desc(
        dnnl_util::engine(), dnnl_util::plain_md({rows, k_}), dnnl_util::engine(), p->src_md,
        dnnl_util::user_scratch_attr()));
  if (cache_.size() >= dnnl_util::kMaxShapesPerKernel) cache_.clear();
  cache_.emplace(std::make_pair(rows, bias), p);
  return p;
}

Status PackedMatmul::run(const float* a, int64_t rows, const float* bias, float* y) const {
  if (rows == 0) return Status::ok();
  return dnnl_util::guard("packed matmul", [&]() -> Status {
    auto p = get(rows, bias != nullptr);
    std::unordered_map<int, memory> args{{DNNL_ARG_WEIGHTS, packed_},
                                         {DNNL_ARG_DST, dnnl_util::wrap(p->dst_md, y)}};
    const int64_t count = rows * k_;
    if (precision_ == Precision::kFp32) {
      args.emplace(DNNL_ARG_SRC, dnnl_util::wrap(p->src_md, a));
      if (bias) args.emplace(DNNL_ARG_BIAS, dnnl_util::wrap(p->bias_md, bias));
      dnnl_util::execute(p->prim, std::move(args));
      return Status::ok();
    }
    void* low = dnnl_util::scratch(
        dnnl_util::kSrc, static_cast<size_t>(count) * (precision_ == Precision::kBf16 ? 2 : 1));
    if (precision_ == Precision::kBf16) {
      memory src = dnnl_util::wrap(p->src_md, low);
      if (count < kSmall)
        to_bf16(a, count, static_cast<uint16_t*>(low));
      else
        dnnl_util::execute(p->to_bf16,
                           {{DNNL_ARG_FROM, dnnl_util::wrap(dnnl_util::plain_md({rows, k_}), a)},
                            {DNNL_ARG_TO, src}});
      args.emplace(DNNL_ARG_SRC, src);
      if (bias) args.emplace(DNNL_ARG_BIAS, dnnl_util::wrap(p->bias_md, bias));
      dnnl_util::execute(p->prim, std::move(args));
      return Status::ok();
    }
    // Dynamic u8 quantisation of A over its whole range: a = s * (q - zp).
    float lo = 0.0f, hi = 0.0f;
    value_range(a, count, lo, hi);
    float s = (hi - lo) / 255.0f;
    if (!(s > 0.0f) || !std::isfinite(s)) s = 1.0f;
    const float inv = 1.0f / s;
    int32_t zp = static_cast<int32_t>(std::clamp(std::nearbyint(-lo * inv), 0.0f, 255.0f));
    const float zpf = static_cast<float>(zp);
    uint8_t* q = static_cast<uint8_t*>(low);
    parallel_for(count, kSmall / 2, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        q[i] = static_cast<uint8_t>(std::clamp(std::nearbyint(a[i] * inv) + zpf, 0.0f, 255.0f));
    });
    args.emplace(DNNL_ARG_SRC, dnnl_util::wrap(p->src_md, q));
    args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC,
                 dnnl_util::wrap(dnnl_util::plain_md({1}, dt::s32), &zp));
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                 dnnl_util::wrap(dnnl_util::plain_md({1, 1}), &s));
    if (bias)
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1,
                   dnnl_util::wrap(dnnl_util::plain_md({1, n_}), bias));
    dnnl_util::execute(p->prim, std::move(args));
    return Status::ok();
  });
}

}  // namespace nalar
