// NonMaxSuppression (opset 10/11): greedy per-(batch, class) selection by descending score,
// dropping boxes whose IoU with an already selected box exceeds iou_threshold.
#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

struct Box {
  float y1, x1, y2, x2;
  float area() const { return (y2 - y1) * (x2 - x1); }
};

float iou(const Box& a, const Box& b) {
  const float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (ih <= 0 || iw <= 0) return 0.0f;
  const float inter = ih * iw;
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

Result<float> optional_float(const Tensor* t, float fallback, const char* what) {
  if (!t || t->size() == 0) return fallback;
  if (t->dtype() != DataType::kFloat)
    return invalid_argument(std::string("NonMaxSuppression: ") + what + " must be float");
  return t->data<float>()[0];
}

class NonMaxSuppressionKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    center_ = cfg.node.get_int("center_point_box", 0) != 0;
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* boxes = ctx.input(0);
    const Tensor* scores = ctx.input(1);
    if (!boxes || !scores) return invalid_argument("NonMaxSuppression: missing boxes or scores");
    if (boxes->dtype() != DataType::kFloat || scores->dtype() != DataType::kFloat)
      return unimplemented("NonMaxSuppression: boxes and scores must be float");
    if (boxes->rank() != 3 || boxes->dim(2) != 4 || scores->rank() != 3 ||
        scores->dim(0) != boxes->dim(0) || scores->dim(2) != boxes->dim(1))
      return invalid_argument(
          "NonMaxSuppression: expected boxes [B, N, 4] and scores [B, C, N], got " +
          shape_to_string(boxes->shape()) + " and " + shape_to_string(scores->shape()));
    int64_t max_out = 0;
    if (const Tensor* m = ctx.input(2); m && m->size() > 0) {
      NALAR_ASSIGN_OR_RETURN(auto v,
                             read_int64s(*m, "NonMaxSuppression: max_output_boxes_per_class"));
      max_out = v[0];
    }
    NALAR_ASSIGN_OR_RETURN(float iou_thr, optional_float(ctx.input(3), 0.0f, "iou_threshold"));
    const Tensor* st = ctx.input(4);
    const bool has_score_thr = st && st->size() > 0;
    NALAR_ASSIGN_OR_RETURN(float score_thr, optional_float(st, 0.0f, "score_threshold"));
    if (iou_thr < 0 || iou_thr > 1)
      return invalid_argument("NonMaxSuppression: iou_threshold must be in [0, 1]");

    const int64_t nb = boxes->dim(0), n = boxes->dim(1), nc = scores->dim(1);
    std::vector<int64_t> selected;  // triples
    std::vector<Box> bx(static_cast<size_t>(n));
    std::vector<int64_t> cand, keep;
    for (int64_t b = 0; b < nb; ++b) {
      const float* bp = boxes->data<float>() + b * n * 4;
      for (int64_t i = 0; i < n; ++i) {
        const float* p = bp + i * 4;
        if (center_) {  // [x_center, y_center, width, height]
          bx[i] = {p[1] - p[3] / 2, p[0] - p[2] / 2, p[1] + p[3] / 2, p[0] + p[2] / 2};
        } else {  // [y1, x1, y2, x2], corners in either order
          bx[i] = {std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]),
                   std::max(p[1], p[3])};
        }
      }
      for (int64_t c = 0; c < nc; ++c) {
        if (max_out <= 0) break;
        const float* sp = scores->data<float>() + (b * nc + c) * n;
        cand.clear();
        for (int64_t i = 0; i < n; ++i)
          if (!has_score_thr || sp[i] > score_thr) cand.push_back(i);
        std::stable_sort(cand.begin(), cand.end(),
                         [&](int64_t a, int64_t d) { return sp[a] > sp[d]; });
        keep.clear();
        for (int64_t i : cand) {
          if (static_cast<int64_t>(keep.size()) >= max_out) break;
          bool ok = true;
          for (int64_t k : keep)
            if (iou(bx[i], bx[k]) > iou_thr) {
              ok = false;
              break;
            }
          if (ok) keep.push_back(i);
        }
        for (int64_t k : keep) selected.insert(selected.end(), {b, c, k});
      }
    }
    const int64_t count = static_cast<int64_t>(selected.size()) / 3;
    Tensor y = Tensor::create(DataType::kInt64, {count, 3});
    std::copy(selected.begin(), selected.end(), y.data<int64_t>());
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  bool center_ = false;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "NonMaxSuppression", 10, kMaxOpset, NonMaxSuppressionKernel);

}  // namespace nalar
