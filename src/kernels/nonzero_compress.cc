// NonZero (coordinates of non-zero elements, numpy order) and Compress (select slices by a bool
// mask).
#include <complex>
#include <type_traits>

#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

template <class T>
bool is_nonzero(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return !v.empty();
  } else if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
    return static_cast<float>(v) != 0.0f;  // -0 is zero, NaN is not
  } else {                                 // numbers, bool and complex
    return v != T(0);
  }
}

class NonZeroKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("NonZero: missing input");
    std::vector<int64_t> flat;
    NALAR_RETURN_IF_ERROR(dispatch_all(x->dtype(), "NonZero", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* p = x->data<T>();
      for (int64_t i = 0; i < x->size(); ++i)
        if (is_nonzero(p[i])) flat.push_back(i);
      return Status::ok();
    }));
    // A scalar behaves like a 1-element vector (numpy's nonzero on 0-d arrays).
    Shape shape = x->rank() == 0 ? Shape{1} : x->shape();
    const int64_t r = static_cast<int64_t>(shape.size());
    const int64_t nnz = static_cast<int64_t>(flat.size());
    Tensor out = Tensor::create(DataType::kInt64, {r, nnz});
    int64_t* o = out.data<int64_t>();
    for (int64_t j = 0; j < nnz; ++j) {
      int64_t rem = flat[static_cast<size_t>(j)];
      for (int64_t d = r - 1; d >= 0; --d) {
        o[d * nnz + j] = rem % shape[static_cast<size_t>(d)];
        rem /= shape[static_cast<size_t>(d)];
      }
    }
    ctx.output(0) = std::move(out);
    return Status::ok();
  }
};

class CompressKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    has_axis_ = cfg.node.has("axis");
    axis_ = cfg.node.get_int("axis", 0);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* c = ctx.input(1);
    if (!x || !c) return invalid_argument("Compress: missing input");
    if (c->dtype() != DataType::kBool || c->rank() != 1)
      return invalid_argument("Compress: 'condition' must be a 1-D bool tensor, got " +
                              c->describe());
    // Without an axis the input is flattened first.
    Shape shape = has_axis_ ? x->shape() : Shape{x->size()};
    const int64_t r = static_cast<int64_t>(shape.size());
    if (r == 0) return invalid_argument("Compress: input must have rank >= 1");
    NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, r, "Compress"));
    const int64_t dim = shape[static_cast<size_t>(axis)];
    std::vector<int64_t> keep;
    const bool* cond = c->data<bool>();
    for (int64_t i = 0; i < c->size(); ++i) {
      if (!cond[i]) continue;
      if (i >= dim)
        return invalid_argument("Compress: 'condition' selects index " + std::to_string(i) +
                                " beyond axis size " + std::to_string(dim));
      keep.push_back(i);
    }
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
    for (int64_t d = axis + 1; d < r; ++d) inner *= shape[static_cast<size_t>(d)];
    Shape out_shape = shape;
    out_shape[static_cast<size_t>(axis)] = static_cast<int64_t>(keep.size());
    Tensor out = Tensor::create(x->dtype(), out_shape);
    const int64_t k = static_cast<int64_t>(keep.size());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < k; ++j)
        copy_block(*x, (o * dim + keep[static_cast<size_t>(j)]) * inner, out, (o * k + j) * inner,
                   inner);
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  bool has_axis_ = false;
  int64_t axis_ = 0;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "NonZero", 9, kMaxOpset, NonZeroKernel);
NALAR_REGISTER_KERNEL("", "Compress", 9, kMaxOpset, CompressKernel);

}  // namespace nalar
