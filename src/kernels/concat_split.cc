// Concat and Split along one axis. Both are runs of contiguous blocks: for every index of the dims
// before the axis, each input (output) owns one block of dim(axis) * inner elements.
#include <algorithm>

#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

class ConcatKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    // Concat-1 defaulted axis to 1; later versions require it.
    if (!cfg.node.has("axis") && cfg.opset >= 4)
      return invalid_argument("Concat: missing attribute 'axis'");
    axis_ = cfg.node.get_int("axis", 1);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    std::vector<const Tensor*> xs;
    for (size_t i = 0; i < ctx.num_inputs(); ++i)
      if (ctx.input(i)) xs.push_back(ctx.input(i));
    if (xs.empty()) return invalid_argument("Concat: no inputs");
    const Tensor& first = *xs[0];
    const int64_t r = first.rank();
    if (r == 0) return invalid_argument("Concat: inputs must have rank >= 1");
    NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, r, "Concat"));
    Shape out_shape = first.shape();
    out_shape[static_cast<size_t>(axis)] = 0;
    for (const Tensor* x : xs) {
      if (x->dtype() != first.dtype())
        return invalid_argument("Concat: inputs mix " + first.describe() + " and " + x->describe());
      if (x->rank() != r)
        return invalid_argument("Concat: inputs " + first.describe() + " and " + x->describe() +
                                " differ in rank");
      for (int64_t d = 0; d < r; ++d)
        if (d != axis && x->dim(d) != first.dim(d))
          return invalid_argument("Concat: inputs " + first.describe() + " and " + x->describe() +
                                  " differ outside axis " + std::to_string(axis));
      out_shape[static_cast<size_t>(axis)] += x->dim(axis);
    }
    if (xs.size() == 1) {
      ctx.output(0) = first;
      return Status::ok();
    }
    NALAR_ASSIGN_OR_RETURN(Tensor out, create_checked(first.dtype(), out_shape, "Concat"));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= first.dim(d);
    for (int64_t d = axis + 1; d < r; ++d) inner *= first.dim(d);
    const int64_t out_block = out_shape[static_cast<size_t>(axis)] * inner;
    int64_t offset = 0;
    for (const Tensor* x : xs) {
      const int64_t block = x->dim(axis) * inner;
      if (block > 0) {
        parallel_for(outer, std::max<int64_t>(1, 32768 / block), [&](int64_t b, int64_t e) {
          for (int64_t o = b; o < e; ++o)
            copy_block(*x, o * block, out, o * out_block + offset, block);
        });
      }
      offset += block;
    }
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  int64_t axis_ = 0;
};

class SplitKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    axis_ = cfg.node.get_int("axis", 0);
    has_attr_ = cfg.node.has("split");
    attr_ = cfg.node.get_ints("split");
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Split: missing input");
    const int64_t r = x->rank();
    if (r == 0) return invalid_argument("Split: input must have rank >= 1");
    NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, r, "Split"));
    const int64_t dim = x->dim(axis);
    const int64_t n_out = static_cast<int64_t>(ctx.num_outputs());
    bool present = false;
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> split,
                           read_optional_ints(ctx.input(1), "Split 'split'", &present));
    if (!present && has_attr_) {
      split = attr_;
      present = true;
    }
    if (present) {
      if (static_cast<int64_t>(split.size()) != n_out)
        return invalid_argument("Split: 'split' has " + std::to_string(split.size()) +
                                " entries for " + std::to_string(n_out) + " outputs");
      int64_t sum = 0;
      for (int64_t s : split) {
        if (s < 0 || s > dim)
          return invalid_argument("Split: entry " + std::to_string(s) +
                                  " of 'split' is out of range");
        sum += s;
      }
      if (sum != dim)
        return invalid_argument("Split: 'split' sums to " + std::to_string(sum) + " but axis " +
                                std::to_string(axis) + " of " + x->describe() + " has " +
                                std::to_string(dim));
    } else {
      // Equal parts; when the dim does not divide, the last part is smaller (opset 18 rule).
      if (n_out <= 0) return invalid_argument("Split: no outputs");
      const int64_t part = (dim + n_out - 1) / n_out;
      int64_t left = dim;
      for (int64_t i = 0; i < n_out; ++i) {
        const int64_t s = std::min(part, left);
        split.push_back(s);
        left -= s;
      }
    }
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x->dim(d);
    for (int64_t d = axis + 1; d < r; ++d) inner *= x->dim(d);
    const int64_t in_block = dim * inner;
    int64_t offset = 0;
    for (int64_t i = 0; i < n_out; ++i) {
      Shape s = x->shape();
      s[static_cast<size_t>(axis)] = split[static_cast<size_t>(i)];
      Tensor out = Tensor::create(x->dtype(), s);
      const int64_t block = split[static_cast<size_t>(i)] * inner;
      if (block > 0) {
        parallel_for(outer, std::max<int64_t>(1, 32768 / block), [&](int64_t b, int64_t e) {
          for (int64_t o = b; o < e; ++o)
            copy_block(*x, o * in_block + offset, out, o * block, block);
        });
      }
      offset += block;
      ctx.output(static_cast<size_t>(i)) = std::move(out);
    }
    return Status::ok();
  }

 private:
  int64_t axis_ = 0;
  bool has_attr_ = false;
  std::vector<int64_t> attr_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Concat", 1, kMaxOpset, ConcatKernel);
NALAR_REGISTER_KERNEL("", "Split", 1, kMaxOpset, SplitKernel);

}  // namespace nalar
