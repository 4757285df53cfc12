#include "serving/grpc/grpc_codec.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>

#include "serving/datatypes.h"

namespace nalar::serving::kserve_grpc {

namespace {

using inference::InferParameter;
using inference::InferTensorContents;

constexpr uint64_t kMaxTimeoutUs = uint64_t{365} * 24 * 3600 * 1000000;

// Same bounds as the REST codec: at most 2^48 elements and 32 dimensions.
Result<Shape> checked_shape(const google::protobuf::RepeatedField<int64_t>& dims,
                            const std::string& where) {
  if (dims.size() > 32) return invalid_argument(where + ": shape has more than 32 dimensions");
  Shape s;
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0)
      return invalid_argument(where + ": shape must hold non-negative integers, got " +
                              std::to_string(d));
    if (__builtin_mul_overflow(count, d, &count) || count > (int64_t{1} << 48))
      return invalid_argument(where + ": shape overflows");
    s.push_back(d);
  }
  return s;
}

Result<uint64_t> non_negative(const InferParameter& p, const std::string& what) {
  if (p.parameter_choice_case() == InferParameter::kUint64Param) return p.uint64_param();
  if (p.parameter_choice_case() == InferParameter::kInt64Param && p.int64_param() >= 0)
    return static_cast<uint64_t>(p.int64_param());
  return invalid_argument("'" + what + "' must be a non-negative integer (int64_param or " +
                          "uint64_param)");
}

// The typed-contents field each datatype reads from (Triton's mapping).
const char* contents_field(DataType dt) {
  switch (dt) {
    case DataType::kBool:
      return "bool_contents";
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
      return "int_contents";
    case DataType::kInt64:
      return "int64_contents";
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32:
      return "uint_contents";
    case DataType::kUint64:
      return "uint64_contents";
    case DataType::kFloat:
      return "fp32_contents";
    case DataType::kDouble:
      return "fp64_contents";
    case DataType::kString:
      return "bytes_contents";
    default:
      return nullptr;
  }
}

struct FieldCount {
  const char* name;
  int size;
};

std::vector<FieldCount> field_counts(const InferTensorContents& c) {
  return {
      {"bool_contents", c.bool_contents_size()},     {"int_contents", c.int_contents_size()},
      {"int64_contents", c.int64_contents_size()},   {"uint_contents", c.uint_contents_size()},
      {"uint64_contents", c.uint64_contents_size()}, {"fp32_contents", c.fp32_contents_size()},
      {"fp64_contents", c.fp64_contents_size()},     {"bytes_contents", c.bytes_contents_size()}};
}

bool has_typed_data(const InferTensorContents& c) {
  for (const auto& f : field_counts(c))
    if (f.size > 0) return true;
  return false;
}

// Copies a repeated field into the tensor, rejecting values the narrower type cannot hold.
template <class T, class Src>
Status copy_numbers(const Src& src, Tensor& t, const std::string& where, const char* dtype) {
  T* dst = t.data<T>();
  for (int i = 0; i < src.size(); ++i) {
    const auto v = src.Get(i);
    using V = std::remove_const_t<decltype(v)>;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> && sizeof(T) < sizeof(V)) {
      bool in_range = v <= static_cast<V>(std::numeric_limits<T>::max());
      if constexpr (std::is_signed_v<V>)
        in_range = in_range && v >= static_cast<V>(std::numeric_limits<T>::lowest());
      if (!in_range)
        return invalid_argument(where + ": value " + std::to_string(v) + " at element " +
                                std::to_string(i) + " is out of range for " + dtype);
    }
    dst[i] = static_cast<T>(v);
  }
  return Status::ok();
}

Result<Tensor> typed_tensor(const InferTensorContents& c, DataType dt, const Shape& shape,
                            const std::string& where) {
  const char* dtype = kserve_dtype_name(dt);
  const char* field = contents_field(dt);
  if (!field)
    return invalid_argument(where + ": " + dtype +
                            " data must be sent in raw_input_contents (there is no typed "
                            "contents field for it)");
  const int64_t count = shape_size(shape);
  for (const auto& f : field_counts(c)) {
    const bool mine = std::strcmp(f.name, field) == 0;
    if (!mine && f.size > 0)
      return invalid_argument(where + ": datatype " + dtype + " takes its data in " + field +
                              ", but " + f.name + " holds " + std::to_string(f.size) + " values");
    if (mine && f.size != count)
      return invalid_argument(where + ": " + field + " has " + std::to_string(f.size) +
                              " elements but shape " + shape_to_string(shape) + " needs " +
                              std::to_string(count));
  }
  // The element count equals a field's size here, so the allocation is bounded by the message.
  Tensor t = Tensor::create(dt, shape);
  switch (dt) {
    case DataType::kBool:
      NALAR_RETURN_IF_ERROR(copy_numbers<bool>(c.bool_contents(), t, where, dtype));
      break;
    case DataType::kInt8:
      NALAR_RETURN_IF_ERROR(copy_numbers<int8_t>(c.int_contents(), t, where, dtype));
      break;
    case DataType::kInt16:
      NALAR_RETURN_IF_ERROR(copy_numbers<int16_t>(c.int_contents(), t, where, dtype));
      break;
    case DataType::kInt32:
      NALAR_RETURN_IF_ERROR(copy_numbers<int32_t>(c.int_contents(), t, where, dtype));
      break;
    case DataType::kInt64:
      NALAR_RETURN_IF_ERROR(copy_numbers<int64_t>(c.int64_contents(), t, where, dtype));
      break;
    case DataType::kUint8:
      NALAR_RETURN_IF_ERROR(copy_numbers<uint8_t>(c.uint_contents(), t, where, dtype));
      break;
    case DataType::kUint16:
      NALAR_RETURN_IF_ERROR(copy_numbers<uint16_t>(c.uint_contents(), t, where, dtype));
      break;
    case DataType::kUint32:
      NALAR_RETURN_IF_ERROR(copy_numbers<uint32_t>(c.uint_contents(), t, where, dtype));
      break;
    case DataType::kUint64:
      NALAR_RETURN_IF_ERROR(copy_numbers<uint64_t>(c.uint64_contents(), t, where, dtype));
      break;
    case DataType::kFloat:
      NALAR_RETURN_IF_ERROR(copy_numbers<float>(c.fp32_contents(), t, where, dtype));
      break;
    case DataType::kDouble:
      NALAR_RETURN_IF_ERROR(copy_numbers<double>(c.fp64_contents(), t, where, dtype));
      break;
    case DataType::kString: {
      std::string* dst = t.data<std::string>();
      for (int i = 0; i < c.bytes_contents_size(); ++i) dst[i] = c.bytes_contents(i);
      break;
    }
    default:
      return invalid_argument(where + ": unsupported datatype");
  }
  return t;
}

Result<Tensor> raw_tensor(std::string_view raw, DataType dt, const Shape& shape,
                          const std::string& where) {
  const uint64_t count = static_cast<uint64_t>(shape_size(shape));  // <= 2^48
  const char* dtype = kserve_dtype_name(dt);
  if (dt == DataType::kString) {
    // Every element takes at least its 4-byte length: bounds the allocation before it happens.
    if (count * 4 > raw.size())
      return invalid_argument(where + ": raw_input_contents of " + std::to_string(raw.size()) +
                              " bytes cannot hold the " + std::to_string(count) +
                              " BYTES elements of shape " + shape_to_string(shape));
    Tensor t = Tensor::create(dt, shape);
    std::string* dst = t.data<std::string>();
    size_t pos = 0;
    for (uint64_t i = 0; i < count; ++i) {
      if (raw.size() - pos < 4)
        return invalid_argument(where + ": raw BYTES data ends inside element " +
                                std::to_string(i));
      uint32_t len;
      std::memcpy(&len, raw.data() + pos, 4);  // little-endian, like the host
      pos += 4;
      if (raw.size() - pos < len)
        return invalid_argument(where + ": raw BYTES element " + std::to_string(i) + " of " +
                                std::to_string(len) + " bytes overruns its data");
      dst[i].assign(raw.data() + pos, len);
      pos += len;
    }
    if (pos != raw.size())
      return invalid_argument(where + ": raw BYTES data has " + std::to_string(raw.size() - pos) +
                              " bytes beyond the " + std::to_string(count) + " elements of shape " +
                              shape_to_string(shape));
    return t;
  }
  const uint64_t want = count * dtype_size(dt);
  if (raw.size() != want)
    return invalid_argument(where + ": raw_input_contents has " + std::to_string(raw.size()) +
                            " bytes but shape " + shape_to_string(shape) + " of " + dtype +
                            " needs " + std::to_string(want));
  Tensor t = Tensor::create(dt, shape);
  if (dt == DataType::kBool) {
    bool* dst = t.data<bool>();
    for (uint64_t i = 0; i < count; ++i) dst[i] = raw[i] != 0;
  } else if (!raw.empty()) {
    std::memcpy(t.raw(), raw.data(), raw.size());
  }
  return t;
}

Status refuse_shared_memory(const google::protobuf::Map<std::string, InferParameter>& params,
                            const std::string& where) {
  for (const auto& [key, value] : params)
    if (key.rfind("shared_memory", 0) == 0)
      return unimplemented(where + ": shared memory ('" + key + "') is not supported");
  return Status::ok();
}

size_t raw_size(const Tensor& t) {
  if (t.dtype() != DataType::kString) return t.nbytes();
  size_t n = 0;
  for (int64_t i = 0; i < t.size(); ++i) n += 4 + t.data<std::string>()[i].size();
  return n;
}

}  // namespace

Result<int64_t> parse_model_version(const std::string& s) {
  if (s.empty()) return int64_t{-1};
  bool digits = s.size() <= 18 && s[0] != '0';
  for (char c : s) digits = digits && c >= '0' && c <= '9';
  if (!digits) return not_found("unknown version '" + s + "'");
  return std::stoll(s);
}

Result<InferRequest> decode_infer_request(const inference::ModelInferRequest& req) {
  InferRequest r;
  r.id = req.id();
  for (const auto& [key, value] : req.parameters()) {
    if (key == "priority") {
      NALAR_ASSIGN_OR_RETURN(uint64_t v, non_negative(value, key));
      if (v > std::numeric_limits<uint32_t>::max())
        return invalid_argument("'priority' " + std::to_string(v) + " is out of range");
      r.priority = static_cast<uint32_t>(v);
    } else if (key == "timeout") {
      NALAR_ASSIGN_OR_RETURN(uint64_t v, non_negative(value, key));
      // Beyond a year is "no limit" in practice, and keeps the scheduler's clock math in range.
      r.timeout_us = std::min<uint64_t>(v, kMaxTimeoutUs);
    }
  }
  NALAR_RETURN_IF_ERROR(refuse_shared_memory(req.parameters(), "request"));

  const bool raw = req.raw_input_contents_size() > 0;
  if (raw && req.raw_input_contents_size() != req.inputs_size())
    return invalid_argument("raw_input_contents has " +
                            std::to_string(req.raw_input_contents_size()) +
                            " entries but the request has " + std::to_string(req.inputs_size()) +
                            " inputs: give one entry per input, in the order of 'inputs'");
  for (int i = 0; i < req.inputs_size(); ++i) {
    const auto& in = req.inputs(i);
    const std::string where = "input '" + in.name() + "'";
    if (in.name().empty()) return invalid_argument("input " + std::to_string(i) + " has no name");
    NALAR_RETURN_IF_ERROR(refuse_shared_memory(in.parameters(), where));
    const DataType dt = dtype_from_kserve(in.datatype());
    if (dt == DataType::kUndefined)
      return invalid_argument(where + ": unknown datatype '" + in.datatype() + "'");
    NALAR_ASSIGN_OR_RETURN(Shape shape, checked_shape(in.shape(), where));
    if (raw) {
      if (has_typed_data(in.contents()))
        return invalid_argument(where + ": has typed contents while the request uses " +
                                "raw_input_contents; give each input's data in one of them only");
      NALAR_ASSIGN_OR_RETURN(Tensor t, raw_tensor(req.raw_input_contents(i), dt, shape, where));
      r.inputs.emplace_back(in.name(), std::move(t));
    } else {
      NALAR_ASSIGN_OR_RETURN(Tensor t, typed_tensor(in.contents(), dt, shape, where));
      r.inputs.emplace_back(in.name(), std::move(t));
    }
  }

  for (const auto& out : req.outputs()) {
    if (out.name().empty()) return invalid_argument("a requested output has no name");
    const std::string where = "output '" + out.name() + "'";
    NALAR_RETURN_IF_ERROR(refuse_shared_memory(out.parameters(), where));
    RequestedOutput ro;
    ro.name = out.name();
    ro.binary = true;
    if (auto it = out.parameters().find("classification"); it != out.parameters().end()) {
      auto k = non_negative(it->second, "classification");
      if (!k.is_ok() || *k > (1u << 20))
        return invalid_argument(where + ": invalid classification count");
      ro.classification = static_cast<int>(*k);
    }
    r.outputs.push_back(std::move(ro));
  }
  r.binary_data_output = true;
  return r;
}

void encode_infer_response(const InferResponse& r, inference::ModelInferResponse* out) {
  out->set_model_name(r.model_name);
  out->set_model_version(std::to_string(r.model_version));
  out->set_id(r.id);
  for (const auto& [name, t] : r.outputs) {
    auto* o = out->add_outputs();
    o->set_name(name);
    o->set_datatype(kserve_dtype_name(t.dtype()));
    for (int64_t d : t.shape()) o->add_shape(d);
    std::string* raw = out->add_raw_output_contents();
    if (t.dtype() == DataType::kString) {
      raw->reserve(raw_size(t));
      const std::string* p = t.data<std::string>();
      for (int64_t i = 0; i < t.size(); ++i) {
        const uint32_t len = static_cast<uint32_t>(p[i].size());
        raw->append(reinterpret_cast<const char*>(&len), 4);
        raw->append(p[i]);
      }
    } else if (t.nbytes() > 0) {
      raw->assign(static_cast<const char*>(t.raw()), t.nbytes());
    }
  }
}

}  // namespace nalar::serving::kserve_grpc
