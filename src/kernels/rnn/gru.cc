// GRU (ai.onnx): gate order z, r, h. Biases that are plain additions are folded into the one
// input-projection GEMM; with linear_before_reset the recurrent h-bias stays inside r * (...).
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/common.h"
#include "kernels/kernel.h"
#include "kernels/rnn/rnn_common.h"

namespace nalar {
namespace {

using rnn::Direction;

class GruKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    rt_const_ = rnn::transpose_recurrent(cfg.constant(2));
    NALAR_RETURN_IF_ERROR(rnn::parse_attributes(cfg.node, "GRU", {"Sigmoid", "Tanh"}, &attrs_));
    linear_before_reset_ = cfg.node.get_int("linear_before_reset", 0) != 0;
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    rnn::RnnInputs in;
    NALAR_RETURN_IF_ERROR(rnn::read_inputs(ctx, "GRU", attrs_, 3, false, &in));
    if (in.x.dtype() == DataType::kDouble) return run<double>(in, ctx);
    return run<float>(in, ctx);
  }

 private:
  template <class T>
  Status run(const rnn::RnnInputs& in, KernelContext& ctx) const {
    const int64_t dirs = attrs_.num_directions, S = in.seq_length, B = in.batch, I = in.input_size,
                  H = in.hidden, G3 = 3 * H;
    const DataType dt = in.x.dtype();
    Tensor y = Tensor::create(dt, {S, dirs, B, H});
    Tensor yh = Tensor::create(dt, {dirs, B, H});
    const int64_t max_len = B > 0 ? *std::max_element(in.seq_lens.begin(), in.seq_lens.end()) : 0;
    const bool lbr = linear_before_reset_;

    std::vector<T> xw(static_cast<size_t>(S * B * G3));
    std::vector<T> gates(static_cast<size_t>(B * G3));
    std::vector<T> rh(lbr ? 0 : static_cast<size_t>(B * H));  // r (.) H for the default form
    std::vector<T> bias(static_cast<size_t>(G3));
    std::vector<T> rt;  // R^T: [H, 3H]
    std::vector<T> rbh(static_cast<size_t>(H), T(0));                // recurrent h-bias when lbr
    for (int64_t d = 0; d < dirs; ++d) {
      const bool reverse = attrs_.direction == Direction::kReverse || d == 1;
      const T* w = in.w->data<T>() + d * G3 * I;
      const T* r = in.r->data<T>() + d * G3 * H;
      const T* bias_ptr = nullptr;
      if (in.b) {
        const T* b = in.b->data<T>() + d * 2 * G3;
        for (int64_t j = 0; j < G3; ++j) {
          const bool keep_rb_apart = lbr && j >= 2 * H;
          bias[static_cast<size_t>(j)] = b[j] + (keep_rb_apart ? T(0) : b[G3 + j]);
        }
        if (lbr)
          for (int64_t j = 0; j < H; ++j) rbh[static_cast<size_t>(j)] = b[G3 + 2 * H + j];
        bias_ptr = bias.data();
      }
      rnn::project_inputs<T>(in.x.data<T>(), S * B, I, w, G3, bias_ptr, xw.data());
      const T* rtd = rnn::recurrent_transposed<T>(rt_const_, r, G3, H, d, rt);

      T* h = yh.data<T>() + d * B * H;
      if (in.initial_h.defined())
        std::memcpy(h, in.initial_h.data<T>() + d * B * H, sizeof(T) * B * H);
      const rnn::Activation& fa = attrs_.activations[static_cast<size_t>(d * 2)];
      const rnn::Activation& ga = attrs_.activations[static_cast<size_t>(d * 2 + 1)];
      const float clip = attrs_.clip;
      T* yd = y.data<T>();

      for (int64_t s = 0; s < max_len; ++s) {
        // z and r (and, with lbr, H*Rh^T) for the whole batch.
        rnn::recurrent_gemm<T>(B, lbr ? G3 : 2 * H, H, h, H, r, H, rtd, G3, gates.data(), G3);
        parallel_for(B, 4, [&](int64_t b0, int64_t b1) {
          for (int64_t b = b0; b < b1; ++b) {
            const int64_t len = in.seq_lens[static_cast<size_t>(b)];
            if (s >= len) continue;
            const int64_t t = rnn::time_index(s, len, reverse);
            T* g = gates.data() + b * G3;
            const T* xr = xw.data() + (t * B + b) * G3;
            for (int64_t j = 0; j < 2 * H; ++j) g[j] += xr[j];
            rnn::apply_clip(g, 2 * H, clip);
            rnn::apply_activation(fa, g, 2 * H);
            if (!lbr) {
              const T* hb = h + b * H;
              T* rhb = rh.data() + b * H;
              for (int64_t j = 0; j < H; ++j) rhb[j] = g[H + j] * hb[j];
            }
          }
        });
        // Default form: (r (.) H) * Rh^T.
        if (!lbr)
          rnn::recurrent_gemm<T>(B, H, H, rh.data(), H, r + 2 * H * H, H, rtd + 2 * H, G3,
                                 gates.data() + 2 * H, G3);
        parallel_for(B, 4, [&](int64_t b0, int64_t b1) {
          for (int64_t b = b0; b < b1; ++b) {
            const int64_t len = in.seq_lens[static_cast<size_t>(b)];
            if (s >= len) continue;
            const int64_t t = rnn::time_index(s, len, reverse);
            T* g = gates.data() + b * G3;
            const T* xr = xw.data() + (t * B + b) * G3 + 2 * H;
            T *z = g, *rg = g + H, *gh = g + 2 * H;
            if (lbr) {
              for (int64_t j = 0; j < H; ++j) gh[j] = xr[j] + rg[j] * (gh[j] + rbh[j]);
            } else {
              for (int64_t j = 0; j < H; ++j) gh[j] += xr[j];
            }
            rnn::apply_clip(gh, H, clip);
            rnn::apply_activation(ga, gh, H);
            T* hb = h + b * H;
            for (int64_t j = 0; j < H; ++j) hb[j] = (T(1) - z[j]) * gh[j] + z[j] * hb[j];
            std::memcpy(yd + ((t * dirs + d) * B + b) * H, hb, sizeof(T) * H);
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
  bool linear_before_reset_ = false;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "GRU", 1, kMaxOpset, GruKernel);

}  // namespace nalar
