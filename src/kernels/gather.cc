// Gather, GatherElements and GatherND. Indices are validated (negative ones wrapped) before any
// element is read, so out-of-range indices are errors, never out-of-bounds reads.
#include <algorithm>

#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

// Reads int32/int64 indices, wraps negatives by `n` and rejects values outside [-n, n).
Result<std::vector<int64_t>> read_indices(const Tensor& t, int64_t n, const char* op) {
  NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> v, read_int64s(t, op));
  for (int64_t& i : v) {
    if (i < -n || i >= n)
      return invalid_argument(std::string(op) + ": index " + std::to_string(i) +
                              " is out of range for a dim of size " + std::to_string(n));
    if (i < 0) i += n;
  }
  return v;
}

class GatherKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    axis_ = cfg.node.get_int("axis", 0);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* ind = ctx.input(1);
    if (!x || !ind) return invalid_argument("Gather: missing input");
    const int64_t r = x->rank();
    if (r == 0) return invalid_argument("Gather: 'data' must have rank >= 1");
    NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, r, "Gather"));
    const int64_t n = x->dim(axis);
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> idx, read_indices(*ind, n, "Gather"));
    Shape out_shape(x->shape().begin(), x->shape().begin() + axis);
    out_shape.insert(out_shape.end(), ind->shape().begin(), ind->shape().end());
    out_shape.insert(out_shape.end(), x->shape().begin() + axis + 1, x->shape().end());
    NALAR_ASSIGN_OR_RETURN(Tensor out, create_checked(x->dtype(), out_shape, "Gather"));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x->dim(d);
    for (int64_t d = axis + 1; d < r; ++d) inner *= x->dim(d);
    const int64_t k = static_cast<int64_t>(idx.size());
    NALAR_RETURN_IF_ERROR(dispatch_by_size(x->dtype(), "Gather", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = x->data<T>();
      T* dst = out.data<T>();
      parallel_for(outer * k, std::max<int64_t>(1, 32768 / std::max<int64_t>(inner, 1)),
                   [&](int64_t b, int64_t e) {
                     for (int64_t i = b; i < e; ++i) {
                       const int64_t o = i / k, j = i % k;
                       std::copy_n(src + (o * n + idx[static_cast<size_t>(j)]) * inner, inner,
                                   dst + i * inner);
                     }
                   });
      return Status::ok();
    }));
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  int64_t axis_ = 0;
};

class GatherElementsKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    axis_ = cfg.node.get_int("axis", 0);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* ind = ctx.input(1);
    if (!x || !ind) return invalid_argument("GatherElements: missing input");
    const int64_t r = x->rank();
    if (r == 0 || ind->rank() != r)
      return invalid_argument("GatherElements: 'data' " + x->describe() + " and 'indices' " +
                              ind->describe() + " must have the same rank >= 1");
    NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, r, "GatherElements"));
    for (int64_t d = 0; d < r; ++d)
      if (d != axis && ind->dim(d) > x->dim(d))
        return invalid_argument("GatherElements: 'indices' " + ind->describe() +
                                " is larger than 'data' " + x->describe() + " outside the axis");
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> idx,
                           read_indices(*ind, x->dim(axis), "GatherElements"));
    Tensor out = Tensor::create(x->dtype(), ind->shape());
    std::vector<int64_t> st = strides_of(x->shape());
    const int64_t axis_stride = st[static_cast<size_t>(axis)];
    st[static_cast<size_t>(axis)] = 0;
    NALAR_RETURN_IF_ERROR(dispatch_by_size(x->dtype(), "GatherElements", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = x->data<T>();
      T* dst = out.data<T>();
      parallel_for(out.size(), 32768, [&](int64_t b, int64_t e) {
        for_each_offset(ind->shape(), st, b, e, [&](int64_t i, int64_t off) {
          dst[i] = src[off + idx[static_cast<size_t>(i)] * axis_stride];
        });
      });
      return Status::ok();
    }));
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  int64_t axis_ = 0;
};

class GatherNDKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    batch_dims_ = cfg.node.get_int("batch_dims", 0);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* ind = ctx.input(1);
    if (!x || !ind) return invalid_argument("GatherND: missing input");
    const int64_t r = x->rank(), q = ind->rank(), b = batch_dims_;
    if (r < 1 || q < 1 || b < 0 || b >= std::min(r, q))
      return invalid_argument("GatherND: invalid ranks for 'data' " + x->describe() +
                              ", 'indices' " + ind->describe() + " and batch_dims " +
                              std::to_string(b));
    for (int64_t d = 0; d < b; ++d)
      if (x->dim(d) != ind->dim(d))
        return invalid_argument("GatherND: batch dims of 'data' " + x->describe() +
                                " and 'indices' " + ind->describe() + " differ");
    const int64_t k = ind->dim(q - 1);
    if (k < 1 || k > r - b)
      return invalid_argument("GatherND: last dim of 'indices' " + ind->describe() +
                              " must be in [1, " + std::to_string(r - b) + "]");
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> raw, read_int64s(*ind, "GatherND"));
    Shape out_shape(ind->shape().begin(), ind->shape().end() - 1);
    out_shape.insert(out_shape.end(), x->shape().begin() + b + k, x->shape().end());
    NALAR_ASSIGN_OR_RETURN(Tensor out, create_checked(x->dtype(), out_shape, "GatherND"));

    int64_t batch = 1, slice = 1, per_batch = 1;
    for (int64_t d = 0; d < b; ++d) batch *= x->dim(d);
    for (int64_t d = b + k; d < r; ++d) slice *= x->dim(d);
    for (int64_t d = b; d < r; ++d) per_batch *= x->dim(d);
    const int64_t tuples = batch == 0 ? 0 : static_cast<int64_t>(raw.size()) / k;
    const int64_t per_batch_tuples = batch == 0 ? 0 : tuples / batch;
    const std::vector<int64_t> st = strides_of(x->shape());
    std::vector<int64_t> offsets(static_cast<size_t>(tuples));
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = (t / per_batch_tuples) * per_batch;
      for (int64_t j = 0; j < k; ++j) {
        int64_t v = raw[static_cast<size_t>(t * k + j)];
        const int64_t n = x->dim(b + j);
        if (v < -n || v >= n)
          return invalid_argument("GatherND: index " + std::to_string(v) +
                                  " is out of range for a dim of size " + std::to_string(n));
        if (v < 0) v += n;
        off += v * st[static_cast<size_t>(b + j)];
      }
      offsets[static_cast<size_t>(t)] = off;
    }
    parallel_for(tuples, std::max<int64_t>(1, 32768 / std::max<int64_t>(slice, 1)),
                 [&](int64_t s, int64_t e) {
                   for (int64_t t = s; t < e; ++t)
                     copy_block(*x, offsets[static_cast<size_t>(t)], out, t * slice, slice);
                 });
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  int64_t batch_dims_ = 0;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Gather", 1, kMaxOpset, GatherKernel);
NALAR_REGISTER_KERNEL("", "GatherElements", 11, kMaxOpset, GatherElementsKernel);
NALAR_REGISTER_KERNEL("", "GatherND", 11, kMaxOpset, GatherNDKernel);

}  // namespace nalar
