// LSTM (ai.onnx, opsets 1-14+): gate order i, o, f, c. The input projection X*W^T + Wb + Rb is
// one GEMM over all timesteps; each step then does one GEMM H*R^T for the whole batch.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/common.h"
#include "kernels/kernel.h"
#include "kernels/rnn/rnn_common.h"

namespace nalar {
namespace {

using rnn::Direction;

class LstmKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    rt_const_ = rnn::transpose_recurrent(cfg.constant(2));
    NALAR_RETURN_IF_ERROR(
        rnn::parse_attributes(cfg.node, "LSTM", {"Sigmoid", "Tanh", "Tanh"}, &attrs_));
    input_forget_ = cfg.node.get_int("input_forget", 0) != 0;
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    rnn::RnnInputs in;
    NALAR_RETURN_IF_ERROR(rnn::read_inputs(ctx, "LSTM", attrs_, 4, true, &in));
    if (in.x.dtype() == DataType::kDouble) return run<double>(in, ctx);
    return run<float>(in, ctx);
  }

 private:
  template <class T>
  Status run(const rnn::RnnInputs& in, KernelContext& ctx) const {
    const int64_t dirs = attrs_.num_directions, S = in.seq_length, B = in.batch, I = in.input_size,
                  H = in.hidden, G4 = 4 * H;
    const DataType dt = in.x.dtype();
    Tensor y = Tensor::create(dt, {S, dirs, B, H});
    Tensor yh = Tensor::create(dt, {dirs, B, H});
    Tensor yc = Tensor::create(dt, {dirs, B, H});
    const int64_t max_len = B > 0 ? *std::max_element(in.seq_lens.begin(), in.seq_lens.end()) : 0;

    std::vector<T> xw(static_cast<size_t>(S * B * G4));
    std::vector<T> gates(static_cast<size_t>(B * G4));
    std::vector<T> bias(static_cast<size_t>(G4));
    std::vector<T> rt;
    for (int64_t d = 0; d < dirs; ++d) {
      const bool reverse = attrs_.direction == Direction::kReverse || d == 1;
      const T* w = in.w->data<T>() + d * G4 * I;
      const T* r = in.r->data<T>() + d * G4 * H;
      const T* bias_ptr = nullptr;
      if (in.b) {
        const T* b = in.b->data<T>() + d * 2 * G4;
        for (int64_t j = 0; j < G4; ++j) bias[static_cast<size_t>(j)] = b[j] + b[G4 + j];
        bias_ptr = bias.data();
      }
      rnn::project_inputs<T>(in.x.data<T>(), S * B, I, w, G4, bias_ptr, xw.data());
      const T* rtd = rnn::recurrent_transposed<T>(rt_const_, r, G4, H, d, rt);

      T* h = yh.data<T>() + d * B * H;  // the running state lives in the outputs
      T* c = yc.data<T>() + d * B * H;
      if (in.initial_h.defined())
        std::memcpy(h, in.initial_h.data<T>() + d * B * H, sizeof(T) * B * H);
      if (in.initial_c.defined())
        std::memcpy(c, in.initial_c.data<T>() + d * B * H, sizeof(T) * B * H);
      const T* p = in.p ? in.p->data<T>() + d * 3 * H : nullptr;
      const rnn::Activation& fa = attrs_.activations[static_cast<size_t>(d * 3)];
      const rnn::Activation& ga = attrs_.activations[static_cast<size_t>(d * 3 + 1)];
      const rnn::Activation& ha = attrs_.activations[static_cast<size_t>(d * 3 + 2)];
      const float clip = attrs_.clip;
      T* yd = y.data<T>();

      for (int64_t s = 0; s < max_len; ++s) {
        rnn::recurrent_gemm<T>(B, G4, H, h, H, r, H, rtd, G4, gates.data(), G4);
        parallel_for(B, 4, [&](int64_t b0, int64_t b1) {
          for (int64_t b = b0; b < b1; ++b) {
            const int64_t len = in.seq_lens[static_cast<size_t>(b)];
            if (s >= len) continue;
            const int64_t t = rnn::time_index(s, len, reverse);
            T* g = gates.data() + b * G4;
            const T* xr = xw.data() + (t * B + b) * G4;
            for (int64_t j = 0; j < G4; ++j) g[j] += xr[j];
            T *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
            T* cb = c + b * H;
            T* hb = h + b * H;
            if (p) {
              for (int64_t j = 0; j < H; ++j) {
                gi[j] += p[j] * cb[j];
                gf[j] += p[2 * H + j] * cb[j];
              }
            }
            rnn::apply_clip(gi, H, clip);
            rnn::apply_activation(fa, gi, H);
            if (input_forget_) {
              for (int64_t j = 0; j < H; ++j) gf[j] = T(1) - gi[j];
            } else {
              rnn::apply_clip(gf, H, clip);
              rnn::apply_activation(fa, gf, H);
            }
            rnn::apply_clip(gc, H, clip);
            rnn::apply_activation(ga, gc, H);
            for (int64_t j = 0; j < H; ++j) cb[j] = gf[j] * cb[j] + gi[j] * gc[j];
            if (p)
              for (int64_t j = 0; j < H; ++j) go[j] += p[H + j] * cb[j];
            rnn::apply_clip(go, H, clip);
            rnn::apply_activation(fa, go, H);
            std::memcpy(gc, cb, sizeof(T) * H);  // gc is free now: h(C) goes there
            rnn::apply_activation(ha, gc, H);
            for (int64_t j = 0; j < H; ++j) hb[j] = go[j] * gc[j];
            std::memcpy(yd + ((t * dirs + d) * B + b) * H, hb, sizeof(T) * H);
          }
        });
      }
    }
    if (ctx.num_outputs() > 0) ctx.output(0) = rnn::finish_y(y, attrs_.layout);
    if (ctx.num_outputs() > 1) ctx.output(1) = rnn::finish_state(yh, attrs_.layout);
    if (ctx.num_outputs() > 2) ctx.output(2) = rnn::finish_state(yc, attrs_.layout);
    return Status::ok();
  }

  rnn::RnnAttributes attrs_;
  Tensor rt_const_;  // R^T per direction when R is an initializer
  bool input_forget_ = false;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "LSTM", 1, kMaxOpset, LstmKernel);

}  // namespace nalar
