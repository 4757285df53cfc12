// RNN (ai.onnx): Ht = f(Xt*W^T + Ht-1*R^T + Wb + Rb), f = Tanh by default.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/common.h"
#include "kernels/kernel.h"
#include "kernels/rnn/rnn_common.h"

namespace nalar {
namespace {

using rnn::Direction;

class RnnKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    rt_const_ = rnn::transpose_recurrent(cfg.constant(2));
    return rnn::parse_attributes(cfg.node, "RNN", {"Tanh"}, &attrs_);
  }

  Status compute(KernelContext& ctx) const override {
    rnn::RnnInputs in;
    NALAR_RETURN_IF_ERROR(rnn::read_inputs(ctx, "RNN", attrs_, 1, false, &in));
    if (in.x.dtype() == DataType::kDouble) return run<double>(in, ctx);
    return run<float>(in, ctx);
  }

 private:
  template <class T>
  Status run(const rnn::RnnInputs& in, KernelContext& ctx) const {
    const int64_t dirs = attrs_.num_directions, S = in.seq_length, B = in.batch, I = in.input_size,
                  H = in.hidden;
    const DataType dt = in.x.dtype();
    Tensor y = Tensor::create(dt, {S, dirs, B, H});
    Tensor yh = Tensor::create(dt, {dirs, B, H});
    const int64_t max_len = B > 0 ? *std::max_element(in.seq_lens.begin(), in.seq_lens.end()) : 0;

    std::vector<T> xw(static_cast<size_t>(S * B * H));
    std::vector<T> gates(static_cast<size_t>(B * H));
    std::vector<T> bias(static_cast<size_t>(H));
    std::vector<T> rt;
    for (int64_t d = 0; d < dirs; ++d) {
      const bool reverse = attrs_.direction == Direction::kReverse || d == 1;
      const T* w = in.w->data<T>() + d * H * I;
      const T* r = in.r->data<T>() + d * H * H;
      const T* bias_ptr = nullptr;
      if (in.b) {
        const T* b = in.b->data<T>() + d * 2 * H;
        for (int64_t j = 0; j < H; ++j) bias[static_cast<size_t>(j)] = b[j] + b[H + j];
        bias_ptr = bias.data();
      }
      rnn::project_inputs<T>(in.x.data<T>(), S * B, I, w, H, bias_ptr, xw.data());
      const T* rtd = rnn::recurrent_transposed<T>(rt_const_, r, H, H, d, rt);

      T* h = yh.data<T>() + d * B * H;
      if (in.initial_h.defined())
        std::memcpy(h, in.initial_h.data<T>() + d * B * H, sizeof(T) * B * H);
      const rnn::Activation& fa = attrs_.activations[static_cast<size_t>(d)];
      const float clip = attrs_.clip;
      T* yd = y.data<T>();

      for (int64_t s = 0; s < max_len; ++s) {
        rnn::recurrent_gemm<T>(B, H, H, h, H, r, H, rtd, H, gates.data(), H);
        parallel_for(B, 4, [&](int64_t b0, int64_t b1) {
          for (int64_t b = b0; b < b1; ++b) {
            const int64_t len = in.seq_lens[static_cast<size_t>(b)];
            if (s >= len) continue;
            const int64_t t = rnn::time_index(s, len, reverse);
            T* g = gates.data() + b * H;
            const T* xr = xw.data() + (t * B + b) * H;
            for (int64_t j = 0; j < H; ++j) g[j] += xr[j];
            rnn::apply_clip(g, H, clip);
            rnn::apply_activation(fa, g, H);
            std::memcpy(h + b * H, g, sizeof(T) * H);
            std::memcpy(yd + ((t * dirs + d) * B + b) * H, g, sizeof(T) * H);
          }
        });
      }
    }
    if (ctx.num_outputs() > 0) ctx.output(0) = rnn::finish_y(y, attrs_.layout);
    if (ctx.num_outputs() > 1) ctx.output(1) = rnn::finish_state(yh, attrs_.layout);
    return Status::ok();
  }

  rnn::RnnAttributes attrs_;
  Tensor rt_const_;  // R^T per direction when R is an initializer
};

}  // namespace

NALAR_REGISTER_KERNEL("", "RNN", 1, kMaxOpset, RnnKernel);

}  // namespace nalar
