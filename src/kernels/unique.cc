// Unique: distinct elements (or distinct slices along `axis`), sorted or in order of first
// occurrence, with first-occurrence indices, inverse indices and counts.
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

class UniqueKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    has_axis_ = cfg.node.has("axis");
    axis_ = cfg.node.get_int("axis", 0);
    sorted_ = cfg.node.get_int("sorted", 1) != 0;
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("Unique: missing input");
    // View the input as [outer, n, inner]; the n slices along the middle are deduplicated.
    int64_t outer = 1, n = x->size(), inner = 1, axis = 0;
    if (has_axis_) {
      NALAR_ASSIGN_OR_RETURN(axis, normalize_axis(axis_, x->rank(), "Unique"));
      if (x->rank() == 0) return invalid_argument("Unique: axis given for a scalar input");
      for (int64_t i = 0; i < axis; ++i) outer *= x->dim(i);
      n = x->dim(axis);
      for (int64_t i = axis + 1; i < x->rank(); ++i) inner *= x->dim(i);
    }
    return dispatch_all(x->dtype(), "Unique", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, std::complex<float>> ||
                    std::is_same_v<T, std::complex<double>>) {
        return unsupported_dtype("Unique", x->dtype());
      } else {
        const T* in = x->data<T>();
        auto at = [&](int64_t s, int64_t o, int64_t i) -> const T& {
          return in[(o * n + s) * inner + i];
        };
        // -1, 0, 1 lexicographic comparison of slices a and b.
        auto cmp = [&](int64_t a, int64_t b) {
          for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < inner; ++i) {
              const auto va = comparable(at(a, o, i)), vb = comparable(at(b, o, i));
              if (total_less(va, vb)) return -1;
              if (total_less(vb, va)) return 1;
            }
          return 0;
        };
        std::vector<int64_t> order(static_cast<size_t>(n));
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
        // Groups of equal slices in sorted order; the first of each group is its first occurrence.
        std::vector<int64_t> first, count, group_of(static_cast<size_t>(n));
        for (size_t j = 0; j < order.size(); ++j) {
          if (j == 0 || cmp(order[j - 1], order[j]) != 0) {
            first.push_back(order[j]);
            count.push_back(0);
          }
          group_of[order[j]] = static_cast<int64_t>(first.size()) - 1;
          ++count.back();
        }
        const int64_t u = static_cast<int64_t>(first.size());
        // rank_of[g]: output position of group g.
        std::vector<int64_t> pos(static_cast<size_t>(u));
        std::iota(pos.begin(), pos.end(), 0);
        if (!sorted_)
          std::sort(pos.begin(), pos.end(),
                    [&](int64_t a, int64_t b) { return first[a] < first[b]; });
        std::vector<int64_t> rank_of(static_cast<size_t>(u));
        for (int64_t p = 0; p < u; ++p) rank_of[pos[p]] = p;

        Shape y_shape = has_axis_ ? x->shape() : Shape{u};
        if (has_axis_) y_shape[axis] = u;
        Tensor y = Tensor::create(x->dtype(), y_shape);
        T* yo = y.data<T>();
        for (int64_t p = 0; p < u; ++p)
          for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < inner; ++i)
              yo[(o * u + p) * inner + i] = at(first[pos[p]], o, i);
        Tensor idx = Tensor::create(DataType::kInt64, {u});
        Tensor inv = Tensor::create(DataType::kInt64, {n});
        Tensor cnt = Tensor::create(DataType::kInt64, {u});
        for (int64_t p = 0; p < u; ++p) {
          idx.data<int64_t>()[p] = first[pos[p]];
          cnt.data<int64_t>()[p] = count[pos[p]];
        }
        for (int64_t s = 0; s < n; ++s) inv.data<int64_t>()[s] = rank_of[group_of[s]];
        ctx.output(0) = std::move(y);
        if (ctx.num_outputs() > 1) ctx.output(1) = std::move(idx);
        if (ctx.num_outputs() > 2) ctx.output(2) = std::move(inv);
        if (ctx.num_outputs() > 3) ctx.output(3) = std::move(cnt);
        return Status::ok();
      }
    });
  }

 private:
  bool has_axis_ = false;
  int64_t axis_ = 0;
  bool sorted_ = true;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Unique", 11, kMaxOpset, UniqueKernel);

}  // namespace nalar
