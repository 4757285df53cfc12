// Dropout (identity at inference; seeded masking when training_mode is true) and the random
// generators Bernoulli, RandomUniform(Like), RandomNormal(Like).
//
// Randomness follows numpy's legacy RandomState: MT19937 seeded with the `seed` attribute,
// 53-bit doubles from two 32-bit draws, polar Box-Muller normals. So a seeded node's first run
// draws the same numbers as `np.random.seed(seed)` followed by np.random.uniform/normal. The
// generator lives in the kernel (behind a mutex) and advances across runs, as in ONNX Runtime;
// without a seed it starts from std::random_device.
#include <cmath>
#include <mutex>
#include <random>
#include <string>

#include "core/dispatch.h"
#include "kernels/cast_util.h"

namespace nalar {
namespace {

class NumpyRandom {
 public:
  void seed(uint32_t s) {
    mt_.seed(s);
    has_gauss_ = false;
  }
  double uniform() {
    const uint32_t a = static_cast<uint32_t>(mt_()) >> 5, b = static_cast<uint32_t>(mt_()) >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }
  double normal() {
    if (has_gauss_) {
      has_gauss_ = false;
      return gauss_;
    }
    double x1, x2, r2;
    do {
      x1 = 2.0 * uniform() - 1.0;
      x2 = 2.0 * uniform() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double f = std::sqrt(-2.0 * std::log(r2) / r2);
    gauss_ = f * x1;
    has_gauss_ = true;
    return f * x2;
  }

 private:
  std::mt19937 mt_;
  bool has_gauss_ = false;
  double gauss_ = 0;
};

// Seeds from the node's `seed` attribute (float for the generators, int for Dropout).
void seed_from(const Node& node, NumpyRandom& rng) {
  const Attribute* a = node.find("seed");
  if (!a) {
    std::random_device rd;
    rng.seed(rd());
    return;
  }
  const double s =
      a->type == AttrType::kFloat ? static_cast<double>(a->f) : static_cast<double>(a->i);
  rng.seed(static_cast<uint32_t>(static_cast<int64_t>(s)));
}

// A random kernel: the generator and the lock that serialises runs using it.
class RandomKernelBase : public Kernel {
 protected:
  mutable std::mutex mu_;
  mutable NumpyRandom rng_;
};

class DropoutKernel : public RandomKernelBase {
 public:
  Status prepare(const KernelConfig& cfg) override {
    opset_ = cfg.opset;
    attr_ratio_ = cfg.node.get_float("ratio", 0.5f);
    seed_from(cfg.node, rng_);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 0, "Dropout"));
    double ratio = attr_ratio_;
    bool training = false;
    if (opset_ >= 12) {
      ratio = 0.5;
      if (const Tensor* r = ctx.input(1); r && r->defined()) {
        if (r->size() != 1) return invalid_argument("Dropout: ratio must be a scalar");
        NALAR_RETURN_IF_ERROR(dispatch_float(r->dtype(), "Dropout (ratio)", [&](auto tag) {
          using R = typename decltype(tag)::type;
          ratio = static_cast<double>(static_cast<ComputeType<R>>(r->data<R>()[0]));
          return Status::ok();
        }));
      }
      if (const Tensor* t = ctx.input(2); t && t->defined()) {
        if (t->dtype() != DataType::kBool || t->size() != 1)
          return invalid_argument("Dropout: training_mode must be a bool scalar");
        training = t->data<bool>()[0];
      }
    }
    if (training && !(ratio >= 0 && ratio < 1))
      return invalid_argument("Dropout: ratio must be in [0, 1), got " + std::to_string(ratio));
    const bool want_mask = ctx.num_outputs() > 1;
    // Dropout-7..9 typed the mask like the input; later versions use bool.
    const DataType mask_type = opset_ >= 10 ? DataType::kBool : x->dtype();

    if (!training || ratio == 0) {
      ctx.output(0) = *x;  // inference: identity, zero-copy
      if (want_mask) {
        Tensor m = Tensor::create(DataType::kBool, x->shape());
        std::fill_n(m.data<bool>(), m.size(), true);
        if (mask_type != DataType::kBool) {
          NALAR_ASSIGN_OR_RETURN(m, cast_tensor(m, mask_type));
        }
        ctx.output(1) = std::move(m);
      }
      return Status::ok();
    }
    return dispatch_float(x->dtype(), "Dropout", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = ComputeType<T>;
      Tensor y = Tensor::create(x->dtype(), x->shape());
      Tensor m = Tensor::create(DataType::kBool, x->shape());
      const T* src = x->data<T>();
      T* dst = y.data<T>();
      bool* keep = m.data<bool>();
      const C scale = static_cast<C>(1.0 / (1.0 - ratio));
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (int64_t i = 0; i < x->size(); ++i) keep[i] = rng_.uniform() >= ratio;
      }
      for (int64_t i = 0; i < x->size(); ++i)
        dst[i] = keep[i] ? T(static_cast<C>(src[i]) * scale) : T(C(0));
      ctx.output(0) = std::move(y);
      if (want_mask) ctx.output(1) = std::move(m);
      return Status::ok();
    });
  }

 private:
  int64_t opset_ = 0;
  float attr_ratio_ = 0.5f;
};

enum class Dist { kUniform, kNormal };

// RandomUniform / RandomNormal (shape attribute) and their *Like forms (shape of input 0).
template <Dist kDist, bool kLike>
class RandomKernel : public RandomKernelBase {
 public:
  static constexpr const char* kName = kDist == Dist::kUniform
                                           ? (kLike ? "RandomUniformLike" : "RandomUniform")
                                           : (kLike ? "RandomNormalLike" : "RandomNormal");
  Status prepare(const KernelConfig& cfg) override {
    const Node& n = cfg.node;
    if (kDist == Dist::kUniform) {
      a_ = n.get_float("low", 0.0f);
      b_ = n.get_float("high", 1.0f);
    } else {
      a_ = n.get_float("mean", 0.0f);
      b_ = n.get_float("scale", 1.0f);
    }
    has_dtype_ = n.has("dtype");
    dtype_ = static_cast<DataType>(n.get_int("dtype", static_cast<int64_t>(DataType::kFloat)));
    if (has_dtype_ && !dtype_is_float(dtype_))
      return invalid_argument(std::string(kName) + ": dtype must be a float type, got " +
                              dtype_name(dtype_));
    if constexpr (!kLike) {
      shape_ = n.get_ints("shape");
      if (!n.has("shape")) return invalid_argument(std::string(kName) + ": missing 'shape'");
      for (int64_t d : shape_)
        if (d < 0) return invalid_argument(std::string(kName) + ": negative dim in 'shape'");
    }
    seed_from(n, rng_);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    Shape shape = shape_;
    DataType dt = dtype_;
    if constexpr (kLike) {
      NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 0, kName));
      shape = x->shape();
      if (!has_dtype_) dt = x->dtype();
    }
    return dispatch_float(dt, kName, [&](auto tag) {
      using T = typename decltype(tag)::type;
      Tensor y = Tensor::create(dt, shape);
      T* o = y.data<T>();
      std::lock_guard<std::mutex> lock(mu_);
      for (int64_t i = 0; i < y.size(); ++i) {
        const double v =
            kDist == Dist::kUniform ? a_ + (b_ - a_) * rng_.uniform() : a_ + b_ * rng_.normal();
        o[i] = convert_value<T>(v);
      }
      ctx.output(0) = std::move(y);
      return Status::ok();
    });
  }

 private:
  double a_ = 0, b_ = 1;
  bool has_dtype_ = false;
  DataType dtype_ = DataType::kFloat;
  Shape shape_;
};

// Bernoulli: y = 1 with probability x (same shape), in `dtype` (default: the input's type).
class BernoulliKernel : public RandomKernelBase {
 public:
  Status prepare(const KernelConfig& cfg) override {
    has_dtype_ = cfg.node.has("dtype");
    dtype_ = static_cast<DataType>(cfg.node.get_int("dtype", 0));
    seed_from(cfg.node, rng_);
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 0, "Bernoulli"));
    const DataType dt = has_dtype_ ? dtype_ : x->dtype();
    Tensor draw = Tensor::create(DataType::kBool, x->shape());
    NALAR_RETURN_IF_ERROR(dispatch_float(x->dtype(), "Bernoulli", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* p = x->data<T>();
      bool* d = draw.data<bool>();
      std::lock_guard<std::mutex> lock(mu_);
      for (int64_t i = 0; i < x->size(); ++i)
        d[i] = rng_.uniform() < static_cast<double>(static_cast<ComputeType<T>>(p[i]));
      return Status::ok();
    }));
    if (dt != DataType::kBool && !dtype_is_float(dt) && !dtype_is_integer(dt))
      return unsupported_dtype("Bernoulli", dt);
    NALAR_ASSIGN_OR_RETURN(ctx.output(0), cast_tensor(draw, dt));
    return Status::ok();
  }

 private:
  bool has_dtype_ = false;
  DataType dtype_ = DataType::kUndefined;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Dropout", 1, kMaxOpset, DropoutKernel);
NALAR_REGISTER_KERNEL("", "RandomUniform", 1, kMaxOpset, RandomKernel<Dist::kUniform, false>);
NALAR_REGISTER_KERNEL("", "RandomNormal", 1, kMaxOpset, RandomKernel<Dist::kNormal, false>);
NALAR_REGISTER_KERNEL("", "RandomUniformLike", 1, kMaxOpset, RandomKernel<Dist::kUniform, true>);
NALAR_REGISTER_KERNEL("", "RandomNormalLike", 1, kMaxOpset, RandomKernel<Dist::kNormal, true>);
NALAR_REGISTER_KERNEL("", "Bernoulli", 15, kMaxOpset, BernoulliKernel);

}  // namespace nalar
