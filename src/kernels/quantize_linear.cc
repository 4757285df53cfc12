// QuantizeLinear, DequantizeLinear (per-tensor and per-axis) and DynamicQuantizeLinear.
#include <algorithm>
#include <cmath>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"
#include "kernels/quant_util.h"

namespace nalar {
namespace {

// Reads an input of any float type, or int32 (QuantizeLinear-13 allows it), as floats.
Result<std::vector<float>> read_as_float(const Tensor& t, const char* op) {
  if (t.dtype() == DataType::kInt32) {
    std::vector<float> v(static_cast<size_t>(t.size()));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(t.data<int32_t>()[i]);
    return v;
  }
  return read_scales(t, op, "x");
}

class QuantizeLinearKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    axis_ = cfg.node.get_int("axis", 1);
    if (cfg.node.get_int("block_size", 0) != 0)
      return unimplemented("QuantizeLinear: blocked quantization (block_size) is not supported");
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* scale = ctx.input(1);
    const Tensor* zp = ctx.input(2);
    if (!x || !scale) return invalid_argument("QuantizeLinear: missing input 'x' or 'y_scale'");
    const DataType out_type = zp && zp->defined() ? zp->dtype() : DataType::kUint8;
    NALAR_ASSIGN_OR_RETURN(std::vector<float> s, read_scales(*scale, "QuantizeLinear", "y_scale"));
    std::vector<int32_t> z(s.size(), 0);
    if (zp && zp->defined()) {
      NALAR_ASSIGN_OR_RETURN(z, read_zero_points(*zp, "QuantizeLinear", "y_zero_point"));
      if (z.size() != s.size())
        return invalid_argument("QuantizeLinear: y_scale and y_zero_point sizes differ (" +
                                std::to_string(s.size()) + " vs " + std::to_string(z.size()) + ")");
    }
    if (scale->rank() > 1)
      return invalid_argument("QuantizeLinear: y_scale must be a scalar or 1-D, got " +
                              shape_to_string(scale->shape()));
    NALAR_ASSIGN_OR_RETURN(AxisLayout l,
                           param_layout(x->shape(), axis_, static_cast<int64_t>(s.size()),
                                        "QuantizeLinear", "y_scale"));
    NALAR_ASSIGN_OR_RETURN(std::vector<float> xv, read_as_float(*x, "QuantizeLinear"));
    Tensor y = Tensor::create(out_type, x->shape());
    auto run = [&](auto tag) -> Status {
      using Q = typename decltype(tag)::type;
      Q* yp = y.data<Q>();
      const float* xp = xv.data();
      parallel_for(l.outer * l.channels,
                   std::max<int64_t>(1, 16384 / std::max<int64_t>(l.inner, 1)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t r = begin; r < end; ++r) {
                       const int64_t c = r % l.channels;
                       const float sc = s[static_cast<size_t>(c)];
                       const float zf = static_cast<float>(z[static_cast<size_t>(c)]);
                       const float* xr = xp + r * l.inner;
                       Q* yr = yp + r * l.inner;
                       for (int64_t i = 0; i < l.inner; ++i)
                         yr[i] = quantize_saturate<Q>(xr[i] / sc, zf);
                     }
                   });
      return Status::ok();
    };
    switch (out_type) {
      case DataType::kUint8:
        NALAR_RETURN_IF_ERROR(run(TypeTag<uint8_t>{}));
        break;
      case DataType::kInt8:
        NALAR_RETURN_IF_ERROR(run(TypeTag<int8_t>{}));
        break;
      case DataType::kUint16:
        NALAR_RETURN_IF_ERROR(run(TypeTag<uint16_t>{}));
        break;
      case DataType::kInt16:
        NALAR_RETURN_IF_ERROR(run(TypeTag<int16_t>{}));
        break;
      default:
        return unsupported_dtype("QuantizeLinear", out_type);
    }
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  int64_t axis_ = 1;
};

class DequantizeLinearKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    axis_ = cfg.node.get_int("axis", 1);
    if (cfg.node.get_int("block_size", 0) != 0)
      return unimplemented("DequantizeLinear: blocked quantization (block_size) is not supported");
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* scale = ctx.input(1);
    const Tensor* zp = ctx.input(2);
    if (!x || !scale) return invalid_argument("DequantizeLinear: missing input 'x' or 'x_scale'");
    NALAR_ASSIGN_OR_RETURN(std::vector<float> s,
                           read_scales(*scale, "DequantizeLinear", "x_scale"));
    std::vector<int32_t> z(s.size(), 0);
    if (zp && zp->defined()) {
      if (zp->dtype() != x->dtype())
        return invalid_argument(std::string("DequantizeLinear: x_zero_point must have x's type ") +
                                dtype_name(x->dtype()) + ", got " + dtype_name(zp->dtype()));
      NALAR_ASSIGN_OR_RETURN(z, read_zero_points(*zp, "DequantizeLinear", "x_zero_point"));
      if (z.size() != s.size())
        return invalid_argument("DequantizeLinear: x_scale and x_zero_point sizes differ");
    }
    if (scale->rank() > 1)
      return invalid_argument("DequantizeLinear: x_scale must be a scalar or 1-D, got " +
                              shape_to_string(scale->shape()));
    NALAR_ASSIGN_OR_RETURN(AxisLayout l,
                           param_layout(x->shape(), axis_, static_cast<int64_t>(s.size()),
                                        "DequantizeLinear", "x_scale"));
    // The output has the scale's type (float before opset 19; float16/bfloat16 allowed after).
    Tensor y = Tensor::create(scale->dtype(), x->shape());
    NALAR_RETURN_IF_ERROR(dispatch_integer(x->dtype(), "DequantizeLinear", [&](auto xtag) {
      using X = typename decltype(xtag)::type;
      if constexpr (sizeof(X) > 4) {
        return unsupported_dtype("DequantizeLinear", x->dtype());
      } else {
        return dispatch_float(y.dtype(), "DequantizeLinear", [&](auto ytag) {
          using Y = typename decltype(ytag)::type;
          const X* xp = x->data<X>();
          Y* yp = y.data<Y>();
          parallel_for(
              l.outer * l.channels, std::max<int64_t>(1, 16384 / std::max<int64_t>(l.inner, 1)),
              [&](int64_t begin, int64_t end) {
                for (int64_t r = begin; r < end; ++r) {
                  const int64_t c = r % l.channels;
                  const float sc = s[static_cast<size_t>(c)];
                  const int32_t zc = z[static_cast<size_t>(c)];
                  const X* xr = xp + r * l.inner;
                  Y* yr = yp + r * l.inner;
                  for (int64_t i = 0; i < l.inner; ++i)
                    yr[i] =
                        static_cast<Y>(static_cast<float>(static_cast<int32_t>(xr[i]) - zc) * sc);
                }
              });
          return Status::ok();
        });
      }
    }));
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  int64_t axis_ = 1;
};

// uint8 quantization with the range [min(0, min x), max(0, max x)] mapped onto [0, 255].
class DynamicQuantizeLinearKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("DynamicQuantizeLinear: missing input 'x'");
    if (x->dtype() != DataType::kFloat)
      return unsupported_dtype("DynamicQuantizeLinear", x->dtype());
    const float* xp = x->data<float>();
    const int64_t n = x->size();
    float lo = 0.f, hi = 0.f;
    for (int64_t i = 0; i < n; ++i) {
      lo = std::min(lo, xp[i]);
      hi = std::max(hi, xp[i]);
    }
    const float scale = (hi - lo) / 255.f;
    // All zeros gives scale 0: keep zero point 0 and quantize everything to 0 rather than NaN.
    const float zp = scale > 0.f ? quantize_saturate<uint8_t>((0.f - lo) / scale, 0.f) : 0.f;
    Tensor y = Tensor::create(DataType::kUint8, x->shape());
    uint8_t* yp = y.data<uint8_t>();
    if (scale > 0.f) {
      parallel_for(n, 16384, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) yp[i] = quantize_saturate<uint8_t>(xp[i] / scale, zp);
      });
    }
    ctx.output(0) = std::move(y);
    if (ctx.num_outputs() > 1) ctx.output(1) = Tensor::scalar<float>(scale);
    if (ctx.num_outputs() > 2) ctx.output(2) = Tensor::scalar<uint8_t>(static_cast<uint8_t>(zp));
    return Status::ok();
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("", "QuantizeLinear", 10, kMaxOpset, QuantizeLinearKernel);
NALAR_REGISTER_KERNEL("", "DequantizeLinear", 10, kMaxOpset, DequantizeLinearKernel);
NALAR_REGISTER_KERNEL("", "DynamicQuantizeLinear", 11, kMaxOpset, DynamicQuantizeLinearKernel);

}  // namespace nalar
