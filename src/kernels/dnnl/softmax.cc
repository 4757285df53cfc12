// Softmax and LogSoftmax. Before opset 13 the input is flattened to 2-D at `axis` (default 1)
// and normalised over the second dim; from 13 on it is normalised along `axis` (default -1).
// float32 runs on oneDNN's vectorised softmax/logsoftmax, other float types on a direct loop.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/dnnl/dnnl_context.h"
#include "kernels/fast_math.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

template <class T>
void softmax_direct(const T* x, T* y, int64_t outer, int64_t dim, int64_t inner, bool log) {
  using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;
  parallel_for(outer * inner, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t o = r / inner, i = r % inner;
      const T* xr = x + o * dim * inner + i;
      T* yr = y + o * dim * inner + i;
      Acc mx = static_cast<Acc>(xr[0]);
      for (int64_t j = 1; j < dim; ++j) mx = std::max(mx, static_cast<Acc>(xr[j * inner]));
      Acc sum = 0;
      for (int64_t j = 0; j < dim; ++j) sum += std::exp(static_cast<Acc>(xr[j * inner]) - mx);
      if (log) {
        const Acc lse = std::log(sum);
        for (int64_t j = 0; j < dim; ++j)
          yr[j * inner] = static_cast<T>(static_cast<Acc>(xr[j * inner]) - mx - lse);
      } else {
        for (int64_t j = 0; j < dim; ++j)
          yr[j * inner] = static_cast<T>(std::exp(static_cast<Acc>(xr[j * inner]) - mx) / sum);
      }
    }
  });
}

class SoftmaxKernel : public Kernel {
 public:
  explicit SoftmaxKernel(bool log) : log_(log) {}

  Status prepare(const KernelConfig& cfg) override {
    flatten_ = cfg.opset < 13;
    axis_ = cfg.node.get_int("axis", flatten_ ? 1 : -1);
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const char* op = log_ ? "LogSoftmax" : "Softmax";
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument(std::string(op) + ": missing input");
    const int64_t rank = std::max<int64_t>(x->rank(), 1);
    int64_t outer = 1, dim = 1, inner = 1;
    if (flatten_) {
      // axis may equal rank here (everything in the outer part).
      int64_t a = axis_ < 0 ? axis_ + rank : axis_;
      if (a < 0 || a > rank)
        return invalid_argument(std::string(op) + ": axis " + std::to_string(axis_) +
                                " out of range for rank " + std::to_string(rank));
      for (int64_t i = 0; i < x->rank(); ++i) (i < a ? outer : dim) *= x->dim(i);
    } else {
      NALAR_ASSIGN_OR_RETURN(int64_t a, normalize_axis(axis_, rank, op));
      for (int64_t i = 0; i < x->rank(); ++i) {
        if (i < a)
          outer *= x->dim(i);
        else if (i == a)
          dim = x->dim(i);
        else
          inner *= x->dim(i);
      }
    }
    Tensor& y = ctx.output(0);
    y = Tensor::empty(x->dtype(), x->shape());
    if (y.size() == 0) return Status::ok();
    if (x->dtype() == DataType::kFloat) {
      return dnnl_util::guard(op, [&]() -> Status {
        auto prim = get_primitive(outer, dim, inner);
        dnnl_util::execute(prim->prim, {{DNNL_ARG_SRC, dnnl_util::wrap(prim->md, x->raw())},
                                        {DNNL_ARG_DST, dnnl_util::wrap(prim->md, y.raw())}});
        return Status::ok();
      });
    }
    return dispatch_float(x->dtype(), op, [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      softmax_direct<T>(x->data<T>(), y.data<T>(), outer, dim, inner, log_);
      return Status::ok();
    });
  }

 private:
  struct Prim {
    dnnl::primitive prim;
    dnnl::memory::desc md;
  };

  std::shared_ptr<const Prim> get_primitive(int64_t outer, int64_t dim, int64_t inner) const {
    std::vector<int64_t> key{outer, dim, inner};
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    auto p = std::make_shared<Prim>();
    p->md =
        inner == 1 ? dnnl_util::plain_md({outer, dim}) : dnnl_util::plain_md({outer, dim, inner});
    const auto pk = dnnl::prop_kind::forward_inference;
    if (log_) {
      dnnl::logsoftmax_forward::desc d(pk, p->md, 1);
      p->prim = dnnl::logsoftmax_forward(dnnl::logsoftmax_forward::primitive_desc(
          d, dnnl_util::user_scratch_attr(), dnnl_util::engine()));
    } else {
      dnnl::softmax_forward::desc d(pk, p->md, 1);
      p->prim = dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(
          d, dnnl_util::user_scratch_attr(), dnnl_util::engine()));
    }
    if (cache_.size() >= dnnl_util::kMaxShapesPerKernel) cache_.clear();  // bound memory
    cache_.emplace(key, p);
    return p;
  }

  bool log_;
  bool flatten_ = false;
  int64_t axis_ = -1;
  mutable std::mutex mu_;
  mutable std::map<std::vector<int64_t>, std::shared_ptr<const Prim>> cache_;
};

struct SoftmaxOp : SoftmaxKernel {
  SoftmaxOp() : SoftmaxKernel(false) {}
};
struct LogSoftmaxOp : SoftmaxKernel {
  LogSoftmaxOp() : SoftmaxKernel(true) {}
};

// com.nalar AddSoftmax: Softmax(A + B) over the last axis, B broadcast (attention scores plus
// the additive mask): one pass per row instead of an Add and a Softmax over the scores.
class AddSoftmaxKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* a = ctx.input(0);
    const Tensor* b = ctx.input(1);
    if (!a || !b || a->dtype() != DataType::kFloat || b->dtype() != DataType::kFloat)
      return invalid_argument("AddSoftmax: A and B must be float tensors");
    NALAR_ASSIGN_OR_RETURN(Shape shape, broadcast_shapes(a->shape(), b->shape(), "AddSoftmax"));
    if (shape.empty()) return invalid_argument("AddSoftmax: needs an axis to normalise over");
    Tensor& y = ctx.output(0);
    y = Tensor::create(DataType::kFloat, shape);
    if (y.size() == 0) return Status::ok();
    const size_t r = shape.size();
    const int64_t inner = shape.back(), rows = y.size() / inner;
    Shape as = a->shape(), bs = b->shape();
    while (as.size() < r) as.insert(as.begin(), 1);
    while (bs.size() < r) bs.insert(bs.begin(), 1);
    const std::vector<int64_t> sa = broadcast_strides(as, shape), sb = broadcast_strides(bs, shape);
    const int64_t la = sa[r - 1], lb = sb[r - 1];  // 0 (broadcast) or 1
    const float* ap = a->data<float>();
    const float* bp = b->data<float>();
    float* yp = y.data<float>();
    parallel_for(rows, 4, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        int64_t rem = row, ao = 0, bo = 0;
        for (size_t d = r - 1; d-- > 0;) {
          const int64_t v = rem % shape[d];
          rem /= shape[d];
          ao += v * sa[d];
          bo += v * sb[d];
        }
        float* yr = yp + row * inner;
        const float* ar = ap + ao;
        const float* br = bp + bo;
        float mx = -INFINITY;
        for (int64_t j = 0; j < inner; ++j) {
          yr[j] = ar[j * la] + br[j * lb];
          mx = std::max(mx, yr[j]);
        }
        if (std::isinf(mx)) mx = 0;  // an all -inf row gives NaN, like Softmax
        map_f8(yr, yr, inner, [mx](VecF8 v) { return fast_exp8(v - mx); });
        float sum = 0;
        for (int64_t j = 0; j < inner; ++j) sum += yr[j];
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j < inner; ++j) yr[j] *= inv;
      }
    });
    return Status::ok();
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("com.nalar", "AddSoftmax", 1, kMaxOpset, AddSoftmaxKernel);
NALAR_REGISTER_KERNEL("", "Softmax", 1, kMaxOpset, SoftmaxOp);
NALAR_REGISTER_KERNEL("", "LogSoftmax", 1, kMaxOpset, LogSoftmaxOp);

}  // namespace nalar
