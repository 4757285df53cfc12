// Cast and CastLike between every numeric type, bool, float16, bfloat16 and string.
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "core/dispatch.h"
#include "kernels/cast_util.h"

namespace nalar {

namespace {

// Lays out shortest round-trip digits ("d.ddde±XX" from to_chars/printf) the way numpy does.
std::string numpy_layout(const std::string& sci, double value) {
  // Split "-1.2345e+05" into sign, digit string and decimal exponent.
  size_t i = 0;
  std::string sign;
  if (sci[i] == '-') {
    sign = "-";
    ++i;
  }
  const size_t e = sci.find_first_of("eE", i);
  std::string digits;
  for (size_t k = i; k < e; ++k)
    if (sci[k] != '.') digits += sci[k];
  const int exp10 = std::atoi(sci.c_str() + e + 1);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();

  const double a = std::fabs(value);
  if (a == 0 || (a >= 1e-4 && a < 1e16)) {
    std::string out = sign;
    if (exp10 >= 0) {
      const size_t int_len = static_cast<size_t>(exp10) + 1;
      if (digits.size() <= int_len) {
        out.append(digits);
        out.append(int_len - digits.size(), '0');
        out.append(".0");
      } else {
        out.append(digits, 0, int_len);
        out.push_back('.');
        out.append(digits, int_len, std::string::npos);
      }
    } else {
      out.append("0.");
      out.append(static_cast<size_t>(-exp10 - 1), '0');
      out.append(digits);
    }
    return out;
  }
  std::string out = sign;
  out.push_back(digits[0]);
  if (digits.size() > 1) {
    out.push_back('.');
    out.append(digits, 1, std::string::npos);
  }
  char ebuf[16];
  std::snprintf(ebuf, sizeof(ebuf), "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
  out.append(ebuf);
  return out;
}

std::string special(double v) {
  if (std::isnan(v)) return "nan";
  return v < 0 ? "-inf" : "inf";
}

template <class H>
std::string format_half_like(H v, int max_precision) {
  const float f = static_cast<float>(v);
  if (!std::isfinite(f)) return special(f);
  // Fewest significant digits that read back to the same 16-bit value.
  char buf[64];
  for (int p = 0; p <= max_precision; ++p) {
    std::snprintf(buf, sizeof(buf), "%.*e", p, static_cast<double>(f));
    if (H(std::strtof(buf, nullptr)).bits == v.bits) break;
  }
  return numpy_layout(buf, f);
}

template <class T>
std::string to_string_value(T v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "True" : "False";
  } else if constexpr (std::is_same_v<T, float>) {
    return format_float_numpy(v);
  } else if constexpr (std::is_same_v<T, double>) {
    return format_double_numpy(v);
  } else if constexpr (std::is_same_v<T, Float16>) {
    return format_half_numpy(v);
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return format_bfloat16_numpy(v);
  } else {
    return std::to_string(v);
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

template <class T>
bool from_string_value(const std::string& s, T* out) {
  if constexpr (std::is_same_v<T, bool>) {
    const std::string l = lower(s);
    if (l == "true" || l == "false" || l.empty()) {
      *out = l == "true";
      return true;
    }
    double d;
    if (!parse_double(s, &d)) return false;
    *out = d != 0;
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    const char* b = s.data();
    const char* e = b + s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(*b))) ++b;
    if (b < e && *b == '+') ++b;
    auto [p, ec] = std::from_chars(b, e, *out);
    if (ec == std::errc() && p == e) return true;
    double d;  // "3.0", "1e3": read as a number, then convert
    if (!parse_double(s, &d)) return false;
    *out = convert_value<T>(d);
    return true;
  } else if constexpr (std::is_same_v<T, float>) {
    double d;
    if (!parse_double(s, &d)) return false;
    // Parse again as float so the single rounding is from the decimal string.
    *out = (std::isfinite(d)) ? std::strtof(s.c_str(), nullptr) : static_cast<float>(d);
    return true;
  } else {
    double d;
    if (!parse_double(s, &d)) return false;
    *out = convert_value<T>(d);
    return true;
  }
}

}  // namespace

std::string format_float_numpy(float v) {
  if (!std::isfinite(v)) return special(v);
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  return numpy_layout(std::string(buf, r.ptr), v);
}

std::string format_double_numpy(double v) {
  if (!std::isfinite(v)) return special(v);
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  return numpy_layout(std::string(buf, r.ptr), v);
}

std::string format_half_numpy(Float16 v) { return format_half_like(v, 5); }
std::string format_bfloat16_numpy(BFloat16 v) { return format_half_like(v, 4); }

bool parse_double(const std::string& s, double* out) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  if (b == e) return false;
  const std::string t = s.substr(b, e - b);
  char* end = nullptr;
  const double d = std::strtod(t.c_str(), &end);  // handles nan/inf/infinity with sign
  if (end != t.c_str() + t.size()) return false;
  *out = d;
  return true;
}

Result<Tensor> cast_tensor(const Tensor& x, DataType to) {
  if (x.dtype() == to) return x;
  const DataType from = x.dtype();
  Tensor y = Tensor::create(to, x.shape());
  const int64_t n = x.size();
  if (to == DataType::kString) {
    std::string* dst = y.data<std::string>();
    NALAR_RETURN_IF_ERROR(dispatch_numeric_bool(from, "Cast", [&](auto tag) {
      using S = typename decltype(tag)::type;
      const S* src = x.data<S>();
      parallel_for(n, 4096, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) dst[i] = to_string_value(src[i]);
      });
      return Status::ok();
    }));
    return y;
  }
  if (from == DataType::kString) {
    const std::string* src = x.data<std::string>();
    NALAR_RETURN_IF_ERROR(dispatch_numeric_bool(to, "Cast", [&](auto tag) {
      using D = typename decltype(tag)::type;
      D* dst = y.data<D>();
      for (int64_t i = 0; i < n; ++i)
        if (!from_string_value(src[i], &dst[i]))
          return invalid_argument("Cast: cannot parse \"" + src[i].substr(0, 64) + "\" as " +
                                  dtype_name(to));
      return Status::ok();
    }));
    return y;
  }
  NALAR_RETURN_IF_ERROR(dispatch_numeric_bool(from, "Cast", [&](auto stag) {
    using S = typename decltype(stag)::type;
    return dispatch_numeric_bool(to, "Cast", [&](auto dtag) {
      using D = typename decltype(dtag)::type;
      unary_loop(x.data<S>(), y.data<D>(), n, kCheapGrain, [](S v) { return convert_value<D>(v); });
      return Status::ok();
    });
  }));
  return y;
}

namespace {

// ONNX's TensorProto.DataType spelled out, as Cast-1 takes it ("FLOAT", "INT64").
DataType dtype_from_name(const std::string& name) {
  static const char* const kNames[] = {"UNDEFINED",  "FLOAT",   "UINT8",  "INT8",   "UINT16",
                                       "INT16",      "INT32",   "INT64",  "STRING", "BOOL",
                                       "FLOAT16",    "DOUBLE",  "UINT32", "UINT64", "COMPLEX64",
                                       "COMPLEX128", "BFLOAT16"};
  for (int i = 0; i < 17; ++i)
    if (name == kNames[i]) return static_cast<DataType>(i);
  return DataType::kUndefined;
}

bool castable(DataType t) {
  return t == DataType::kString || t == DataType::kBool || dtype_is_float(t) || dtype_is_integer(t);
}

class CastKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Attribute* a = cfg.node.find("to");
    if (!a) return invalid_argument("Cast: missing attribute 'to'");
    to_ = a->type == AttrType::kString ? dtype_from_name(a->s) : static_cast<DataType>(a->i);
    if (!castable(to_))
      return unimplemented("Cast: target type " +
                           (a->type == AttrType::kString ? a->s : std::to_string(a->i)) +
                           " is not supported");
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 0, "Cast"));
    if (!castable(x->dtype())) return unsupported_dtype("Cast", x->dtype());
    NALAR_ASSIGN_OR_RETURN(ctx.output(0), cast_tensor(*x, to_));
    return Status::ok();
  }

 private:
  DataType to_ = DataType::kUndefined;
};

class CastLikeKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    NALAR_ASSIGN_OR_RETURN(const Tensor* x, require_input(ctx, 0, "CastLike"));
    NALAR_ASSIGN_OR_RETURN(const Tensor* like, require_input(ctx, 1, "CastLike"));
    if (!castable(x->dtype())) return unsupported_dtype("CastLike", x->dtype());
    if (!castable(like->dtype())) return unsupported_dtype("CastLike", like->dtype());
    NALAR_ASSIGN_OR_RETURN(ctx.output(0), cast_tensor(*x, like->dtype()));
    return Status::ok();
  }
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Cast", 1, kMaxOpset, CastKernel);
NALAR_REGISTER_KERNEL("", "CastLike", 15, kMaxOpset, CastLikeKernel);

}  // namespace nalar
