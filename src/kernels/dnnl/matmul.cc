// MatMul (numpy batch broadcasting, 1-D operands) and Gemm (transA/transB, alpha, beta, C
// broadcast). float32 runs on oneDNN's matmul with constant B packed once per shape; other
// numeric types use a direct loop.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/dnnl/dnnl_context.h"
#include "kernels/dnnl/packed_matmul.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

using dnnl::memory;
using dnnl_util::dims;

struct MatmulPrimitive {
  dnnl::matmul prim;
  memory::desc src_md, wei_user, wei_md, dst_md, bias_md;
  bool has_bias = false;
  memory packed_wei;

  void run(const void* a, const void* b, const void* bias, void* y) const {
    using namespace dnnl_util;
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, wrap(src_md, a)},
        {DNNL_ARG_WEIGHTS, packed_wei ? packed_wei : wrap(wei_md, b)},
        {DNNL_ARG_DST, wrap(dst_md, y)}};
    if (has_bias) args.emplace(DNNL_ARG_BIAS, wrap(bias_md, bias));
    execute(prim, std::move(args));
  }
};

// Builds a matmul; when `const_b` is set the weights use the primitive's preferred layout and
// are packed from it once. `shared` holds weights packed for an earlier shape of the same
// kernel: reused when this shape's primitive accepts their layout, set when empty.
std::shared_ptr<const MatmulPrimitive> make_matmul(const memory::desc& src, const memory::desc& wei,
                                                   const memory::desc& dst,
                                                   const memory::desc* bias, float alpha,
                                                   const void* const_b, memory* shared,
                                                   bool gelu = false) {
  auto p = std::make_shared<MatmulPrimitive>();
  p->src_md = src;
  p->wei_user = wei;
  p->dst_md = dst;
  dnnl::primitive_attr attr = dnnl_util::user_scratch_attr();
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (gelu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  if (bias) {
    p->has_bias = true;
    p->bias_md = *bias;
  }
  auto make_pd = [&](const memory::desc& w) {
    auto desc = bias ? dnnl::matmul::desc(src, w, *bias, dst) : dnnl::matmul::desc(src, w, dst);
    return dnnl::matmul::primitive_desc(desc, attr, dnnl_util::engine());
  };
  if (const_b && shared && *shared) {
    try {
      auto pd = make_pd(shared->get_desc());
      if (std::string(pd.impl_info_str()).rfind("ref", 0) != 0) {
        p->prim = dnnl::matmul(pd);
        p->wei_md = pd.weights_desc();
        p->packed_wei = *shared;
        return p;
      }
    } catch (const dnnl::error&) {
      // this shape wants another layout: pack again below
    }
  }
  auto pd = make_pd(
      const_b ? memory::desc(wei.dims(), memory::data_type::f32, memory::format_tag::any) : wei);
  p->prim = dnnl::matmul(pd);
  p->wei_md = pd.weights_desc();
  if (const_b) {
    p->packed_wei = memory(p->wei_md, dnnl_util::engine());
    dnnl_util::reorder(dnnl_util::wrap(wei, const_b), p->packed_wei);
    if (shared && !*shared) *shared = p->packed_wei;
  }
  return p;
}

class MatmulCache {
 public:
  template <class Make>
  std::shared_ptr<const MatmulPrimitive> get(const std::vector<int64_t>& key, Make&& make) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) return it->second;
    auto p = make(&shared_weights_);  // under the lock, like every use of shared_weights_
    if (map_.size() >= dnnl_util::kMaxShapesPerKernel) map_.clear();  // bound memory
    map_.emplace(key, p);
    return p;
  }

 private:
  mutable std::mutex mu_;
  mutable std::map<std::vector<int64_t>, std::shared_ptr<const MatmulPrimitive>> map_;
  mutable memory shared_weights_;  // packed constant B, shared by every shape that accepts it
};

// Packs constant float matrix `w` into `packed` for the session's precision; false (and the
// kernel keeps its general path) when it cannot.
bool try_pack(PackedMatmul& packed, const Tensor* w, bool trans, const KernelConfig& cfg,
              float alpha, bool gelu) {
  if (!w || w->dtype() != DataType::kFloat || w->rank() != 2 || w->size() == 0) return false;
  return packed.init(*w, trans, cfg.precision, alpha, gelu).is_ok();
}

class MatMulKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    packed_ready_ = try_pack(packed_, cfg.constant(1), false, cfg, 1.0f, false);
    if (!packed_ready_)
      if (const Tensor* b = cfg.constant(1)) const_b_ = *b;
    return Status::ok();
  }

  bool releases_constant_input(size_t i) const override { return i == 1 && packed_ready_; }

  Status compute(KernelContext& ctx) const override {
    const Tensor* a = ctx.input(0);
    if (packed_ready_) return compute_packed(a, ctx.output(0));
    const Tensor* b = ctx.input(1);
    if (!a || !b) return invalid_argument("MatMul: missing input");
    if (a->dtype() != b->dtype()) return invalid_argument("MatMul: A and B differ in type");
    if (a->rank() < 1 || b->rank() < 1)
      return invalid_argument("MatMul: operands must have rank >= 1");
    // Promote 1-D operands to matrices; the added dim is dropped from the result.
    Shape as = a->shape(), bs = b->shape();
    const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
    if (a_vec) as.insert(as.begin(), 1);
    if (b_vec) bs.push_back(1);
    const int64_t m = as[as.size() - 2], k = as.back(), k2 = bs[bs.size() - 2], n = bs.back();
    if (k != k2)
      return invalid_argument("MatMul: inner dimensions differ: " + shape_to_string(a->shape()) +
                              " x " + shape_to_string(b->shape()));
    Shape abatch(as.begin(), as.end() - 2), bbatch(bs.begin(), bs.end() - 2);
    NALAR_ASSIGN_OR_RETURN(Shape batch, broadcast_shapes(abatch, bbatch, "MatMul"));
    Shape out = batch;
    if (!a_vec) out.push_back(m);
    if (!b_vec) out.push_back(n);
    Shape full = batch;
    full.push_back(m);
    full.push_back(n);
    Tensor& y = ctx.output(0);
    y = k == 0 ? Tensor::create(a->dtype(), out) : Tensor::empty(a->dtype(), out);
    if (y.size() == 0 || k == 0) return Status::ok();  // an empty sum is 0

    const size_t rank = full.size();
    if (a->dtype() == DataType::kFloat && rank <= DNNL_MAX_NDIMS) {
      return dnnl_util::guard("MatMul", [&]() -> Status {
        const bool packed = const_b_.defined() && const_b_.raw() == b->raw();
        std::vector<int64_t> key = as;
        key.push_back(-1);
        key.insert(key.end(), bs.begin(), bs.end());
        key.push_back(packed);
        auto prim = cache_.get(key, [&](memory* shared) {
          if (bbatch.empty() || shape_size(bbatch) == 1) {
            // B is one matrix: fold A's batch into its rows (one big GEMM).
            const int64_t rows = shape_size(abatch) * m;
            return make_matmul(dnnl_util::plain_md({rows, k}), dnnl_util::plain_md({k, n}),
                               dnnl_util::plain_md({rows, n}), nullptr, 1.0f,
                               packed ? b->raw() : nullptr, shared);
          }
          dims ad(rank, 1), bd(rank, 1), yd(full.begin(), full.end());
          std::copy(as.begin(), as.end(), ad.end() - static_cast<int64_t>(as.size()));
          std::copy(bs.begin(), bs.end(), bd.end() - static_cast<int64_t>(bs.size()));
          return make_matmul(dnnl_util::plain_md(ad), dnnl_util::plain_md(bd),
                             dnnl_util::plain_md(yd), nullptr, 1.0f, nullptr, nullptr);
        });
        prim->run(a->raw(), b->raw(), nullptr, y.raw());
        return Status::ok();
      });
    }
    return dispatch_numeric(a->dtype(), "MatMul", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      using Acc =
          std::conditional_t<std::is_floating_point_v<T> || std::is_same_v<T, Float16> ||
                                 std::is_same_v<T, BFloat16>,
                             std::conditional_t<std::is_same_v<T, double>, double, float>, T>;
      Shape ab = abatch, bb = bbatch;
      auto sa = broadcast_strides(ab, batch), sb = broadcast_strides(bb, batch);
      const int64_t nb = shape_size(batch);
      const T* ap = a->data<T>();
      const T* bp = b->data<T>();
      T* yp = y.data<T>();
      parallel_for(nb * m, 16, [&](int64_t begin, int64_t end) {
        std::vector<int64_t> idx(batch.size());
        for (int64_t bi_m = begin; bi_m < end; ++bi_m) {
          const int64_t bi = bi_m / m, i = bi_m % m;
          int64_t rem = bi, ao = 0, bo = 0;
          for (size_t d = batch.size(); d-- > 0;) {
            const int64_t v = rem % batch[d];
            rem /= batch[d];
            ao += v * sa[d];
            bo += v * sb[d];
          }
          const T* arow = ap + ao * m * k + i * k;
          const T* bmat = bp + bo * k * n;
          T* yrow = yp + bi_m * n;
          for (int64_t j = 0; j < n; ++j) {
            Acc acc{};
            for (int64_t t = 0; t < k; ++t)
              acc += static_cast<Acc>(arow[t]) * static_cast<Acc>(bmat[t * n + j]);
            yrow[j] = static_cast<T>(acc);
          }
        }
      });
      return Status::ok();
    });
  }

 private:
  // A x B with B the packed constant [K,N]: A's leading dims fold into the GEMM's rows.
  Status compute_packed(const Tensor* a, Tensor& y) const {
    const int64_t k = packed_.k(), n = packed_.n();
    if (!a || a->dtype() != DataType::kFloat || a->rank() < 1)
      return invalid_argument("MatMul: A must be a float tensor of rank >= 1 (B is float)");
    if (a->shape().back() != k)
      return invalid_argument("MatMul: inner dimensions differ: " + shape_to_string(a->shape()) +
                              " x [" + std::to_string(k) + "," + std::to_string(n) + "]");
    Shape out(a->shape().begin(), a->shape().end() - 1);
    out.push_back(n);
    y = Tensor::empty(DataType::kFloat, out);
    if (y.size() == 0) return Status::ok();
    return packed_.run(a->data<float>(), a->size() / k, nullptr, y.data<float>());
  }

  Tensor const_b_;
  MatmulCache cache_;
  PackedMatmul packed_;
  bool packed_ready_ = false;
};

class GemmKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    alpha_ = cfg.node.get_float("alpha", 1.0f);
    beta_ = cfg.node.get_float("beta", 1.0f);
    trans_a_ = cfg.node.get_int("transA", 0) != 0;
    trans_b_ = cfg.node.get_int("transB", 0) != 0;
    packed_ready_ = !trans_a_ && try_pack(packed_, cfg.constant(1), trans_b_, cfg, alpha_, false);
    if (!packed_ready_)
      if (const Tensor* b = cfg.constant(1)) const_b_ = *b;
    return Status::ok();
  }

  bool releases_constant_input(size_t i) const override { return i == 1 && packed_ready_; }

  Status compute(KernelContext& ctx) const override {
    const Tensor* a = ctx.input(0);
    const Tensor* b = packed_ready_ ? nullptr : ctx.input(1);
    const Tensor* c = ctx.input(2);
    if (!a || (!b && !packed_ready_)) return invalid_argument("Gemm: missing input");
    if (a->rank() != 2 || (b && b->rank() != 2))
      return invalid_argument("Gemm: A and B must be matrices, got " + shape_to_string(a->shape()) +
                              (b ? " and " + shape_to_string(b->shape()) : std::string()));
    const DataType b_type = b ? b->dtype() : DataType::kFloat;
    if (a->dtype() != b_type || (c && c->dtype() != a->dtype()))
      return invalid_argument("Gemm: A, B and C must share one element type");
    const int64_t m = trans_a_ ? a->dim(1) : a->dim(0), k = trans_a_ ? a->dim(0) : a->dim(1);
    const int64_t kb = !b ? packed_.k() : trans_b_ ? b->dim(1) : b->dim(0);
    const int64_t n = !b ? packed_.n() : trans_b_ ? b->dim(0) : b->dim(1);
    if (k != kb)
      return invalid_argument("Gemm: inner dimensions differ: " + shape_to_string(a->shape()) +
                              " x " +
                              (b ? shape_to_string(b->shape()) : std::to_string(kb) + " rows"));
    std::vector<int64_t> c_strides;
    if (c) {
      if (c->rank() > 2) return invalid_argument("Gemm: C must have rank <= 2");
      NALAR_ASSIGN_OR_RETURN(Shape cs, broadcast_shapes(c->shape(), {m, n}, "Gemm"));
      if (cs != Shape{m, n})
        return invalid_argument("Gemm: C " + shape_to_string(c->shape()) +
                                " does not broadcast to [" + std::to_string(m) + "," +
                                std::to_string(n) + "]");
      c_strides = broadcast_strides(c->shape(), {m, n});
    }
    Tensor& y = ctx.output(0);
    y = k == 0 ? Tensor::create(a->dtype(), {m, n}) : Tensor::empty(a->dtype(), {m, n});
    if (y.size() == 0) return Status::ok();
    const bool use_c = c && beta_ != 0.0f && c->size() > 0;

    if (a->dtype() == DataType::kFloat) {
      // C joins as the matmul bias when it is a row vector and no scaling is involved.
      const bool c_as_bias = use_c && alpha_ == 1.0f && beta_ == 1.0f && c_strides[0] == 0 &&
                             (c->size() == n || n == 1);
      if (k == 0) {
        if (!use_c) return Status::ok();
      } else {
        Status st = dnnl_util::guard("Gemm", [&]() -> Status {
          if (packed_ready_) {
            std::vector<float> bias_buf;
            const float* bias_ptr = nullptr;
            if (c_as_bias) {
              if (c->size() != n) bias_buf.assign(static_cast<size_t>(n), c->data<float>()[0]);
              bias_ptr = c->size() == n ? c->data<float>() : bias_buf.data();
            }
            return packed_.run(a->data<float>(), m, bias_ptr, y.data<float>());
          }
          const bool packed = const_b_.defined() && const_b_.raw() == b->raw();
          std::vector<int64_t> key{m, k, n, packed, c_as_bias};
          auto prim = cache_.get(key, [&](memory* shared) {
            memory::desc src = trans_a_ ? memory::desc({m, k}, memory::data_type::f32, {1, m})
                                        : dnnl_util::plain_md({m, k});
            memory::desc wei = trans_b_ ? memory::desc({k, n}, memory::data_type::f32, {1, k})
                                        : dnnl_util::plain_md({k, n});
            memory::desc bias = dnnl_util::plain_md({1, n});
            return make_matmul(src, wei, dnnl_util::plain_md({m, n}), c_as_bias ? &bias : nullptr,
                               alpha_, packed ? b->raw() : nullptr, shared);
          });
          std::vector<float> bias_buf;
          const void* bias_ptr = nullptr;
          if (c_as_bias) {
            if (c->size() == n) {
              bias_ptr = c->raw();
            } else {
              bias_buf.assign(static_cast<size_t>(n), c->data<float>()[0]);
              bias_ptr = bias_buf.data();
            }
          }
          prim->run(a->raw(), b->raw(), bias_ptr, y.raw());
          return Status::ok();
        });
        NALAR_RETURN_IF_ERROR(st);
        if (c_as_bias || !use_c) return Status::ok();
      }
      float* yp = y.data<float>();
      const float* cp = c->data<float>();
      const float beta = beta_;
      parallel_for(m, 64, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
          for (int64_t j = 0; j < n; ++j)
            yp[i * n + j] += beta * cp[i * c_strides[0] + j * c_strides[1]];
      });
      return Status::ok();
    }
    return dispatch_numeric(a->dtype(), "Gemm", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      using Acc = std::conditional_t<std::is_integral_v<T>, T, double>;
      const T* ap = a->data<T>();
      const T* bp = b->data<T>();
      const T* cp = use_c ? c->data<T>() : nullptr;
      T* yp = y.data<T>();
      parallel_for(m, 16, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
          for (int64_t j = 0; j < n; ++j) {
            Acc acc{};
            for (int64_t t = 0; t < k; ++t) {
              const Acc av = static_cast<Acc>(trans_a_ ? ap[t * m + i] : ap[i * k + t]);
              const Acc bv = static_cast<Acc>(trans_b_ ? bp[j * k + t] : bp[t * n + j]);
              acc += av * bv;
            }
            double v = static_cast<double>(alpha_) * static_cast<double>(acc);
            if (cp)
              v += static_cast<double>(beta_) *
                   static_cast<double>(cp[i * c_strides[0] + j * c_strides[1]]);
            yp[i * n + j] = static_cast<T>(static_cast<Acc>(v));
          }
      });
      return Status::ok();
    });
  }

 private:
  float alpha_ = 1.0f, beta_ = 1.0f;
  bool trans_a_ = false, trans_b_ = false;
  Tensor const_b_;
  MatmulCache cache_;
  PackedMatmul packed_;
  bool packed_ready_ = false;
};

// com.nalar FusedMatMul: Y = act(A x W + bias) with W[K,N] and bias[N] constants (the MatMul +
// bias fusion's node). A's leading dims fold into the GEMM's rows; W is packed once.
class FusedMatMulKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Tensor* w = cfg.constant(1);
    const Tensor* bias = cfg.constant(2);
    if (!w || !bias || w->dtype() != DataType::kFloat || bias->dtype() != DataType::kFloat ||
        w->rank() != 2 || bias->rank() != 1 || bias->size() != w->dim(1))
      return invalid_argument(
          "FusedMatMul: needs constant float W[K,N] and bias[N] (a graph fusion's node)");
    const std::string act = cfg.node.get_string("activation", "");
    if (!act.empty() && act != "Gelu")
      return unimplemented("FusedMatMul: activation '" + act + "' is not supported");
    gelu_ = act == "Gelu";
    packed_ready_ = try_pack(packed_, w, false, cfg, 1.0f, gelu_);
    if (!packed_ready_) w_ = *w;
    k_ = w->dim(0);
    n_ = w->dim(1);
    bias_ = *bias;
    return Status::ok();
  }

  bool releases_constant_input(size_t i) const override { return i == 1 && packed_ready_; }

  Status compute(KernelContext& ctx) const override {
    const Tensor* a = ctx.input(0);
    if (!a || a->dtype() != DataType::kFloat || a->rank() < 1)
      return invalid_argument("FusedMatMul: A must be a float tensor of rank >= 1");
    const int64_t k = k_, n = n_;
    if (a->shape().back() != k)
      return invalid_argument("FusedMatMul: A " + shape_to_string(a->shape()) +
                              " does not match W [" + std::to_string(k) + "," + std::to_string(n) +
                              "]");
    Shape out(a->shape().begin(), a->shape().end() - 1);
    out.push_back(n);
    Tensor& y = ctx.output(0);
    y = Tensor::create(DataType::kFloat, out);
    if (y.size() == 0) return Status::ok();
    const int64_t rows = a->size() / std::max<int64_t>(k, 1);
    if (k == 0) {  // an empty sum: the bias alone, through the activation
      float* yp = y.data<float>();
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < n; ++j) {
          const double v = bias_.data<float>()[j];
          yp[r * n + j] =
              static_cast<float>(gelu_ ? 0.5 * v * (1.0 + std::erf(v * 0.70710678118654752)) : v);
        }
      return Status::ok();
    }
    if (packed_ready_)
      return packed_.run(a->data<float>(), rows, bias_.data<float>(), y.data<float>());
    return dnnl_util::guard("FusedMatMul", [&]() -> Status {
      auto prim = cache_.get({rows}, [&](memory* shared) {
        memory::desc bias = dnnl_util::plain_md({1, n});
        return make_matmul(dnnl_util::plain_md({rows, k}), dnnl_util::plain_md({k, n}),
                           dnnl_util::plain_md({rows, n}), &bias, 1.0f, w_.raw(), shared, gelu_);
      });
      prim->run(a->raw(), w_.raw(), bias_.raw(), y.raw());
      return Status::ok();
    });
  }

 private:
  Tensor w_, bias_;  // w_ only when it could not be packed
  int64_t k_ = 0, n_ = 0;
  bool gelu_ = false;
  MatmulCache cache_;
  PackedMatmul packed_;
  bool packed_ready_ = false;
};

// A copy of float tensor `x` transposed by `perm` (empty: x itself).
Tensor permuted(const Tensor& x, const std::vector<int64_t>& perm) {
  if (perm.empty()) return x;
  const size_t r = perm.size();
  Shape out(r);
  std::vector<int64_t> in_strides(r, 1);
  for (size_t d = r - 1; d-- > 0;)
    in_strides[d] = in_strides[d + 1] * x.dim(static_cast<int64_t>(d + 1));
  for (size_t d = 0; d < r; ++d) out[d] = x.dim(perm[d]);
  Tensor y = Tensor::create(DataType::kFloat, out);
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  std::vector<int64_t> idx(r, 0);
  for (int64_t i = 0; i < y.size(); ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d) off += idx[d] * in_strides[static_cast<size_t>(perm[d])];
    yp[i] = xp[off];
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
  return y;
}

bool is_permutation(const std::vector<int64_t>& perm, int64_t rank) {
  if (perm.empty()) return true;
  if (static_cast<int64_t>(perm.size()) != rank) return false;
  std::vector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[static_cast<size_t>(p)]) return false;
    seen[static_cast<size_t>(p)] = true;
  }
  return true;
}

// com.nalar PermutedMatMul: Y = transpose(alpha * transpose(A, perm_a) x transpose(B, perm_b),
// perm_y), what attention's Transpose -> MatMul [-> Div] [-> Transpose] chains compute. The
// transposes become strides of oneDNN memory descriptors, so nothing is copied; shapes oneDNN
// cannot take that way (broadcast batches, no fast kernel) copy explicitly and run MatMul.
class PermutedMatMulKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    perm_a_ = cfg.node.get_ints("perm_a");
    perm_b_ = cfg.node.get_ints("perm_b");
    perm_y_ = cfg.node.get_ints("perm_y");
    alpha_ = cfg.node.get_float("alpha", 1.0f);
    // The inner MatMul sees B after perm_b: it must not pack the untransposed constant.
    KernelConfig inner = cfg;
    inner.constant_inputs.clear();
    return inner_.prepare(inner);
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* a = ctx.input(0);
    const Tensor* b = ctx.input(1);
    if (!a || !b || a->dtype() != DataType::kFloat || b->dtype() != DataType::kFloat)
      return invalid_argument("PermutedMatMul: A and B must be float tensors");
    if (!is_permutation(perm_a_, a->rank()) || !is_permutation(perm_b_, b->rank()))
      return invalid_argument("PermutedMatMul: perm_a/perm_b do not match the inputs' ranks");
    const int64_t r = a->rank();
    if (r >= 2 && r == b->rank() && r <= DNNL_MAX_NDIMS && is_permutation(perm_y_, r)) {
      bool done = false;
      Status st = dnnl_util::guard("PermutedMatMul", [&]() -> Status {
        done = strided(*a, *b, ctx.output(0));
        return Status::ok();
      });
      NALAR_RETURN_IF_ERROR(st);
      if (done) return Status::ok();
    }
    // The general path: explicit copies around the plain MatMul.
    Tensor pa = permuted(*a, perm_a_), pb = permuted(*b, perm_b_);
    KernelContext inner_ctx({&pa, &pb}, 1, ctx.num_threads(), ctx.scope());
    NALAR_RETURN_IF_ERROR(inner_.compute(inner_ctx));
    Tensor y = inner_ctx.output(0);
    if (alpha_ != 1.0f) {
      Tensor scaled = Tensor::create(DataType::kFloat, y.shape());
      for (int64_t i = 0; i < y.size(); ++i) scaled.data<float>()[i] = y.data<float>()[i] * alpha_;
      y = scaled;
    }
    if (!is_permutation(perm_y_, y.rank()))
      return invalid_argument("PermutedMatMul: perm_y does not match the product's rank");
    ctx.output(0) = permuted(y, perm_y_);
    return Status::ok();
  }

 private:
  struct Prim {
    dnnl::matmul prim;
    memory::desc a, b, y;
    bool fast = false;
  };

  // The strided view of x transposed by perm: dims and strides.
  static void view(const Tensor& x, const std::vector<int64_t>& perm, dims& d, dims& st) {
    const size_t r = static_cast<size_t>(x.rank());
    dims dense(r, 1);
    for (size_t i = r - 1; i-- > 0;) dense[i] = dense[i + 1] * x.dim(static_cast<int64_t>(i + 1));
    d.assign(r, 0);
    st.assign(r, 0);
    for (size_t i = 0; i < r; ++i) {
      const size_t src = perm.empty() ? i : static_cast<size_t>(perm[i]);
      d[i] = x.dim(static_cast<int64_t>(src));
      st[i] = dense[src];
    }
  }

  // Runs the whole product as one strided oneDNN matmul; false when the shapes do not allow it.
  bool strided(const Tensor& a, const Tensor& b, Tensor& y) const {
    dims ad, as, bd, bs;
    view(a, perm_a_, ad, as);
    view(b, perm_b_, bd, bs);
    const size_t r = ad.size();
    for (size_t i = 0; i + 2 < r; ++i)
      if (ad[i] != bd[i]) return false;
    if (ad[r - 1] != bd[r - 2] || ad[r - 1] == 0) return false;
    dims raw(ad.begin(), ad.end());
    raw[r - 1] = bd[r - 1];
    Shape final_shape(r);
    for (size_t i = 0; i < r; ++i)
      final_shape[i] = raw[perm_y_.empty() ? i : static_cast<size_t>(perm_y_[i])];
    y = Tensor::create(DataType::kFloat, final_shape);
    if (y.size() == 0) return true;
    dims fdense(r, 1), ys(r, 0);
    for (size_t i = r - 1; i-- > 0;) fdense[i] = fdense[i + 1] * final_shape[i + 1];
    for (size_t i = 0; i < r; ++i)
      ys[perm_y_.empty() ? i : static_cast<size_t>(perm_y_[i])] = fdense[i];
    std::vector<int64_t> key(a.shape().begin(), a.shape().end());
    key.push_back(-1);
    key.insert(key.end(), b.shape().begin(), b.shape().end());
    std::shared_ptr<const Prim> p;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(key);
      if (it != cache_.end()) {
        p = it->second;
      } else {
        auto made = std::make_shared<Prim>();
        made->a = memory::desc(ad, memory::data_type::f32, as);
        made->b = memory::desc(bd, memory::data_type::f32, bs);
        made->y = memory::desc(raw, memory::data_type::f32, ys);
        try {
          dnnl::primitive_attr attr = dnnl_util::user_scratch_attr();
          if (alpha_ != 1.0f) attr.set_output_scales(0, {alpha_});
          dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(made->a, made->b, made->y), attr,
                                          dnnl_util::engine());
          if (std::string(pd.impl_info_str()).rfind("ref", 0) != 0) {
            made->prim = dnnl::matmul(pd);
            made->fast = true;
          }
        } catch (const dnnl::error&) {
          // no implementation for these strides: the copying path
        }
        if (cache_.size() >= dnnl_util::kMaxShapesPerKernel) cache_.clear();
        cache_.emplace(key, made);
        p = made;
      }
    }
    if (!p->fast) return false;
    dnnl_util::execute(p->prim, {{DNNL_ARG_SRC, dnnl_util::wrap(p->a, a.raw())},
                                 {DNNL_ARG_WEIGHTS, dnnl_util::wrap(p->b, b.raw())},
                                 {DNNL_ARG_DST, dnnl_util::wrap(p->y, y.raw())}});
    return true;
  }

  std::vector<int64_t> perm_a_, perm_b_, perm_y_;
  float alpha_ = 1.0f;
  MatMulKernel inner_;
  mutable std::mutex mu_;
  mutable std::map<std::vector<int64_t>, std::shared_ptr<const Prim>> cache_;
};

}  // namespace

NALAR_REGISTER_KERNEL("com.nalar", "PermutedMatMul", 1, kMaxOpset, PermutedMatMulKernel);
NALAR_REGISTER_KERNEL("com.nalar", "FusedMatMul", 1, kMaxOpset, FusedMatMulKernel);
NALAR_REGISTER_KERNEL("", "MatMul", 1, kMaxOpset, MatMulKernel);
NALAR_REGISTER_KERNEL("", "Gemm", 1, kMaxOpset, GemmKernel);

}  // namespace nalar
