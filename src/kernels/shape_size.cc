// Shape (with opset 15's start/end slice) and Size: int64 metadata outputs.
#include <algorithm>

#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

class ShapeKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    start_ = cfg.node.get_int("start", 0);
    end_ = cfg.node.get_int("end", INT64_MAX);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Shape: missing input");
    const int64_t r = x->rank();
    auto clamp = [r](int64_t v) {
      if (v < 0) v += r;
      return std::clamp<int64_t>(v, 0, r);
    };
    const int64_t b = clamp(start_), e = clamp(end_);
    const int64_t n = std::max<int64_t>(0, e - b);
    Tensor out = Tensor::create(DataType::kInt64, {n});
    for (int64_t i = 0; i < n; ++i) out.data<int64_t>()[i] = x->dim(b + i);
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  int64_t start_ = 0, end_ = INT64_MAX;
};

class SizeKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Size: missing input");
    ctx.output(0) = Tensor::scalar<int64_t>(x->size());
    return Status::ok();
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Shape", 1, kMaxOpset, ShapeKernel);
NALAR_REGISTER_KERNEL("", "Size", 1, kMaxOpset, SizeKernel);

}  // namespace nalar
