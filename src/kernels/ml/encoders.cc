// Categorical encoders of ai.onnx.ml: OneHotEncoder, LabelEncoder (opsets 1 and 2) and
// CategoryMapper.
#include <cmath>
#include <map>
#include <unordered_map>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/ml/ml_util.h"

namespace nalar::ml {
namespace {

// OneHotEncoder: appends a dimension of size |cats|; 1.0 at the category's position. Unknown
// values give an all-zero row, or an error when zeros = 0.
class OneHotEncoderKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const auto ints = cfg.node.get_ints("cats_int64s");
    const auto strs = cfg.node.get_strings("cats_strings");
    if (ints.empty() == strs.empty())
      return invalid_argument(
          "OneHotEncoder: exactly one of cats_int64s and cats_strings is required");
    for (size_t i = 0; i < ints.size(); ++i) int_index_.emplace(ints[i], static_cast<int64_t>(i));
    for (size_t i = 0; i < strs.size(); ++i) str_index_.emplace(strs[i], static_cast<int64_t>(i));
    n_ = static_cast<int64_t>(ints.empty() ? strs.size() : ints.size());
    zeros_ = cfg.node.get_int("zeros", 1) != 0;
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("OneHotEncoder: missing input X");
    const bool want_strings = !str_index_.empty();
    if ((x->dtype() == DataType::kString) != want_strings)
      return invalid_argument(std::string("OneHotEncoder: ") + dtype_name(x->dtype()) +
                              " input does not match the " + (want_strings ? "string" : "integer") +
                              " categories");
    Shape shape = x->shape();
    shape.push_back(n_);
    Tensor y = Tensor::create(DataType::kFloat, shape);
    float* out = y.data<float>();
    std::vector<int64_t> pos(static_cast<size_t>(x->size()), -1);
    if (want_strings) {
      const std::string* in = x->data<std::string>();
      for (int64_t i = 0; i < x->size(); ++i)
        if (auto it = str_index_.find(in[i]); it != str_index_.end())
          pos[static_cast<size_t>(i)] = it->second;
    } else {
      NALAR_RETURN_IF_ERROR(dispatch_numeric(x->dtype(), "OneHotEncoder", [&](auto tag) -> Status {
        using T = typename decltype(tag)::type;
        const T* in = x->data<T>();
        for (int64_t i = 0; i < x->size(); ++i) {
          const double v = static_cast<double>(in[i]);
          if (!(std::fabs(v) < 9.2e18)) continue;  // NaN or beyond int64: no category
          if (auto it = int_index_.find(static_cast<int64_t>(v)); it != int_index_.end())
            pos[static_cast<size_t>(i)] = it->second;
        }
        return Status::ok();
      }));
    }
    for (int64_t i = 0; i < x->size(); ++i) {
      const int64_t p = pos[static_cast<size_t>(i)];
      if (p < 0) {
        if (!zeros_)
          return invalid_argument("OneHotEncoder: value " + std::to_string(i) +
                                  " is not a known category");
        continue;
      }
      out[i * n_ + p] = 1.0f;
    }
    ctx.output(0) = y;
    return Status::ok();
  }

 private:
  std::unordered_map<int64_t, int64_t> int_index_;
  std::unordered_map<std::string, int64_t> str_index_;
  int64_t n_ = 0;
  bool zeros_ = true;
};

// A value of one of LabelEncoder's three element types.
struct Key {
  DataType type = DataType::kUndefined;
  int64_t i = 0;
  float f = 0;
  std::string s;
};

// LabelEncoder: maps each element through a key -> value table, with a default for misses.
// Opset 1 maps strings <-> int64 through classes_strings (the index is the integer); opset 2
// takes keys_*/values_* lists of string, int64 or float.
class LabelEncoderKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Node& node = cfg.node;
    default_int_ = node.get_int("default_int64", -1);
    default_str_ = node.get_string("default_string", "_Unused");
    default_float_ = node.get_float("default_float", -0.0f);
    if (node.has("classes_strings")) {  // opset 1
      const auto cls = node.get_strings("classes_strings");
      for (size_t i = 0; i < cls.size(); ++i) {
        s2i_.emplace(cls[i], static_cast<int64_t>(i));
        i2s_.emplace(static_cast<int64_t>(i), cls[i]);
      }
      v1_ = true;
      return Status::ok();
    }
    const auto ks = node.get_strings("keys_strings");
    const auto ki = node.get_ints("keys_int64s");
    const auto kf = node.get_floats("keys_floats");
    const auto vs = node.get_strings("values_strings");
    const auto vi = node.get_ints("values_int64s");
    const auto vf = node.get_floats("values_floats");
    const int nk = !ks.empty() + !ki.empty() + !kf.empty();
    const int nv = !vs.empty() + !vi.empty() + !vf.empty();
    if (nk != 1 || nv != 1)
      return invalid_argument("LabelEncoder: exactly one keys_* and one values_* list is required");
    key_type_ = !ks.empty() ? DataType::kString : !ki.empty() ? DataType::kInt64 : DataType::kFloat;
    value_type_ = !vs.empty()   ? DataType::kString
                  : !vi.empty() ? DataType::kInt64
                                : DataType::kFloat;
    const size_t n = std::max({ks.size(), ki.size(), kf.size()});
    const size_t m = std::max({vs.size(), vi.size(), vf.size()});
    if (n != m)
      return invalid_argument("LabelEncoder: " + std::to_string(n) + " keys but " +
                              std::to_string(m) + " values");
    for (size_t i = 0; i < n; ++i) {
      Key v;
      v.type = value_type_;
      if (!vs.empty()) v.s = vs[i];
      if (!vi.empty()) v.i = vi[i];
      if (!vf.empty()) v.f = vf[i];
      if (!ks.empty()) by_str_.emplace(ks[i], v);
      if (!ki.empty()) by_int_.emplace(ki[i], v);
      if (!kf.empty()) {
        if (std::isnan(kf[i]))
          nan_value_ = v, has_nan_ = true;
        else
          by_float_.emplace(kf[i], v);
      }
    }
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("LabelEncoder: missing input X");
    const int64_t n = x->size();
    if (v1_) {
      if (x->dtype() == DataType::kString) {
        Tensor y = Tensor::create(DataType::kInt64, x->shape());
        for (int64_t i = 0; i < n; ++i) {
          auto it = s2i_.find(x->data<std::string>()[i]);
          y.data<int64_t>()[i] = it == s2i_.end() ? default_int_ : it->second;
        }
        ctx.output(0) = y;
        return Status::ok();
      }
      if (x->dtype() == DataType::kInt64) {
        Tensor y = Tensor::create(DataType::kString, x->shape());
        for (int64_t i = 0; i < n; ++i) {
          auto it = i2s_.find(x->data<int64_t>()[i]);
          y.data<std::string>()[i] = it == i2s_.end() ? default_str_ : it->second;
        }
        ctx.output(0) = y;
        return Status::ok();
      }
      return unsupported_dtype("LabelEncoder", x->dtype());
    }
    if (x->dtype() != key_type_)
      return invalid_argument(std::string("LabelEncoder: input is ") + dtype_name(x->dtype()) +
                              " but the keys are " + dtype_name(key_type_));
    Tensor y = Tensor::create(value_type_, x->shape());
    for (int64_t i = 0; i < n; ++i) {
      const Key* v = nullptr;
      if (key_type_ == DataType::kString) {
        auto it = by_str_.find(x->data<std::string>()[i]);
        if (it != by_str_.end()) v = &it->second;
      } else if (key_type_ == DataType::kInt64) {
        auto it = by_int_.find(x->data<int64_t>()[i]);
        if (it != by_int_.end()) v = &it->second;
      } else {
        const float k = x->data<float>()[i];
        if (std::isnan(k)) {
          if (has_nan_) v = &nan_value_;
        } else if (auto it = by_float_.find(k); it != by_float_.end()) {
          v = &it->second;
        }
      }
      switch (value_type_) {
        case DataType::kString:
          y.data<std::string>()[i] = v ? v->s : default_str_;
          break;
        case DataType::kInt64:
          y.data<int64_t>()[i] = v ? v->i : default_int_;
          break;
        default:
          y.data<float>()[i] = v ? v->f : default_float_;
          break;
      }
    }
    ctx.output(0) = y;
    return Status::ok();
  }

 private:
  bool v1_ = false;
  std::unordered_map<std::string, int64_t> s2i_;
  std::unordered_map<int64_t, std::string> i2s_;
  DataType key_type_ = DataType::kUndefined, value_type_ = DataType::kUndefined;
  std::unordered_map<std::string, Key> by_str_;
  std::unordered_map<int64_t, Key> by_int_;
  std::map<float, Key> by_float_;
  Key nan_value_;
  bool has_nan_ = false;
  int64_t default_int_ = -1;
  std::string default_str_;
  float default_float_ = 0;
};

// CategoryMapper: strings -> int64 and int64 -> strings through the parallel lists cats_strings
// and cats_int64s.
class CategoryMapperKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const auto ints = cfg.node.get_ints("cats_int64s");
    const auto strs = cfg.node.get_strings("cats_strings");
    if (ints.size() != strs.size())
      return invalid_argument("CategoryMapper: cats_int64s and cats_strings differ in length");
    for (size_t i = 0; i < ints.size(); ++i) {
      s2i_.emplace(strs[i], ints[i]);
      i2s_.emplace(ints[i], strs[i]);
    }
    default_int_ = cfg.node.get_int("default_int64", -1);
    default_str_ = cfg.node.get_string("default_string", "_Unused");
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("CategoryMapper: missing input X");
    if (x->dtype() == DataType::kString) {
      Tensor y = Tensor::create(DataType::kInt64, x->shape());
      for (int64_t i = 0; i < x->size(); ++i) {
        auto it = s2i_.find(x->data<std::string>()[i]);
        y.data<int64_t>()[i] = it == s2i_.end() ? default_int_ : it->second;
      }
      ctx.output(0) = y;
      return Status::ok();
    }
    if (x->dtype() == DataType::kInt64) {
      Tensor y = Tensor::create(DataType::kString, x->shape());
      for (int64_t i = 0; i < x->size(); ++i) {
        auto it = i2s_.find(x->data<int64_t>()[i]);
        y.data<std::string>()[i] = it == i2s_.end() ? default_str_ : it->second;
      }
      ctx.output(0) = y;
      return Status::ok();
    }
    return unsupported_dtype("CategoryMapper", x->dtype());
  }

 private:
  std::unordered_map<std::string, int64_t> s2i_;
  std::unordered_map<int64_t, std::string> i2s_;
  int64_t default_int_ = -1;
  std::string default_str_;
};

}  // namespace

NALAR_REGISTER_KERNEL(kDomain, "OneHotEncoder", 1, kMaxOpset, OneHotEncoderKernel);
NALAR_REGISTER_KERNEL(kDomain, "LabelEncoder", 1, kMaxOpset, LabelEncoderKernel);
NALAR_REGISTER_KERNEL(kDomain, "CategoryMapper", 1, kMaxOpset, CategoryMapperKernel);

}  // namespace nalar::ml
