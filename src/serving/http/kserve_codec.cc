#include "serving/http/kserve_codec.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "serving/datatypes.h"
#include "core/json.h"

namespace nalar::serving::kserve {

namespace {

using json::FlatScalars;
using json::Value;

template <class T>
Status convert_scalar(const FlatScalars::Token& tok, const char* dtype, T* out) {
  auto bad = [&](const char* what) {
    return invalid_argument(std::string("tensor data for ") + dtype + " holds " + what);
  };
  if constexpr (std::is_same_v<T, std::string>) {
    if (tok.type != json::Type::kString) return bad("a non-string element");
    *out = tok.string;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (tok.type == json::Type::kBool) {
      *out = tok.boolean;
    } else if (tok.type == json::Type::kNumber && (tok.number == "0" || tok.number == "1")) {
      *out = tok.number == "1";
    } else {
      return bad("a non-boolean element");
    }
  } else if constexpr (std::is_integral_v<T>) {
    if (tok.type != json::Type::kNumber) return bad("a non-number element");
    using Wide = std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>;
    Wide w;
    auto r = std::from_chars(tok.number.data(), tok.number.data() + tok.number.size(), w);
    if (r.ec != std::errc() || r.ptr != tok.number.data() + tok.number.size()) {
      double d;  // 3.0 or 1e3 are fine; 2.5 and out-of-range values are not
      if (!json::number_to_double(tok.number, &d) || std::floor(d) != d ||
          d < static_cast<double>(std::numeric_limits<T>::lowest()) ||
          d > static_cast<double>(std::numeric_limits<T>::max()))
        return bad(("the value " + std::string(tok.number) + ", not an integer in range").c_str());
      *out = static_cast<T>(d);
      return Status::ok();
    }
    if (w < static_cast<Wide>(std::numeric_limits<T>::lowest()) ||
        w > static_cast<Wide>(std::numeric_limits<T>::max()))
      return bad(("the out-of-range value " + std::string(tok.number)).c_str());
    *out = static_cast<T>(w);
  } else {
    if (tok.type != json::Type::kNumber) return bad("a non-number element");
    double d;
    if (!json::number_to_double(tok.number, &d)) return bad("an invalid number");
    if constexpr (std::is_same_v<T, double>) {
      *out = d;
    } else {
      *out = T(static_cast<float>(d));
    }
  }
  return Status::ok();
}

template <class T>
Status read_json_data(std::string_view raw, const char* dtype, Tensor& t) {
  FlatScalars scalars(raw);
  FlatScalars::Token tok;
  T* dst = t.data<T>();
  const int64_t n = t.size();
  int64_t i = 0;
  while (scalars.next(&tok)) {
    if (i >= n)
      return invalid_argument("tensor data has more elements than shape " +
                              shape_to_string(t.shape()) + " holds (" + std::to_string(n) + ")");
    NALAR_RETURN_IF_ERROR(convert_scalar<T>(tok, dtype, dst + i));
    ++i;
  }
  NALAR_RETURN_IF_ERROR(scalars.status());
  if (i != n)
    return invalid_argument("tensor data has " + std::to_string(i) + " elements but shape " +
                            shape_to_string(t.shape()) + " needs " + std::to_string(n));
  return Status::ok();
}

Status read_json_tensor(std::string_view raw, Tensor& t) {
  const char* dt = kserve_dtype_name(t.dtype());
  switch (t.dtype()) {
    case DataType::kBool:
      return read_json_data<bool>(raw, dt, t);
    case DataType::kUint8:
      return read_json_data<uint8_t>(raw, dt, t);
    case DataType::kUint16:
      return read_json_data<uint16_t>(raw, dt, t);
    case DataType::kUint32:
      return read_json_data<uint32_t>(raw, dt, t);
    case DataType::kUint64:
      return read_json_data<uint64_t>(raw, dt, t);
    case DataType::kInt8:
      return read_json_data<int8_t>(raw, dt, t);
    case DataType::kInt16:
      return read_json_data<int16_t>(raw, dt, t);
    case DataType::kInt32:
      return read_json_data<int32_t>(raw, dt, t);
    case DataType::kInt64:
      return read_json_data<int64_t>(raw, dt, t);
    case DataType::kFloat16:
      return read_json_data<Float16>(raw, dt, t);
    case DataType::kBFloat16:
      return read_json_data<BFloat16>(raw, dt, t);
    case DataType::kFloat:
      return read_json_data<float>(raw, dt, t);
    case DataType::kDouble:
      return read_json_data<double>(raw, dt, t);
    case DataType::kString:
      return read_json_data<std::string>(raw, dt, t);
    default:
      return invalid_argument("unsupported datatype");
  }
}

Status read_binary_tensor(std::string_view bytes, Tensor& t) {
  const int64_t n = t.size();
  if (t.dtype() == DataType::kString) {
    std::string* dst = t.data<std::string>();
    size_t pos = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (bytes.size() - pos < 4)
        return invalid_argument("binary BYTES data ends inside element " + std::to_string(i));
      uint32_t len;
      std::memcpy(&len, bytes.data() + pos, 4);
      pos += 4;
      if (bytes.size() - pos < len)
        return invalid_argument("binary BYTES element " + std::to_string(i) + " of " +
                                std::to_string(len) + " bytes overruns its data");
      dst[i].assign(bytes.data() + pos, len);
      pos += len;
    }
    if (pos != bytes.size())
      return invalid_argument("binary BYTES data has " + std::to_string(bytes.size() - pos) +
                              " bytes beyond shape " + shape_to_string(t.shape()));
    return Status::ok();
  }
  if (bytes.size() != t.nbytes())
    return invalid_argument("binary data of " + std::to_string(bytes.size()) +
                            " bytes does not match shape " + shape_to_string(t.shape()) + " of " +
                            kserve_dtype_name(t.dtype()) + " (" + std::to_string(t.nbytes()) +
                            " bytes)");
  if (t.dtype() == DataType::kBool) {
    bool* dst = t.data<bool>();
    for (int64_t i = 0; i < n; ++i) dst[i] = bytes[static_cast<size_t>(i)] != 0;
  } else if (!bytes.empty()) {
    std::memcpy(t.raw(), bytes.data(), bytes.size());
  }
  return Status::ok();
}

Result<Shape> parse_shape(const Value* v, const std::string& where) {
  if (!v || !v->is_array()) return invalid_argument(where + ": 'shape' must be an array");
  Shape s;
  int64_t count = 1;
  for (const auto& d : v->items) {
    int64_t x;
    if (!d.get_int64(&x) || x < 0)
      return invalid_argument(where + ": 'shape' must hold non-negative integers");
    if (__builtin_mul_overflow(count, x, &count) || count > (int64_t{1} << 48))
      return invalid_argument(where + ": shape overflows");
    s.push_back(x);
  }
  if (s.size() > 32) return invalid_argument(where + ": shape has more than 32 dimensions");
  return s;
}

bool get_bool_param(const Value* params, std::string_view key, bool* out) {
  const Value* v = params ? params->find(key) : nullptr;
  if (!v || !v->is_bool()) return false;
  *out = v->boolean;
  return true;
}

}  // namespace

Result<size_t> parse_header_length(std::string_view value, size_t body_size) {
  size_t n = 0;
  auto r = std::from_chars(value.data(), value.data() + value.size(), n);
  if (r.ec != std::errc() || r.ptr != value.data() + value.size())
    return invalid_argument("invalid Inference-Header-Content-Length '" + std::string(value) + "'");
  if (n > body_size)
    return invalid_argument("Inference-Header-Content-Length " + std::to_string(n) +
                            " exceeds the body size " + std::to_string(body_size));
  return n;
}

Result<InferRequest> parse_infer_request(std::string_view body,
                                         std::optional<size_t> header_length) {
  std::string_view header = body;
  std::string_view binary;
  if (header_length) {
    if (*header_length > body.size())
      return invalid_argument("Inference-Header-Content-Length exceeds the body size");
    if (*header_length == 0)
      return unimplemented(
          "raw binary requests (Inference-Header-Content-Length: 0) are not "
          "supported yet");
    header = body.substr(0, *header_length);
    binary = body.substr(*header_length);
  }
  json::ParseOptions opts;
  opts.raw_keys = {"data"};
  NALAR_ASSIGN_OR_RETURN(Value doc, json::parse(header, opts));
  if (!doc.is_object()) return invalid_argument("the inference request must be a JSON object");

  InferRequest req;
  if (const Value* id = doc.find("id")) {
    if (!id->is_string()) return invalid_argument("'id' must be a string");
    req.id = id->str;
  }
  if (const Value* params = doc.find("parameters")) {
    if (!params->is_object()) return invalid_argument("'parameters' must be an object");
    get_bool_param(params, "binary_data_output", &req.binary_data_output);
    if (const Value* p = params->find("priority")) {
      uint64_t v;
      if (!p->get_uint64(&v) || v > std::numeric_limits<uint32_t>::max())
        return invalid_argument("'priority' must be a non-negative integer");
      req.priority = static_cast<uint32_t>(v);
    }
    if (const Value* p = params->find("timeout")) {
      uint64_t v;
      if (!p->get_uint64(&v)) return invalid_argument("'timeout' must be a non-negative integer");
      req.timeout_us = std::min<uint64_t>(v, kMaxTimeoutUs);
    }
  }
  const Value* inputs = doc.find("inputs");
  if (!inputs || !inputs->is_array() || inputs->items.empty())
    return invalid_argument("'inputs' must be a non-empty array");
  size_t binary_pos = 0;
  for (const auto& in : inputs->items) {
    if (!in.is_object()) return invalid_argument("each input must be an object");
    const Value* name = in.find("name");
    if (!name || !name->is_string()) return invalid_argument("each input needs a string 'name'");
    const std::string where = "input '" + name->str + "'";
    const Value* dt = in.find("datatype");
    if (!dt || !dt->is_string()) return invalid_argument(where + ": 'datatype' must be a string");
    DataType dtype = dtype_from_kserve(dt->str);
    if (dtype == DataType::kUndefined)
      return invalid_argument(where + ": unknown datatype '" + dt->str + "'");
    NALAR_ASSIGN_OR_RETURN(Shape shape, parse_shape(in.find("shape"), where));
    const int64_t count = shape_size(shape);

    const Value* params = in.find("parameters");
    if (params && !params->is_object())
      return invalid_argument(where + ": 'parameters' must be an object");
    const Value* bsize = params ? params->find("binary_data_size") : nullptr;
    const Value* data = in.find("data");
    if (bsize) {
      uint64_t n;
      if (!bsize->get_uint64(&n)) return invalid_argument(where + ": invalid binary_data_size");
      if (data) return invalid_argument(where + ": has both 'data' and binary_data_size");
      if (n > binary.size() - binary_pos)
        return invalid_argument(where + ": binary_data_size " + std::to_string(n) +
                                " overruns the binary data of the request");
      // Check sizes before allocating: the tensor can never be larger than the bytes sent.
      const uint64_t ucount = static_cast<uint64_t>(count);  // <= 2^48, no overflow below
      if (dtype == DataType::kString ? ucount * 4 > n : ucount * dtype_size(dtype) != n)
        return invalid_argument(where + ": binary_data_size " + std::to_string(n) +
                                " does not match shape " + shape_to_string(shape) + " of " +
                                dt->str);
      Tensor t = Tensor::create(dtype, shape);
      NALAR_RETURN_IF_ERROR(
          read_binary_tensor(binary.substr(binary_pos, n), t).with_context(where));
      binary_pos += n;
      req.inputs.emplace_back(name->str, std::move(t));
      continue;
    }
    if (!data) return invalid_argument(where + ": needs 'data' or binary_data_size");
    // n elements take at least 2n - 1 characters (3n - 1 for strings): this bounds the
    // allocation by the size of the text before anything is allocated.
    const uint64_t per = dtype == DataType::kString ? 3 : 2;
    if (static_cast<uint64_t>(count) > (data->raw.size() + 1) / per)
      return invalid_argument(where + ": tensor data has fewer elements than shape " +
                              shape_to_string(shape) + " needs");
    Tensor t = Tensor::create(dtype, shape);
    NALAR_RETURN_IF_ERROR(read_json_tensor(data->raw, t).with_context(where));
    if (const Value* ct = params ? params->find("content_type") : nullptr) {
      if (!ct->is_string() || (ct->str != "base64" && ct->str != "str" && ct->str != "bytes"))
        return invalid_argument(where + ": parameters.content_type must be \"base64\" or \"str\"");
      if (ct->str == "base64") {
        if (dtype != DataType::kString)
          return invalid_argument(where + ": content_type \"base64\" needs datatype BYTES");
        for (int64_t i = 0; i < t.size(); ++i) {
          auto bytes = decode_base64(t.data<std::string>()[i]);
          if (!bytes.is_ok())
            return bytes.status().with_context(where + ": element " + std::to_string(i));
          t.data<std::string>()[i] = std::move(bytes).value();
        }
      }
    }
    req.inputs.emplace_back(name->str, std::move(t));
  }
  if (binary_pos != binary.size())
    return invalid_argument(std::to_string(binary.size() - binary_pos) +
                            " bytes of binary data are not claimed by any input");

  if (const Value* outputs = doc.find("outputs")) {
    if (!outputs->is_array()) return invalid_argument("'outputs' must be an array");
    for (const auto& o : outputs->items) {
      const Value* name = o.is_object() ? o.find("name") : nullptr;
      if (!name || !name->is_string())
        return invalid_argument("each requested output needs a string 'name'");
      RequestedOutput ro;
      ro.name = name->str;
      ro.binary = req.binary_data_output;
      const Value* params = o.find("parameters");
      if (params && !params->is_object())
        return invalid_argument("output '" + ro.name + "': 'parameters' must be an object");
      get_bool_param(params, "binary_data", &ro.binary);
      if (const Value* c = params ? params->find("classification") : nullptr) {
        int64_t k;
        if (!c->get_int64(&k) || k < 0 || k > (1 << 20))
          return invalid_argument("output '" + ro.name + "': invalid classification count");
        ro.classification = static_cast<int>(k);
      }
      req.outputs.push_back(std::move(ro));
    }
  }
  return req;
}

namespace {

template <class T>
void write_json_data(json::Writer& w, const Tensor& t) {
  const T* p = t.data<T>();
  for (int64_t i = 0; i < t.size(); ++i) {
    if constexpr (std::is_same_v<T, std::string>) {
      w.string(p[i]);
    } else if constexpr (std::is_same_v<T, bool>) {
      w.boolean(p[i]);
    } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, Float16> ||
                         std::is_same_v<T, BFloat16>) {
      w.float32(static_cast<float>(p[i]));
    } else if constexpr (std::is_same_v<T, double>) {
      w.float64(p[i]);
    } else if constexpr (std::is_signed_v<T>) {
      w.int64(p[i]);
    } else {
      w.uint64(p[i]);
    }
  }
}

void write_tensor_data(json::Writer& w, const Tensor& t) {
  switch (t.dtype()) {
    case DataType::kBool:
      return write_json_data<bool>(w, t);
    case DataType::kUint8:
      return write_json_data<uint8_t>(w, t);
    case DataType::kUint16:
      return write_json_data<uint16_t>(w, t);
    case DataType::kUint32:
      return write_json_data<uint32_t>(w, t);
    case DataType::kUint64:
      return write_json_data<uint64_t>(w, t);
    case DataType::kInt8:
      return write_json_data<int8_t>(w, t);
    case DataType::kInt16:
      return write_json_data<int16_t>(w, t);
    case DataType::kInt32:
      return write_json_data<int32_t>(w, t);
    case DataType::kInt64:
      return write_json_data<int64_t>(w, t);
    case DataType::kFloat16:
      return write_json_data<Float16>(w, t);
    case DataType::kBFloat16:
      return write_json_data<BFloat16>(w, t);
    case DataType::kFloat:
      return write_json_data<float>(w, t);
    case DataType::kDouble:
      return write_json_data<double>(w, t);
    case DataType::kString:
      return write_json_data<std::string>(w, t);
    default:
      return;
  }
}

void append_binary(std::string* out, const Tensor& t) {
  if (t.dtype() == DataType::kString) {
    const std::string* p = t.data<std::string>();
    for (int64_t i = 0; i < t.size(); ++i) {
      uint32_t len = static_cast<uint32_t>(p[i].size());
      out->append(reinterpret_cast<const char*>(&len), 4);
      out->append(p[i]);
    }
  } else if (t.nbytes() > 0) {
    out->append(static_cast<const char*>(t.raw()), t.nbytes());
  }
}

size_t binary_size(const Tensor& t) {
  if (t.dtype() != DataType::kString) return t.nbytes();
  size_t n = 0;
  for (int64_t i = 0; i < t.size(); ++i) n += 4 + t.data<std::string>()[i].size();
  return n;
}

}  // namespace

Result<std::string> decode_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      v = 62;
    } else if (c == '/' || c == '_') {
      v = 63;
    } else if (c == '=') {
      ++pad;
      continue;
    } else if (c == '\n' || c == '\r') {
      continue;
    } else {
      return invalid_argument("invalid base64: character " + std::to_string(i) + " is not base64");
    }
    if (pad) return invalid_argument("invalid base64: data after '=' padding");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // 6 leftover bits cannot end a byte sequence; more than two '=' never occur.
  if (bits >= 6 || pad > 2) return invalid_argument("invalid base64: truncated data");
  return out;
}

EncodedResponse encode_infer_response(const InferResponse& r) {
  json::Writer w;
  w.begin_object();
  w.key("model_name").string(r.model_name);
  w.key("model_version").string(std::to_string(r.model_version));
  if (!r.id.empty()) w.key("id").string(r.id);
  w.key("outputs").begin_array();
  bool any_binary = false;
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    const auto& [name, t] = r.outputs[i];
    const bool binary = i < r.binary.size() && r.binary[i];
    w.begin_object();
    w.key("name").string(name);
    w.key("datatype").string(kserve_dtype_name(t.dtype()));
    w.key("shape").begin_array();
    for (int64_t d : t.shape()) w.int64(d);
    w.end_array();
    if (binary) {
      any_binary = true;
      w.key("parameters")
          .begin_object()
          .key("binary_data_size")
          .uint64(binary_size(t))
          .end_object();
    } else {
      w.key("data").begin_array();
      write_tensor_data(w, t);
      w.end_array();
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  EncodedResponse out;
  out.body = w.take();
  out.json_size = out.body.size();
  out.has_binary = any_binary;
  for (size_t i = 0; i < r.outputs.size(); ++i)
    if (i < r.binary.size() && r.binary[i]) append_binary(&out.body, r.outputs[i].second);
  return out;
}

}  // namespace nalar::serving::kserve
