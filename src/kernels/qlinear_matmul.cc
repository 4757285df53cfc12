// QLinearMatMul: integer matmul of two quantized tensors, requantized to y's scale/zero point.
#include <algorithm>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"
#include "kernels/quant_util.h"

namespace nalar {
namespace {

class QLinearMatMulKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    static constexpr const char* kOp = "QLinearMatMul";
    for (size_t i = 0; i < 8; ++i)
      if (!ctx.input(i) || !ctx.input(i)->defined())
        return invalid_argument(std::string(kOp) + ": input " + std::to_string(i) + " is missing");
    const Tensor& a = *ctx.input(0);
    const Tensor& b = *ctx.input(3);
    NALAR_ASSIGN_OR_RETURN(std::vector<float> sa, read_scales(*ctx.input(1), kOp, "a_scale"));
    NALAR_ASSIGN_OR_RETURN(std::vector<int32_t> za,
                           read_zero_points(*ctx.input(2), kOp, "a_zero_point"));
    NALAR_ASSIGN_OR_RETURN(std::vector<float> sb, read_scales(*ctx.input(4), kOp, "b_scale"));
    NALAR_ASSIGN_OR_RETURN(std::vector<int32_t> zb,
                           read_zero_points(*ctx.input(5), kOp, "b_zero_point"));
    NALAR_ASSIGN_OR_RETURN(std::vector<float> sy, read_scales(*ctx.input(6), kOp, "y_scale"));
    const Tensor& yzp = *ctx.input(7);
    NALAR_ASSIGN_OR_RETURN(std::vector<int32_t> zy, read_zero_points(yzp, kOp, "y_zero_point"));
    if (sy.size() != 1 || zy.size() != 1)
      return invalid_argument(std::string(kOp) + ": y_scale and y_zero_point must be scalars");
    NALAR_ASSIGN_OR_RETURN(Tensor acc, matmul_integer_s32(a, b, za, zb, kOp));
    const int64_t n = b.rank() > 1 ? b.dim(b.rank() - 1) : 1;
    const int64_t m = a.rank() > 1 ? a.dim(a.rank() - 2) : 1;
    // a_scale per tensor or per row, b_scale per tensor or per column.
    const auto ok_size = [](size_t s, int64_t d) { return s == 1 || static_cast<int64_t>(s) == d; };
    if (!ok_size(sa.size(), m) || !ok_size(sb.size(), n))
      return invalid_argument(std::string(kOp) +
                              ": a_scale must have 1 or M values and b_scale 1 "
                              "or N values");
    Tensor y = Tensor::create(yzp.dtype(), acc.shape());
    const int32_t* ap = acc.data<int32_t>();
    const float zyf = static_cast<float>(zy[0]);
    NALAR_RETURN_IF_ERROR(dispatch_integer(yzp.dtype(), kOp, [&](auto tag) -> Status {
      using Q = typename decltype(tag)::type;
      if constexpr (sizeof(Q) != 1) {
        return unsupported_dtype(kOp, yzp.dtype());
      } else {
        Q* yp = y.data<Q>();
        const int64_t rows = n == 0 ? 0 : acc.size() / n;
        parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(n, 1)),
                     [&](int64_t begin, int64_t end) {
                       std::vector<float> mult(static_cast<size_t>(n));
                       for (int64_t r = begin; r < end; ++r) {
                         const float s_a = sa.size() == 1 ? sa[0] : sa[static_cast<size_t>(r % m)];
                         for (int64_t j = 0; j < n; ++j)
                           mult[j] =
                               s_a * (sb.size() == 1 ? sb[0] : sb[static_cast<size_t>(j)]) / sy[0];
                         const int32_t* ar = ap + r * n;
                         Q* yr = yp + r * n;
                         for (int64_t j = 0; j < n; ++j)
                           yr[j] = quantize_saturate<Q>(static_cast<float>(ar[j]) * mult[j], zyf);
                       }
                     });
        return Status::ok();
      }
    }));
    ctx.output(0) = std::move(y);
    return Status::ok();
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("", "QLinearMatMul", 10, kMaxOpset, QLinearMatMulKernel);

}  // namespace nalar
