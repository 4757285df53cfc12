// Constant (built once at prepare from whichever value attribute is set) and ConstantOfShape.
#include <algorithm>

#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

class ConstantKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Node& n = cfg.node;
    if (const Attribute* a = n.find("value")) {
      value_ = a->t;
    } else if (const Attribute* a = n.find("sparse_value")) {
      value_ = a->t;  // densified by the loader
    } else if (const Attribute* a = n.find("value_float")) {
      value_ = Tensor::scalar<float>(a->f);
    } else if (const Attribute* a = n.find("value_floats")) {
      value_ = Tensor::from_vector<float>(a->floats, {static_cast<int64_t>(a->floats.size())});
    } else if (const Attribute* a = n.find("value_int")) {
      value_ = Tensor::scalar<int64_t>(a->i);
    } else if (const Attribute* a = n.find("value_ints")) {
      value_ = Tensor::from_vector<int64_t>(a->ints, {static_cast<int64_t>(a->ints.size())});
    } else if (const Attribute* a = n.find("value_string")) {
      value_ = Tensor::scalar<std::string>(a->s);
    } else if (const Attribute* a = n.find("value_strings")) {
      value_ =
          Tensor::from_vector<std::string>(a->strings, {static_cast<int64_t>(a->strings.size())});
    } else {
      return invalid_argument("Constant: no value attribute");
    }
    if (!value_.defined()) return invalid_argument("Constant: the value attribute is empty");
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    ctx.output(0) = value_;  // shared: tensors are immutable once produced
    return Status::ok();
  }

 private:
  Tensor value_;
};

class ConstantOfShapeKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    if (const Attribute* a = cfg.node.find("value")) {
      if (a->t.size() != 1)
        return invalid_argument("ConstantOfShape: 'value' must have exactly one element, got " +
                                a->t.describe());
      value_ = a->t;
    } else {
      value_ = Tensor::scalar<float>(0.0f);
    }
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* s = ctx.input(0);
    if (!s) return invalid_argument("ConstantOfShape: missing input");
    bool present = false;
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> shape,
                           read_optional_ints(s, "ConstantOfShape 'input'", &present));
    NALAR_ASSIGN_OR_RETURN(Tensor out, create_checked(value_.dtype(), shape, "ConstantOfShape"));
    NALAR_RETURN_IF_ERROR(dispatch_by_size(value_.dtype(), "ConstantOfShape", [&](auto tag) {
      using T = typename decltype(tag)::type;
      std::fill_n(out.data<T>(), out.size(), value_.data<T>()[0]);
      return Status::ok();
    }));
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  Tensor value_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Constant", 1, kMaxOpset, ConstantKernel);
NALAR_REGISTER_KERNEL("", "ConstantOfShape", 9, kMaxOpset, ConstantOfShapeKernel);

}  // namespace nalar
