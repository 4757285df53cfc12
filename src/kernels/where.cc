// Where(condition, X, Y) with three-way broadcasting. It only moves elements, so numeric types
// run as unsigned integers of the same width (one loop per width, not per type).
#include <complex>
#include <string>

#include "kernels/elementwise.h"

namespace nalar {
namespace {

template <class U>
Status where_loop(const Tensor& c, const Tensor& x, const Tensor& y, Tensor& out) {
  NALAR_ASSIGN_OR_RETURN(BroadcastPlan p,
                         make_broadcast_plan({c.shape(), x.shape(), y.shape()}, "Where"));
  Tensor o = Tensor::create(x.dtype(), p.out_shape);
  if (p.total > 0)
    ternary_loop(p, c.data<bool>(), static_cast<const U*>(x.raw()), static_cast<const U*>(y.raw()),
                 static_cast<U*>(o.raw()), kCheapGrain,
                 [](bool k, const U& a, const U& b) -> const U& { return k ? a : b; });
  out = std::move(o);
  return Status::ok();
}

class WhereKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* c, require_input(ctx, 0, "Where"));
    NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 1, "Where"));
    NALAR_ASSIGN_OR_RETURN(const Tensor* y, require_input(ctx, 2, "Where"));
    if (c->dtype() != DataType::kBool)
      return invalid_argument(std::string("Where: condition must be bool, got ") +
                              dtype_name(c->dtype()));
    if (x->dtype() != y->dtype())
      return invalid_argument(std::string("Where: X and Y types differ (") +
                              dtype_name(x->dtype()) + " and " + dtype_name(y->dtype()) + ")");
    if (x->dtype() == DataType::kString) return where_loop<std::string>(*c, *x, *y, ctx.output(0));
    switch (dtype_size(x->dtype())) {
      case 1:
        return where_loop<uint8_t>(*c, *x, *y, ctx.output(0));
      case 2:
        return where_loop<uint16_t>(*c, *x, *y, ctx.output(0));
      case 4:
        return where_loop<uint32_t>(*c, *x, *y, ctx.output(0));
      case 8:
        return where_loop<uint64_t>(*c, *x, *y, ctx.output(0));
      case 16:
        return where_loop<std::complex<double>>(*c, *x, *y, ctx.output(0));
      default:
        return unsupported_dtype_where(x->dtype());
    }
  }

 private:
  static Status unsupported_dtype_where(DataType t) {
    return unimplemented(std::string("Where: element type ") + dtype_name(t) + " is not supported");
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Where", 9, kMaxOpset, WhereKernel);

}  // namespace nalar
