// EyeLike: a 2-D tensor of the input's shape with ones on diagonal k, zeros elsewhere.
#include "core/dispatch.h"
#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

class EyeLikeKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    k_ = cfg.node.get_int("k", 0);
    dtype_ = static_cast<DataType>(cfg.node.get_int("dtype", 0));
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("EyeLike: missing input");
    if (x->rank() != 2) return invalid_argument("EyeLike: input must be 2-D, got " + x->describe());
    const DataType dt = dtype_ == DataType::kUndefined ? x->dtype() : dtype_;
    Tensor out = Tensor::create(dt, x->shape());
    const int64_t rows = x->dim(0), cols = x->dim(1), k = k_;
    NALAR_RETURN_IF_ERROR(dispatch_numeric_bool(dt, "EyeLike", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* o = out.data<T>();
      for (int64_t i = 0; i < rows; ++i) {
        // Column i + k, computed so that huge k cannot overflow.
        if (k >= cols || k <= -rows) break;
        const int64_t j = i + k;
        if (j >= 0 && j < cols) o[i * cols + j] = static_cast<T>(1.0f);
      }
      return Status::ok();
    }));
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  int64_t k_ = 0;
  DataType dtype_ = DataType::kUndefined;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "EyeLike", 9, kMaxOpset, EyeLikeKernel);

}  // namespace nalar
