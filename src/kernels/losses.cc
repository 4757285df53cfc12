// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (reduction none/sum/mean, class weights,
// ignore_index, inputs [N, C] or [N, C, d1, ..., dk]).
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

enum class Reduction { kNone, kSum, kMean };

struct LossAttrs {
  Reduction reduction = Reduction::kMean;
  bool has_ignore = false;
  int64_t ignore_index = 0;
};

Status read_loss_attrs(const Node& node, const char* op, LossAttrs* a) {
  const std::string r = node.get_string("reduction", "mean");
  if (r == "none")
    a->reduction = Reduction::kNone;
  else if (r == "sum")
    a->reduction = Reduction::kSum;
  else if (r == "mean")
    a->reduction = Reduction::kMean;
  else
    return invalid_argument(std::string(op) + ": unknown reduction '" + r + "'");
  a->has_ignore = node.has("ignore_index");
  a->ignore_index = node.get_int("ignore_index", 0);
  return Status::ok();
}

// Checks input [N, C, d...], target [N, d...] and weight [C]; returns N, C and D = prod(d).
Status check_loss_shapes(const Tensor& x, const Tensor& target, const Tensor* weight,
                         const char* op, int64_t* n, int64_t* c, int64_t* d) {
  const std::string name(op);
  if (x.rank() < 2)
    return invalid_argument(name + ": input must have shape [N, C, d...], got " +
                            shape_to_string(x.shape()));
  Shape expect{x.dim(0)};
  expect.insert(expect.end(), x.shape().begin() + 2, x.shape().end());
  if (target.shape() != expect)
    return invalid_argument(name + ": target shape " + shape_to_string(target.shape()) +
                            " does not match input " + shape_to_string(x.shape()) + " (expected " +
                            shape_to_string(expect) + ")");
  if (weight && (weight->rank() != 1 || weight->dim(0) != x.dim(1) || weight->dtype() != x.dtype()))
    return invalid_argument(name + ": weight must be 1-D [C] of the input's type, got " +
                            weight->describe());
  *n = x.dim(0);
  *c = x.dim(1);
  *d = *n == 0 || *c == 0 ? shape_size(expect) / std::max<int64_t>(*n, 1) : x.size() / (*n * *c);
  return Status::ok();
}

// The NLL of log-probabilities `lp` [N, C, D] (as float) against `target` [N, D].
template <class T>
Status nll_from_logprob(const float* lp, const std::vector<int64_t>& target, const Tensor* weight,
                        int64_t n, int64_t c, int64_t d, const LossAttrs& a, const Shape& tshape,
                        const char* op, Tensor* out) {
  const T* w = weight ? weight->data<T>() : nullptr;
  std::vector<float> loss(static_cast<size_t>(n * d));
  double total = 0, wsum = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      const int64_t t = target[static_cast<size_t>(i * d + j)];
      float l = 0.f, wt = 0.f;
      if (!(a.has_ignore && t == a.ignore_index)) {
        if (t < 0 || t >= c)
          return invalid_argument(std::string(op) + ": target value " + std::to_string(t) +
                                  " is outside [0, " + std::to_string(c) + ")");
        wt = w ? static_cast<float>(w[t]) : 1.f;
        l = -lp[(i * c + t) * d + j] * wt;
      }
      loss[static_cast<size_t>(i * d + j)] = l;
      total += l;
      wsum += wt;
    }
  }
  if (a.reduction == Reduction::kNone) {
    *out = Tensor::create(dtype_of<T>, tshape);
    T* o = out->data<T>();
    for (size_t i = 0; i < loss.size(); ++i) o[i] = static_cast<T>(loss[i]);
  } else {
    // mean divides by the total weight of the counted elements (their number without weights).
    const double v = a.reduction == Reduction::kSum ? total : total / wsum;
    *out = Tensor::create(dtype_of<T>, {});
    out->data<T>()[0] = static_cast<T>(static_cast<float>(v));
  }
  return Status::ok();
}

class NllLossKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    return read_loss_attrs(cfg.node, "NegativeLogLikelihoodLoss", &attrs_);
  }
  Status compute(KernelContext& ctx) const override {
    static constexpr const char* kOp = "NegativeLogLikelihoodLoss";
    const Tensor* x = ctx.input(0);
    const Tensor* target = ctx.input(1);
    const Tensor* weight = ctx.input(2);
    if (weight && !weight->defined()) weight = nullptr;
    if (!x || !target) return invalid_argument(std::string(kOp) + ": missing input or target");
    int64_t n, c, d;
    NALAR_RETURN_IF_ERROR(check_loss_shapes(*x, *target, weight, kOp, &n, &c, &d));
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> t, read_int64s(*target, kOp));
    return dispatch_float(x->dtype(), kOp, [&](auto tag) {
      using T = typename decltype(tag)::type;
      std::vector<float> lp(static_cast<size_t>(x->size()));
      for (size_t i = 0; i < lp.size(); ++i) lp[i] = static_cast<float>(x->data<T>()[i]);
      return nll_from_logprob<T>(lp.data(), t, weight, n, c, d, attrs_, target->shape(), kOp,
                                 &ctx.output(0));
    });
  }

 private:
  LossAttrs attrs_;
};

class SoftmaxCrossEntropyLossKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    return read_loss_attrs(cfg.node, "SoftmaxCrossEntropyLoss", &attrs_);
  }
  Status compute(KernelContext& ctx) const override {
    static constexpr const char* kOp = "SoftmaxCrossEntropyLoss";
    const Tensor* x = ctx.input(0);
    const Tensor* target = ctx.input(1);
    const Tensor* weight = ctx.input(2);
    if (weight && !weight->defined()) weight = nullptr;
    if (!x || !target) return invalid_argument(std::string(kOp) + ": missing scores or labels");
    int64_t n, c, d;
    NALAR_RETURN_IF_ERROR(check_loss_shapes(*x, *target, weight, kOp, &n, &c, &d));
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> t, read_int64s(*target, kOp));
    return dispatch_float(x->dtype(), kOp, [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      const T* xp = x->data<T>();
      // log_softmax over C for every (n, d), with the max subtracted for stability.
      std::vector<float> lp(static_cast<size_t>(x->size()));
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < d; ++j) {
          float mx = -std::numeric_limits<float>::infinity();
          for (int64_t k = 0; k < c; ++k)
            mx = std::max(mx, static_cast<float>(xp[(i * c + k) * d + j]));
          double s = 0;
          for (int64_t k = 0; k < c; ++k)
            s += std::exp(static_cast<double>(xp[(i * c + k) * d + j]) - mx);
          const float lse = mx + static_cast<float>(std::log(s));
          for (int64_t k = 0; k < c; ++k)
            lp[static_cast<size_t>((i * c + k) * d + j)] =
                static_cast<float>(xp[(i * c + k) * d + j]) - lse;
        }
      }
      NALAR_RETURN_IF_ERROR(nll_from_logprob<T>(lp.data(), t, weight, n, c, d, attrs_,
                                                target->shape(), kOp, &ctx.output(0)));
      if (ctx.num_outputs() > 1) {
        Tensor out = Tensor::create(x->dtype(), x->shape());
        T* o = out.data<T>();
        for (size_t i = 0; i < lp.size(); ++i) o[i] = static_cast<T>(lp[i]);
        ctx.output(1) = std::move(out);
      }
      return Status::ok();
    });
  }

 private:
  LossAttrs attrs_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "NegativeLogLikelihoodLoss", 12, kMaxOpset, NllLossKernel);
NALAR_REGISTER_KERNEL("", "SoftmaxCrossEntropyLoss", 12, kMaxOpset, SoftmaxCrossEntropyLossKernel);

}  // namespace nalar
