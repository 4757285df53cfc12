// MelWeightMatrix (opset 17): triangular mel filter bank weights, [dft_length/2 + 1, num_mel_bins].
// Follows the ONNX 1.12 reference: num_mel_bins + 2 equally spaced mel points mapped to integer
// FFT bins with floor((dft_length + 1) * hz / sample_rate).
#include <cmath>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

Result<double> read_scalar(const Tensor* t, const char* what) {
  if (!t || t->size() != 1)
    return invalid_argument(std::string("MelWeightMatrix: input '") + what + "' must be a scalar");
  double v = 0;
  Status st = dispatch_numeric(t->dtype(), "MelWeightMatrix", [&](auto tag) {
    using T = typename decltype(tag)::type;
    v = static_cast<double>(t->data<T>()[0]);
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return v;
}

class MelWeightMatrixKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    out_dtype_ = static_cast<DataType>(cfg.node.get_int("output_datatype", 1));
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(double mel_bins_d, read_scalar(ctx.input(0), "num_mel_bins"));
    NALAR_ASSIGN_OR_RETURN(double dft_len_d, read_scalar(ctx.input(1), "dft_length"));
    NALAR_ASSIGN_OR_RETURN(double rate, read_scalar(ctx.input(2), "sample_rate"));
    NALAR_ASSIGN_OR_RETURN(double lower, read_scalar(ctx.input(3), "lower_edge_hertz"));
    NALAR_ASSIGN_OR_RETURN(double upper, read_scalar(ctx.input(4), "upper_edge_hertz"));
    const int64_t mel_bins = static_cast<int64_t>(mel_bins_d);
    const int64_t dft_len = static_cast<int64_t>(dft_len_d);
    if (mel_bins <= 0 || dft_len <= 0 || rate <= 0 || mel_bins > (1 << 20) || dft_len > (1 << 24))
      return invalid_argument(
          "MelWeightMatrix: num_mel_bins, dft_length and sample_rate must be positive");
    const int64_t spec_bins = dft_len / 2 + 1;
    if (spec_bins * mel_bins > (int64_t{1} << 28))
      return invalid_argument("MelWeightMatrix: output is too large");
    auto hz_to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
    const double low_mel = hz_to_mel(lower), high_mel = hz_to_mel(upper);
    const double step = (high_mel - low_mel) / static_cast<double>(mel_bins + 2);
    std::vector<int64_t> bins(static_cast<size_t>(mel_bins + 2));
    for (int64_t i = 0; i < mel_bins + 2; ++i) {
      const double hz =
          700.0 * (std::pow(10.0, (static_cast<double>(i) * step + low_mel) / 2595.0) - 1.0);
      bins[i] = static_cast<int64_t>(std::floor(static_cast<double>(dft_len + 1) * hz / rate));
    }
    std::vector<double> w(static_cast<size_t>(spec_bins * mel_bins), 0.0);
    auto set = [&](int64_t j, int64_t i, double v) {
      if (j >= 0 && j < spec_bins) w[j * mel_bins + i] = v;
    };
    for (int64_t i = 0; i < mel_bins; ++i) {
      const int64_t lo = bins[i], c = bins[i + 1], hi = bins[i + 2];
      if (c == lo) {
        set(c, i, 1.0);
      } else {
        for (int64_t j = lo; j <= c; ++j)
          set(j, i, static_cast<double>(j - lo) / static_cast<double>(c - lo));
      }
      if (hi > c)
        for (int64_t j = c; j < hi; ++j)
          set(j, i, static_cast<double>(hi - j) / static_cast<double>(hi - c));
    }
    Tensor y = Tensor::create(out_dtype_, {spec_bins, mel_bins});
    Status st = dispatch_numeric(out_dtype_, "MelWeightMatrix", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = y.data<T>();
      for (size_t k = 0; k < w.size(); ++k) out[k] = static_cast<T>(w[k]);
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(st);
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  DataType out_dtype_ = DataType::kFloat;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "MelWeightMatrix", 17, kMaxOpset, MelWeightMatrixKernel);

}  // namespace nalar
