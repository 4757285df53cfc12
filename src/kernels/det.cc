// Det: determinant of each trailing [M, M] matrix, by LU decomposition with partial pivoting
// in double precision.
#include <cmath>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

double determinant(std::vector<double>& a, int64_t m) {
  double det = 1.0;
  for (int64_t c = 0; c < m; ++c) {
    int64_t piv = c;
    for (int64_t r = c + 1; r < m; ++r)
      if (std::fabs(a[r * m + c]) > std::fabs(a[piv * m + c])) piv = r;
    if (a[piv * m + c] == 0.0) return 0.0;
    if (piv != c) {
      for (int64_t k = 0; k < m; ++k) std::swap(a[c * m + k], a[piv * m + k]);
      det = -det;
    }
    const double d = a[c * m + c];
    det *= d;
    for (int64_t r = c + 1; r < m; ++r) {
      const double f = a[r * m + c] / d;
      if (f == 0.0) continue;
      for (int64_t k = c + 1; k < m; ++k) a[r * m + k] -= f * a[c * m + k];
    }
  }
  return det;
}

class DetKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Det: missing input");
    const int64_t r = x->rank();
    if (r < 2 || x->dim(r - 1) != x->dim(r - 2))
      return invalid_argument("Det: input must have shape [..., M, M], got " +
                              shape_to_string(x->shape()));
    const int64_t m = x->dim(r - 1);
    Shape out_shape(x->shape().begin(), x->shape().end() - 2);
    Tensor y = Tensor::create(x->dtype(), out_shape);
    const int64_t batch = y.size();
    Status st = dispatch_float(x->dtype(), "Det", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x->data<T>();
      T* out = y.data<T>();
      std::vector<double> a(static_cast<size_t>(m * m));
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t i = 0; i < m * m; ++i) a[i] = static_cast<double>(in[b * m * m + i]);
        out[b] = static_cast<T>(determinant(a, m));
      }
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(st);
    ctx.output(0) = std::move(y);
    return Status::ok();
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Det", 11, kMaxOpset, DetKernel);

}  // namespace nalar
