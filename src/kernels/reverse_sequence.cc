// ReverseSequence: per batch entry, reverses the first seq_len steps along the time axis.
#include "kernels/kernel.h"
#include "kernels/shape_util.h"

namespace nalar {
namespace {

class ReverseSequenceKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    batch_axis_ = cfg.node.get_int("batch_axis", 1);
    time_axis_ = cfg.node.get_int("time_axis", 0);
    if ((batch_axis_ != 0 && batch_axis_ != 1) || (time_axis_ != 0 && time_axis_ != 1) ||
        batch_axis_ == time_axis_)
      return invalid_argument(
          "ReverseSequence: batch_axis and time_axis must be 0 and 1 in some order");
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* lens_t = ctx.input(1);
    if (!x || !lens_t) return invalid_argument("ReverseSequence: missing input");
    if (x->rank() < 2) return invalid_argument("ReverseSequence: input must have rank >= 2");
    const int64_t batch = x->dim(batch_axis_), steps = x->dim(time_axis_);
    NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> lens,
                           read_int64s(*lens_t, "ReverseSequence 'sequence_lens'"));
    if (lens_t->rank() != 1 || static_cast<int64_t>(lens.size()) != batch)
      return invalid_argument("ReverseSequence: 'sequence_lens' must be 1-D of size " +
                              std::to_string(batch) + ", got " + lens_t->describe());
    for (int64_t l : lens)
      if (l < 0 || l > steps)
        return invalid_argument("ReverseSequence: sequence length " + std::to_string(l) +
                                " is outside [0, " + std::to_string(steps) + "]");
    Tensor out = x->clone();
    const std::vector<int64_t> st = strides_of(x->shape());
    const size_t ta = static_cast<size_t>(time_axis_), ba = static_cast<size_t>(batch_axis_);
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t len = lens[static_cast<size_t>(b)];
      if (len <= 1) continue;
      // Copy steps [0, len) of this batch entry, reading the time axis backwards.
      Shape space = x->shape();
      space[ba] = 1;
      space[ta] = len;
      StridedView sv{b * st[ba] + (len - 1) * st[ta], st}, dv{b * st[ba], st};
      sv.strides[ta] = -st[ta];
      strided_copy(*x, sv, out, dv, space);
    }
    ctx.output(0) = std::move(out);
    return Status::ok();
  }

 private:
  int64_t batch_axis_ = 1, time_axis_ = 0;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "ReverseSequence", 10, kMaxOpset, ReverseSequenceKernel);

}  // namespace nalar
