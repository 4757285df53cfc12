// HannWindow, HammingWindow, BlackmanWindow (opset 17): generalised cosine windows
//   w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N),
// with N = size for periodic windows and size - 1 for symmetric ones.
#include <cmath>
#include <numbers>
#include <string>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

struct CosineTerms {
  double a0, a1, a2;
};

template <int kWhich>
class WindowKernel : public Kernel {
 public:
  static constexpr const char* kNames[] = {"HannWindow", "HammingWindow", "BlackmanWindow"};
  static constexpr CosineTerms kTerms[] = {
      {0.5, 0.5, 0.0}, {25.0 / 46.0, 21.0 / 46.0, 0.0}, {0.42, 0.5, 0.08}};

  Status prepare(const KernelConfig& cfg) override {
    periodic_ = cfg.node.get_int("periodic", 1) != 0;
    out_dtype_ = static_cast<DataType>(cfg.node.get_int("output_datatype", 1));
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const char* op = kNames[kWhich];
    const Tensor* s = ctx.input(0);
    if (!s) return invalid_argument(std::string(op) + ": missing input 'size'");
    NALAR_ASSIGN_OR_RETURN(auto sv, read_int64s(*s, op));
    if (sv.size() != 1) return invalid_argument(std::string(op) + ": size must be a scalar");
    const int64_t size = sv[0];
    if (size < 0 || size > (int64_t{1} << 26))
      return invalid_argument(std::string(op) + ": invalid size " + std::to_string(size));
    const CosineTerms t = kTerms[kWhich];
    const double denom = static_cast<double>(periodic_ ? size : size - 1);
    Tensor y = Tensor::create(out_dtype_, {size});
    Status st = dispatch_numeric(out_dtype_, op, [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = y.data<T>();
      for (int64_t n = 0; n < size; ++n) {
        const double phase =
            denom > 0 ? 2.0 * std::numbers::pi * static_cast<double>(n) / denom : 0.0;
        const double w = t.a0 - t.a1 * std::cos(phase) + t.a2 * std::cos(2.0 * phase);
        out[n] = static_cast<T>(w);
      }
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(st);
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  bool periodic_ = true;
  DataType out_dtype_ = DataType::kFloat;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "HannWindow", 17, kMaxOpset, WindowKernel<0>);
NALAR_REGISTER_KERNEL("", "HammingWindow", 17, kMaxOpset, WindowKernel<1>);
NALAR_REGISTER_KERNEL("", "BlackmanWindow", 17, kMaxOpset, WindowKernel<2>);

}  // namespace nalar
