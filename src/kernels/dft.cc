// DFT and STFT (opset 17). Signals carry a trailing dimension of 1 (real) or 2 (real, imag);
// outputs are always complex. Power-of-two lengths use an iterative radix-2 FFT, other lengths a
// direct DFT over a precomputed twiddle table; both in double precision.
#include <cmath>
#include <complex>
#include <numbers>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

using Cd = std::complex<double>;

// Transforms of one length and direction. apply() is const and thread-safe.
class DftPlan {
 public:
  DftPlan(int64_t n, bool inverse) : n_(n), inverse_(inverse) {
    pow2_ = n > 0 && (n & (n - 1)) == 0;
    const double sign = inverse ? 1.0 : -1.0;
    twiddle_.resize(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k)
      twiddle_[k] = std::polar(
          1.0, sign * 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n));
    if (pow2_) {
      bitrev_.resize(static_cast<size_t>(n));
      int bits = 0;
      while ((int64_t{1} << bits) < n) ++bits;
      for (int64_t i = 0; i < n; ++i) {
        int64_t r = 0;
        for (int b = 0; b < bits; ++b)
          if (i & (int64_t{1} << b)) r |= int64_t{1} << (bits - 1 - b);
        bitrev_[i] = r;
      }
    }
  }

  // out[k] for k < n (inverse includes the 1/n scale). `in` and `out` must not alias.
  void apply(const Cd* in, Cd* out) const {
    const int64_t n = n_;
    if (pow2_) {
      for (int64_t i = 0; i < n; ++i) out[bitrev_[i]] = in[i];
      for (int64_t len = 2; len <= n; len <<= 1) {
        const int64_t half = len / 2, step = n / len;
        for (int64_t s = 0; s < n; s += len)
          for (int64_t j = 0; j < half; ++j) {
            const Cd t = twiddle_[j * step] * out[s + j + half];
            out[s + j + half] = out[s + j] - t;
            out[s + j] += t;
          }
      }
    } else {
      for (int64_t k = 0; k < n; ++k) {
        Cd acc = 0;
        int64_t idx = 0;
        for (int64_t j = 0; j < n; ++j) {
          acc += in[j] * twiddle_[idx];
          idx += k;
          if (idx >= n) idx -= n;
        }
        out[k] = acc;
      }
    }
    if (inverse_)
      for (int64_t k = 0; k < n; ++k) out[k] /= static_cast<double>(n);
  }

 private:
  int64_t n_;
  bool inverse_;
  bool pow2_ = false;
  std::vector<Cd> twiddle_;
  std::vector<int64_t> bitrev_;
};

Result<int64_t> scalar_int(const Tensor* t, const char* what) {
  NALAR_ASSIGN_OR_RETURN(auto v, read_int64s(*t, what));
  if (v.size() != 1) return invalid_argument(std::string(what) + " must be a scalar");
  return v[0];
}

class DftKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    axis_ = cfg.node.get_int("axis", 1);
    inverse_ = cfg.node.get_int("inverse", 0) != 0;
    onesided_ = cfg.node.get_int("onesided", 0) != 0;
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("DFT: missing input");
    const int64_t rank = x->rank();
    if (rank < 2 || (x->dim(rank - 1) != 1 && x->dim(rank - 1) != 2))
      return invalid_argument(
          "DFT: input must end in a dimension of 1 (real) or 2 (complex), got " +
          shape_to_string(x->shape()));
    const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    if (axis < 0 || axis >= rank - 1)
      return invalid_argument("DFT: axis " + std::to_string(axis_) + " is out of range for " +
                              shape_to_string(x->shape()));
    const int64_t n_in = x->dim(axis);
    int64_t len = n_in;
    if (const Tensor* dl = ctx.input(1); dl && dl->size() > 0) {
      NALAR_ASSIGN_OR_RETURN(len, scalar_int(dl, "DFT: dft_length"));
      if (len <= 0 || len > (int64_t{1} << 26)) return invalid_argument("DFT: invalid dft_length");
    }
    const int64_t comps = x->dim(rank - 1);
    const int64_t out_len = onesided_ ? len / 2 + 1 : len;
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x->dim(i);
    for (int64_t i = axis + 1; i < rank - 1; ++i) inner *= x->dim(i);
    Shape out_shape = x->shape();
    out_shape[axis] = out_len;
    out_shape[rank - 1] = 2;
    Tensor y = Tensor::create(x->dtype(), out_shape);
    const DftPlan plan(len, inverse_);
    Status st = dispatch_float(x->dtype(), "DFT", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x->data<T>();
      T* out = y.data<T>();
      parallel_for(outer * inner, 4, [&](int64_t b, int64_t e) {
        std::vector<Cd> sig(static_cast<size_t>(len)), spec(static_cast<size_t>(len));
        for (int64_t s = b; s < e; ++s) {
          const int64_t o = s / inner, i = s % inner;
          for (int64_t j = 0; j < len; ++j) {
            if (j >= n_in) {
              sig[j] = 0;
              continue;
            }
            const T* p = in + ((o * n_in + j) * inner + i) * comps;
            sig[j] = Cd(static_cast<double>(p[0]), comps == 2 ? static_cast<double>(p[1]) : 0.0);
          }
          plan.apply(sig.data(), spec.data());
          for (int64_t k = 0; k < out_len; ++k) {
            T* q = out + ((o * out_len + k) * inner + i) * 2;
            q[0] = static_cast<T>(spec[k].real());
            q[1] = static_cast<T>(spec[k].imag());
          }
        }
      });
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(st);
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  int64_t axis_ = 1;
  bool inverse_ = false;
  bool onesided_ = false;
};

class StftKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    onesided_ = cfg.node.get_int("onesided", 1) != 0;
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* step_t = ctx.input(1);
    if (!x || !step_t) return invalid_argument("STFT: missing signal or frame_step");
    if (x->rank() != 3 || (x->dim(2) != 1 && x->dim(2) != 2))
      return invalid_argument("STFT: signal must be [batch, length, 1 or 2], got " +
                              shape_to_string(x->shape()));
    NALAR_ASSIGN_OR_RETURN(int64_t step, scalar_int(step_t, "STFT: frame_step"));
    const Tensor* window = ctx.input(2);
    if (window && window->size() == 0 && window->rank() == 1 && window->dim(0) == 0)
      window = nullptr;
    int64_t frame_len = -1;
    if (const Tensor* fl = ctx.input(3); fl && fl->size() > 0) {
      NALAR_ASSIGN_OR_RETURN(frame_len, scalar_int(fl, "STFT: frame_length"));
    }
    if (window) {
      if (window->rank() != 1) return invalid_argument("STFT: window must be 1-D");
      if (frame_len >= 0 && frame_len != window->dim(0))
        return invalid_argument("STFT: frame_length does not match the window length");
      frame_len = window->dim(0);
    }
    const int64_t sig_len = x->dim(1), batch = x->dim(0), comps = x->dim(2);
    if (frame_len <= 0) return invalid_argument("STFT: needs a window or a positive frame_length");
    if (step <= 0) return invalid_argument("STFT: frame_step must be positive");
    if (frame_len > sig_len)
      return invalid_argument("STFT: frame_length exceeds the signal length");
    const int64_t frames = (sig_len - frame_len) / step + 1;
    const int64_t bins = onesided_ ? frame_len / 2 + 1 : frame_len;
    std::vector<double> win(static_cast<size_t>(frame_len), 1.0);
    if (window) {
      Status ws = dispatch_float(window->dtype(), "STFT", [&](auto tag) {
        using T = typename decltype(tag)::type;
        for (int64_t i = 0; i < frame_len; ++i) win[i] = static_cast<double>(window->data<T>()[i]);
        return Status::ok();
      });
      NALAR_RETURN_IF_ERROR(ws);
    }
    Tensor y = Tensor::create(x->dtype(), {batch, frames, bins, 2});
    const DftPlan plan(frame_len, false);
    Status st = dispatch_float(x->dtype(), "STFT", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x->data<T>();
      T* out = y.data<T>();
      parallel_for(batch * frames, 4, [&](int64_t b, int64_t e) {
        std::vector<Cd> sig(static_cast<size_t>(frame_len)), spec(static_cast<size_t>(frame_len));
        for (int64_t s = b; s < e; ++s) {
          const int64_t bi = s / frames, f = s % frames;
          const T* p = in + (bi * sig_len + f * step) * comps;
          for (int64_t j = 0; j < frame_len; ++j)
            sig[j] = Cd(static_cast<double>(p[j * comps]),
                        comps == 2 ? static_cast<double>(p[j * comps + 1]) : 0.0) *
                     win[j];
          plan.apply(sig.data(), spec.data());
          T* q = out + s * bins * 2;
          for (int64_t k = 0; k < bins; ++k) {
            q[2 * k] = static_cast<T>(spec[k].real());
            q[2 * k + 1] = static_cast<T>(spec[k].imag());
          }
        }
      });
      return Status::ok();
    });
    NALAR_RETURN_IF_ERROR(st);
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  bool onesided_ = true;
};

}  // namespace

// Opset 20 moves axis to an input; not supported yet.
NALAR_REGISTER_KERNEL("", "DFT", 17, 19, DftKernel);
NALAR_REGISTER_KERNEL("", "STFT", 17, kMaxOpset, StftKernel);

}  // namespace nalar
