// TopK: the k largest (or smallest) elements along an axis and their indices. Equal values keep
// the lower index first, so results are deterministic whether or not `sorted` is set.
#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/compare_util.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

class TopKKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    k_from_attr_ = cfg.opset < 10;
    k_attr_ = cfg.node.get_int("k", -1);
    axis_ = cfg.node.get_int("axis", -1);
    largest_ = cfg.node.get_int("largest", 1) != 0;
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("TopK: missing input 'X'");
    int64_t k = k_attr_;
    if (!k_from_attr_) {
      const Tensor* kt = ctx.input(1);
      if (!kt) return invalid_argument("TopK: missing input 'K'");
      NALAR_ASSIGN_OR_RETURN(auto kv, read_int64s(*kt, "TopK: K"));
      if (kv.size() != 1)
        return invalid_argument("TopK: K must hold one value, got " + shape_to_string(kt->shape()));
      k = kv[0];
    }
    if (x->rank() == 0) return invalid_argument("TopK: input must have rank >= 1");
    NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_, x->rank(), "TopK"));
    const int64_t n = x->dim(axis);
    if (k < 0 || k > n)
      return invalid_argument("TopK: k=" + std::to_string(k) + " is out of range for axis size " +
                              std::to_string(n));
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x->dim(i);
    for (int64_t i = axis + 1; i < x->rank(); ++i) inner *= x->dim(i);
    Shape out_shape = x->shape();
    out_shape[axis] = k;
    Tensor values = Tensor::create(x->dtype(), out_shape);
    Tensor indices = Tensor::create(DataType::kInt64, out_shape);
    const bool largest = largest_;
    Status st = dispatch_numeric(x->dtype(), "TopK", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x->data<T>();
      T* vo = values.data<T>();
      int64_t* io = indices.data<int64_t>();
      parallel_for(outer * inner, 64, [&](int64_t b, int64_t e) {
        std::vector<int64_t> order(static_cast<size_t>(n));
        for (int64_t s = b; s < e; ++s) {
          const int64_t o = s / inner, i = s % inner;
          const T* p = in + o * n * inner + i;
          std::iota(order.begin(), order.end(), 0);
          auto before = [&](int64_t a, int64_t c) {
            const auto va = comparable(p[a * inner]), vc = comparable(p[c * inner]);
            if (total_less(va, vc)) return !largest;
            if (total_less(vc, va)) return largest;
            return a < c;
          };
          std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
          const int64_t obase = o * k * inner + i;
          for (int64_t j = 0; j < k; ++j) {
            vo[obase + j * inner] = p[order[j] * inner];
            io[obase + j * inner] = order[j];
          }
        }
      });
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(st);
    ctx.output(0) = std::move(values);
    if (ctx.num_outputs() > 1) ctx.output(1) = std::move(indices);
    return Status::ok();
  }

 private:
  bool k_from_attr_ = false;
  int64_t k_attr_ = -1;
  int64_t axis_ = -1;
  bool largest_ = true;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "TopK", 1, kMaxOpset, TopKKernel);

}  // namespace nalar
