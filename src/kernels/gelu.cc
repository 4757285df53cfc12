// com.microsoft Gelu, the erf form y = 0.5 x (1 + erf(x / sqrt 2)): the node the GELU fusion
// emits (and ONNX Runtime's contrib op of the same name). float runs vectorised.
#include <cmath>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/fast_math.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

inline VecF8 gelu8(VecF8 x) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  return 0.5f * x * (1.0f + fast_erf8(x * kInvSqrt2));
}

class GeluKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Gelu: missing input X");
    Tensor& y = ctx.output(0);
    y = Tensor::create(x->dtype(), x->shape());
    const int64_t n = x->size();
    if (x->dtype() == DataType::kFloat) {
      const float* xp = x->data<float>();
      float* yp = y.data<float>();
      parallel_for(n, 16384, [&](int64_t begin, int64_t end) {
        map_f8(xp + begin, yp + begin, end - begin, gelu8);
      });
      return Status::ok();
    }
    return dispatch_float(x->dtype(), "Gelu", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      const T* xp = x->data<T>();
      T* yp = y.data<T>();
      for (int64_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(xp[i]);
        yp[i] = static_cast<T>(0.5 * v * (1.0 + std::erf(v * 0.70710678118654752)));
      }
      return Status::ok();
    });
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("com.microsoft", "Gelu", 1, kMaxOpset, GeluKernel);

}  // namespace nalar
