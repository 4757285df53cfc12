// MaxUnpool (opset 9/11): scatters X into a zero tensor at the flat indices I (as produced by
// MaxPool's Indices output, which index the whole output tensor).
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

class MaxUnpoolKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    kernel_ = cfg.node.get_ints("kernel_shape");
    if (kernel_.empty()) return invalid_argument("MaxUnpool: missing kernel_shape");
    const size_t s = kernel_.size();
    strides_ = cfg.node.get_ints("strides", std::vector<int64_t>(s, 1));
    pads_ = cfg.node.get_ints("pads", std::vector<int64_t>(2 * s, 0));
    if (strides_.size() != s || pads_.size() != 2 * s)
      return invalid_argument("MaxUnpool: strides/pads do not match kernel_shape");
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* ind = ctx.input(1);
    if (!x || !ind) return invalid_argument("MaxUnpool: missing X or I");
    const size_t s = kernel_.size();
    if (x->rank() != static_cast<int64_t>(s) + 2)
      return invalid_argument("MaxUnpool: X rank does not match kernel_shape");
    if (ind->shape() != x->shape())
      return invalid_argument("MaxUnpool: I must have the shape of X");
    // Indices address the default output shape; an explicit output_shape keeps each value at
    // the same coordinates (extra rows/columns stay zero), as the ONNX reference does.
    Shape default_shape = {x->dim(0), x->dim(1)};
    for (size_t i = 0; i < s; ++i)
      default_shape.push_back((x->dim(static_cast<int64_t>(i) + 2) - 1) * strides_[i] + kernel_[i] -
                              pads_[i] - pads_[i + s]);
    for (int64_t d : default_shape)
      if (d < 0) return invalid_argument("MaxUnpool: negative output size");
    Shape out_shape = default_shape;
    if (const Tensor* os = ctx.input(2); os && os->size() > 0) {
      NALAR_ASSIGN_OR_RETURN(out_shape, read_int64s(*os, "MaxUnpool: output_shape"));
      if (out_shape.size() != static_cast<size_t>(x->rank()) || out_shape[0] != x->dim(0) ||
          out_shape[1] != x->dim(1))
        return invalid_argument("MaxUnpool: output_shape " + shape_to_string(out_shape) +
                                " does not fit X " + shape_to_string(x->shape()));
      for (int64_t d : out_shape)
        if (d < 0) return invalid_argument("MaxUnpool: negative output_shape");
    }
    NALAR_ASSIGN_OR_RETURN(auto idx, read_int64s(*ind, "MaxUnpool: I"));
    Tensor y = Tensor::create(x->dtype(), out_shape);
    const int64_t total = shape_size(default_shape);
    const bool remap = out_shape != default_shape;
    Status st = dispatch_numeric(x->dtype(), "MaxUnpool", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x->data<T>();
      T* out = y.data<T>();
      for (int64_t i = 0; i < x->size(); ++i) {
        if (idx[i] < 0 || idx[i] >= total)
          return invalid_argument("MaxUnpool: index " + std::to_string(idx[i]) +
                                  " is out of range for output " + shape_to_string(default_shape));
        int64_t dst = idx[i];
        if (remap) {
          int64_t rem = dst;
          dst = 0;
          int64_t mul = 1;
          for (size_t d = default_shape.size(); d-- > 0;) {
            const int64_t c = rem % default_shape[d];
            rem /= default_shape[d];
            if (c >= out_shape[d])
              return invalid_argument("MaxUnpool: index " + std::to_string(idx[i]) +
                                      " falls outside output_shape");
            dst += c * mul;
            mul *= out_shape[d];
          }
        }
        out[dst] = in[i];
      }
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(st);
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  std::vector<int64_t> kernel_, strides_, pads_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "MaxUnpool", 9, kMaxOpset, MaxUnpoolKernel);

}  // namespace nalar
