// QLinearConv: integer convolution of quantized x and w, plus an int32 bias, requantized to y's
// scale (per tensor) and zero point; w's scale may be per output channel.
#include <algorithm>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"
#include "kernels/quant_util.h"

namespace nalar {
namespace {

constexpr const char* kOp = "QLinearConv";

class QLinearConvKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    attrs_ = read_conv_attributes(cfg.node);
    const Tensor* w = cfg.constant(3);
    const Tensor* wzp = cfg.constant(5);
    if (w && wzp) {
      NALAR_ASSIGN_OR_RETURN(std::vector<int32_t> zp, read_zero_points(*wzp, kOp, "w_zero_point"));
      NALAR_ASSIGN_OR_RETURN(packed_, widen_conv_weights(*w, zp, kOp));
      prepacked_ = true;
    }
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    for (size_t i = 0; i < 8; ++i)
      if (!ctx.input(i) || !ctx.input(i)->defined())
        return invalid_argument(std::string(kOp) + ": input " + std::to_string(i) + " is missing");
    const Tensor& x = *ctx.input(0);
    const Tensor& w = *ctx.input(3);
    const Tensor& yzp_t = *ctx.input(7);
    NALAR_ASSIGN_OR_RETURN(std::vector<float> xs, read_scales(*ctx.input(1), kOp, "x_scale"));
    NALAR_ASSIGN_OR_RETURN(std::vector<int32_t> xzp,
                           read_zero_points(*ctx.input(2), kOp, "x_zero_point"));
    NALAR_ASSIGN_OR_RETURN(std::vector<float> ws, read_scales(*ctx.input(4), kOp, "w_scale"));
    NALAR_ASSIGN_OR_RETURN(std::vector<int32_t> wzp,
                           read_zero_points(*ctx.input(5), kOp, "w_zero_point"));
    NALAR_ASSIGN_OR_RETURN(std::vector<float> ys, read_scales(*ctx.input(6), kOp, "y_scale"));
    NALAR_ASSIGN_OR_RETURN(std::vector<int32_t> yzp, read_zero_points(yzp_t, kOp, "y_zero_point"));
    if (xs.size() != 1 || xzp.size() != 1 || ys.size() != 1 || yzp.size() != 1)
      return invalid_argument(std::string(kOp) +
                              ": x_scale, x_zero_point, y_scale and y_zero_point must be scalars");
    NALAR_ASSIGN_OR_RETURN(
        Tensor acc,
        conv_integer_s32(x, xzp[0], w, wzp, prepacked_ ? &packed_ : nullptr, attrs_, kOp));
    const int64_t m = acc.dim(1);
    if (ws.size() != 1 && static_cast<int64_t>(ws.size()) != m)
      return invalid_argument(std::string(kOp) + ": w_scale must have 1 or M values");
    std::vector<int32_t> bias(static_cast<size_t>(m), 0);
    if (const Tensor* b = ctx.input(8); b && b->defined()) {
      if (b->dtype() != DataType::kInt32 || b->size() != m)
        return invalid_argument(std::string(kOp) + ": B must be int32 with M=" + std::to_string(m) +
                                " values, got " + b->describe());
      std::copy(b->data<int32_t>(), b->data<int32_t>() + m, bias.begin());
    }
    std::vector<float> mult(static_cast<size_t>(m));
    for (int64_t c = 0; c < m; ++c)
      mult[static_cast<size_t>(c)] =
          xs[0] * ws[ws.size() == 1 ? 0 : static_cast<size_t>(c)] / ys[0];
    Tensor y = Tensor::create(yzp_t.dtype(), acc.shape());
    const int64_t plane = m == 0 ? 0 : acc.size() / (acc.dim(0) * m);
    const int32_t* ap = acc.data<int32_t>();
    const float zf = static_cast<float>(yzp[0]);
    NALAR_RETURN_IF_ERROR(dispatch_integer(yzp_t.dtype(), kOp, [&](auto tag) -> Status {
      using Q = typename decltype(tag)::type;
      if constexpr (sizeof(Q) != 1) {
        return unsupported_dtype(kOp, yzp_t.dtype());
      } else {
        Q* yp = y.data<Q>();
        parallel_for(acc.dim(0) * m, std::max<int64_t>(1, 8192 / std::max<int64_t>(plane, 1)),
                     [&](int64_t begin, int64_t end) {
                       for (int64_t r = begin; r < end; ++r) {
                         const int64_t c = r % m;
                         const float mu = mult[static_cast<size_t>(c)];
                         const int32_t bc = bias[static_cast<size_t>(c)];
                         for (int64_t i = 0; i < plane; ++i)
                           yp[r * plane + i] = quantize_saturate<Q>(
                               static_cast<float>(ap[r * plane + i] + bc) * mu, zf);
                       }
                     });
        return Status::ok();
      }
    }));
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  ConvAttributes attrs_;
  bool prepacked_ = false;
  std::vector<int16_t> packed_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "QLinearConv", 10, kMaxOpset, QLinearConvKernel);

}  // namespace nalar
