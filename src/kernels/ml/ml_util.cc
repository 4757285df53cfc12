#include "kernels/ml/ml_util.h"

#include <algorithm>
#include <limits>

#include "core/dispatch.h"

namespace nalar::ml {

Result<PostTransform> parse_post_transform(const std::string& s, const char* op) {
  if (s == "NONE" || s.empty()) return PostTransform::kNone;
  if (s == "SOFTMAX") return PostTransform::kSoftmax;
  if (s == "LOGISTIC") return PostTransform::kLogistic;
  if (s == "SOFTMAX_ZERO") return PostTransform::kSoftmaxZero;
  if (s == "PROBIT") return PostTransform::kProbit;
  return Status(invalid_argument(std::string(op) + ": unknown post_transform '" + s + "'"));
}

double probit(double p) {
  if (!(p > 0.0)) return p == 0.0 ? -std::numeric_limits<double>::infinity() : NAN;
  if (!(p < 1.0)) return p == 1.0 ? std::numeric_limits<double>::infinity() : NAN;
  // Acklam-style rational start, then Newton steps on the normal CDF (erfc keeps tails exact).
  const double y = 2.0 * p - 1.0;
  const double w = -std::log((1.0 - y) * (1.0 + y));
  double x;
  if (w < 5.0) {
    double t = w - 2.5;
    double q = 2.81022636e-08;
    q = 3.43273939e-07 + q * t;
    q = -3.5233877e-06 + q * t;
    q = -4.39150654e-06 + q * t;
    q = 0.00021858087 + q * t;
    q = -0.00125372503 + q * t;
    q = -0.00417768164 + q * t;
    q = 0.246640727 + q * t;
    q = 1.50140941 + q * t;
    x = q * y;
  } else {
    double t = std::sqrt(w) - 3.0;
    double q = -0.000200214257;
    q = 0.000100950558 + q * t;
    q = 0.00134934322 + q * t;
    q = -0.00367342844 + q * t;
    q = 0.00573950773 + q * t;
    q = -0.0076224613 + q * t;
    q = 0.00943887047 + q * t;
    q = 1.00167406 + q * t;
    q = 2.83297682 + q * t;
    x = q * y;
  }
  // x approximates erfinv(y); refine erf(x) = y with Newton (derivative 2/sqrt(pi) e^{-x^2}).
  for (int i = 0; i < 2; ++i) {
    double err = std::erf(x) - y;
    x -= err / (1.1283791670955126 * std::exp(-x * x));
  }
  return 1.4142135623730951 * x;
}

void apply_post_transform(PostTransform t, double* v, int64_t n) {
  switch (t) {
    case PostTransform::kNone:
      return;
    case PostTransform::kLogistic:
      for (int64_t i = 0; i < n; ++i) v[i] = sigmoid(v[i]);
      return;
    case PostTransform::kProbit:
      for (int64_t i = 0; i < n; ++i) v[i] = probit(v[i]);
      return;
    case PostTransform::kSoftmax: {
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < n; ++i) m = std::max(m, v[i]);
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += (v[i] = std::exp(v[i] - m));
      for (int64_t i = 0; i < n; ++i) v[i] /= s;
      return;
    }
    case PostTransform::kSoftmaxZero: {
      // Like softmax, but exact zeros stay zero (they mark "no score").
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < n; ++i)
        if (v[i] != 0.0) m = std::max(m, v[i]);
      double s = 0;
      for (int64_t i = 0; i < n; ++i)
        if (v[i] != 0.0) s += (v[i] = std::exp(v[i] - m));
      if (s > 0)
        for (int64_t i = 0; i < n; ++i) v[i] /= s;
      return;
    }
  }
}

Tensor ClassLabels::make(const std::vector<int64_t>& idx, Shape shape) const {
  if (strings) {
    Tensor t = Tensor::create(DataType::kString, std::move(shape));
    std::string* d = t.data<std::string>();
    for (size_t i = 0; i < idx.size(); ++i) d[i] = strs[static_cast<size_t>(idx[i])];
    return t;
  }
  Tensor t = Tensor::create(DataType::kInt64, std::move(shape));
  int64_t* d = t.data<int64_t>();
  for (size_t i = 0; i < idx.size(); ++i) d[i] = ints[static_cast<size_t>(idx[i])];
  return t;
}

Result<ClassLabels> read_class_labels(const Node& node, const char* int_name, const char* op) {
  ClassLabels l;
  l.ints = node.get_ints(int_name);
  l.strs = node.get_strings("classlabels_strings");
  if (!l.ints.empty() && !l.strs.empty())
    return Status(invalid_argument(std::string(op) + ": both " + int_name +
                                   " and classlabels_strings are set"));
  l.strings = !l.strs.empty();
  return l;
}

template <class T>
Result<const T*> input_as(const Tensor& x, std::vector<T>& holder, int64_t& n, int64_t& c,
                          const char* op) {
  if (x.rank() == 1) {
    n = 1;
    c = x.dim(0);
  } else if (x.rank() == 2) {
    n = x.dim(0);
    c = x.dim(1);
  } else if (x.rank() == 0) {
    n = 1;
    c = 1;
  } else {
    return Status(invalid_argument(std::string(op) + ": input must have rank 1 or 2, got " +
                                   shape_to_string(x.shape())));
  }
  if (x.dtype() == dtype_of<T>) return x.data<T>();
  const T* out = nullptr;
  Status st;
  switch (x.dtype()) {
    case DataType::kFloat:
    case DataType::kDouble:
    case DataType::kInt64:
    case DataType::kInt32:
      st = dispatch_numeric(x.dtype(), op, [&](auto tag) -> Status {
        using S = typename decltype(tag)::type;
        const S* s = x.data<S>();
        holder.resize(static_cast<size_t>(x.size()));
        for (int64_t i = 0; i < x.size(); ++i)
          holder[static_cast<size_t>(i)] = static_cast<T>(s[i]);
        out = holder.data();
        return Status::ok();
      });
      break;
    default:
      return Status(unsupported_dtype(op, x.dtype()));
  }
  if (!st.is_ok()) return st;
  return out;
}

template Result<const float*> input_as<float>(const Tensor&, std::vector<float>&, int64_t&,
                                              int64_t&, const char*);
template Result<const double*> input_as<double>(const Tensor&, std::vector<double>&, int64_t&,
                                                int64_t&, const char*);

std::vector<double> read_doubles(const Node& node, const std::string& name, bool* present,
                                 bool* is_double) {
  std::vector<double> out;
  if (present) *present = false;
  if (is_double) *is_double = false;
  if (const Attribute* a = node.find(name + "_as_tensor"); a && a->t.defined()) {
    if (present) *present = true;
    const Tensor& t = a->t;
    if (t.dtype() == DataType::kDouble) {
      if (is_double) *is_double = true;
      out.assign(t.data<double>(), t.data<double>() + t.size());
    } else if (t.dtype() == DataType::kFloat) {
      out.assign(t.data<float>(), t.data<float>() + t.size());
    }
    return out;
  }
  if (const Attribute* a = node.find(name)) {
    if (present) *present = true;
    out.assign(a->floats.begin(), a->floats.end());
  }
  return out;
}

}  // namespace nalar::ml
