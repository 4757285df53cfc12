#include "serving/model_config.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <set>

#include "core/json.h"

namespace nalar::serving {

namespace pb = google::protobuf;

namespace {

class CollectErrors : public pb::io::ErrorCollector {
 public:
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    if (error.empty())
      error =
          "line " + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
  }
  void AddWarning(int line, pb::io::ColumnNumber column, const std::string& message) override {
    warnings.push_back("line " + std::to_string(line + 1) + ":" + std::to_string(column + 1) +
                       ": " + message);
  }
  std::string error;
  std::vector<std::string> warnings;
};

std::string dims_text(const pb::RepeatedField<int64_t>& dims) {
  std::string s = "[";
  for (int i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

// The model's declared shape as config dims (-1 for symbolic/unknown), batch dim dropped.
std::vector<int64_t> model_dims(const TensorInfo& info, bool drop_batch) {
  std::vector<int64_t> dims;
  for (size_t i = drop_batch ? 1 : 0; i < info.shape.size(); ++i)
    dims.push_back(info.shape[i].is_fixed() ? info.shape[i].value : -1);
  return dims;
}

bool batchable(const TensorInfo& info) {
  return info.has_shape && !info.shape.empty() && !info.shape[0].is_fixed();
}

// A reshape maps the client's `dims` onto the model's shape: both need the same element count,
// each may infer one dimension (-1).
template <class ConfigTensor>
Status check_reshape(const std::string& where, const ConfigTensor& ct) {
  const auto& rs = ct.reshape().shape();
  if (ct.dims_size() == 0)
    return invalid_argument(where + ": reshape needs dims (the shape clients send or receive)");
  auto product = [&](const auto& dims, int64_t* n) -> Status {
    int unknown = 0;
    *n = 1;
    for (int64_t d : dims) {
      if (d < -1) return invalid_argument(where + ": dims and reshape shape must be >= -1");
      if (d == -1)
        ++unknown;
      else
        *n *= d;
    }
    if (unknown > 1) return invalid_argument(where + ": at most one -1 in dims or reshape shape");
    return unknown == 0 ? Status::ok() : Status(StatusCode::kNotFound, "");
  };
  int64_t a = 0, b = 0;
  Status sa = product(ct.dims(), &a), sb = product(rs, &b);
  if (sa.code() == StatusCode::kInvalidArgument) return sa;
  if (sb.code() == StatusCode::kInvalidArgument) return sb;
  if (sa.is_ok() && sb.is_ok() && a != b)
    return invalid_argument(where + ": dims " + dims_text(ct.dims()) + " (" + std::to_string(a) +
                            " elements) cannot be reshaped to " + dims_text(rs) + " (" +
                            std::to_string(b) + ")");
  return Status::ok();
}

// Checks one config tensor (dims, dtype) against the model's declaration.
template <class ConfigTensor>
Status check_tensor(const char* kind, const TensorInfo& info, int max_batch_size, ConfigTensor* ct,
                    std::vector<std::string>* /*warnings*/) {
  const std::string where = std::string(kind) + " '" + ct->name() + "'";
  DataType want = dtype_from_config(ct->data_type());
  if (ct->data_type() == inference::TYPE_INVALID) {
    ct->set_data_type(dtype_to_config(info.dtype));
  } else if (want != info.dtype) {
    return invalid_argument(where + ": config data_type " +
                            inference::DataType_Name(ct->data_type()) + " but the model has " +
                            dtype_name(info.dtype));
  }
  if (ct->data_type() == inference::TYPE_INVALID)
    return unimplemented(where + ": model dtype " + std::string(dtype_name(info.dtype)) +
                         " has no KServe datatype");
  if (ct->has_reshape()) NALAR_RETURN_IF_ERROR(check_reshape(where, *ct));
  if (!info.has_shape) return Status::ok();  // rank unknown: trust the config
  if (max_batch_size > 0 && !batchable(info))
    return invalid_argument(
        where +
        ": max_batch_size > 0 needs a symbolic first dimension, "
        "but the model declares " +
        (info.shape.empty() ? std::string("a scalar") : std::to_string(info.shape[0].value)));
  std::vector<int64_t> md = model_dims(info, max_batch_size > 0);
  if (ct->has_reshape()) {
    // The model sees reshape.shape: that is what must match its declaration.
    const auto& rs = ct->reshape().shape();
    if (static_cast<size_t>(rs.size()) != md.size())
      return invalid_argument(where + ": reshape shape " + dims_text(rs) + " has rank " +
                              std::to_string(rs.size()) + " but the model's shape has rank " +
                              std::to_string(md.size()) +
                              (max_batch_size > 0 ? " without the batch dimension" : ""));
    for (size_t i = 0; i < md.size(); ++i) {
      const int64_t r = rs.Get(static_cast<int>(i));
      if (r >= 0 && md[i] >= 0 && r != md[i])
        return invalid_argument(where + ": reshape shape " + dims_text(rs) +
                                " disagrees with the model's dimension " + std::to_string(md[i]));
    }
    return Status::ok();
  }
  if (ct->dims_size() == 0 && !md.empty()) {
    for (int64_t d : md) ct->add_dims(d);
    return Status::ok();
  }
  if (static_cast<size_t>(ct->dims_size()) != md.size())
    return invalid_argument(where + ": config dims " + dims_text(ct->dims()) + " have rank " +
                            std::to_string(ct->dims_size()) + " but the model's shape has rank " +
                            std::to_string(md.size()) +
                            (max_batch_size > 0 ? " without the batch dimension" : ""));
  for (size_t i = 0; i < md.size(); ++i) {
    int64_t c = ct->dims(static_cast<int>(i));
    if (c < -1) return invalid_argument(where + ": dims must be >= -1");
    if (c >= 0 && md[i] >= 0 && c != md[i])
      return invalid_argument(where + ": config dims " + dims_text(ct->dims()) +
                              " disagree with the model's dimension " + std::to_string(md[i]));
    if (c == -1 && md[i] >= 0) ct->set_dims(static_cast<int>(i), md[i]);
  }
  return Status::ok();
}

void write_field(json::Writer& w, const pb::Message& m, const pb::FieldDescriptor* f, int index);

void write_message(json::Writer& w, const pb::Message& m) {
  w.begin_object();
  std::vector<const pb::FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);
  for (const auto* f : fields) {
    w.key(f->name());
    const pb::Reflection* r = m.GetReflection();
    if (f->is_map()) {
      // Map entries are messages with fields key (1) and value (2).
      w.begin_object();
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        const pb::Message& e = r->GetRepeatedMessage(m, f, i);
        const pb::FieldDescriptor* kf = e.GetDescriptor()->FindFieldByNumber(1);
        const pb::FieldDescriptor* vf = e.GetDescriptor()->FindFieldByNumber(2);
        std::string key;
        switch (kf->cpp_type()) {
          case pb::FieldDescriptor::CPPTYPE_STRING:
            key = e.GetReflection()->GetString(e, kf);
            break;
          case pb::FieldDescriptor::CPPTYPE_UINT64:
            key = std::to_string(e.GetReflection()->GetUInt64(e, kf));
            break;
          default:
            key = "?";
            break;
        }
        w.key(key);
        write_field(w, e, vf, -1);
      }
      w.end_object();
    } else if (f->is_repeated()) {
      w.begin_array();
      for (int i = 0; i < r->FieldSize(m, f); ++i) write_field(w, m, f, i);
      w.end_array();
    } else {
      write_field(w, m, f, -1);
    }
  }
  w.end_object();
}

// One value of field f (element `index` of a repeated field, or the singular value for -1).
void write_field(json::Writer& w, const pb::Message& m, const pb::FieldDescriptor* f, int index) {
  const pb::Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      w.int64(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      w.int64(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      w.uint64(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      w.uint64(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      w.float64(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      w.float32(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      w.boolean(rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      w.string((rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f))->name());
      break;
    case pb::FieldDescriptor::CPPTYPE_STRING:
      w.string(rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      write_message(w, rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f));
      break;
  }
}

}  // namespace

Result<ModelConfig> parse_model_config(const std::string& text,
                                       std::vector<std::string>* warnings) {
  ModelConfig config;
  CollectErrors errors;
  pb::TextFormat::Parser parser;
  parser.AllowUnknownField(true);
  parser.AllowUnknownExtension(true);
  parser.RecordErrorsTo(&errors);
  bool ok = parser.ParseFromString(text, &config);
  if (warnings)
    for (auto& w : errors.warnings) warnings->push_back(w);
  if (!ok)
    return invalid_argument("config.pbtxt: " +
                            (errors.error.empty() ? std::string("parse error") : errors.error));
  return config;
}

Status complete_model_config(const Session& session, bool generated, ModelConfig* config,
                             std::vector<std::string>* warnings) {
  if (config->has_sequence_batching())
    return unimplemented("sequence_batching is not supported yet");
  if (config->has_ensemble_scheduling())
    return unimplemented("ensemble_scheduling is not supported yet");
  const std::string& platform = config->platform();
  const std::string& backend = config->backend();
  if (!platform.empty() && platform != "onnxruntime_onnx" && platform != "onnx_onnxv1")
    return unimplemented("platform '" + platform + "' is not supported (ONNX models only)");
  if (!backend.empty() && backend != "onnxruntime" && backend != "nalar")
    return unimplemented("backend '" + backend + "' is not supported (onnxruntime or nalar)");
  if (platform.empty() && backend.empty()) {
    config->set_platform("onnxruntime_onnx");
    config->set_backend("onnxruntime");
  }
  if (config->max_batch_size() < 0) return invalid_argument("max_batch_size must be >= 0");

  if (generated) {
    bool all_batchable = !session.inputs().empty();
    for (const auto& i : session.inputs()) all_batchable = all_batchable && batchable(i);
    for (const auto& o : session.outputs())
      all_batchable = all_batchable && (!o.has_shape || batchable(o));
    if (all_batchable) {
      config->set_max_batch_size(kDefaultMaxBatchSize);
      config->mutable_dynamic_batching();
    }
  }
  const int mbs = config->max_batch_size();

  // Inputs: every config input must exist; model inputs missing from the config are added.
  std::set<std::string> seen;
  for (auto& ci : *config->mutable_input()) {
    const TensorInfo* info = nullptr;
    for (const auto& mi : session.inputs())
      if (mi.name == ci.name()) info = &mi;
    if (!info)
      return invalid_argument("config input '" + ci.name() + "' is not an input of the model");
    if (!seen.insert(ci.name()).second)
      return invalid_argument("config input '" + ci.name() + "' is listed twice");
    NALAR_RETURN_IF_ERROR(check_tensor("input", *info, mbs, &ci, warnings));
  }
  for (const auto& mi : session.inputs()) {
    if (seen.count(mi.name)) continue;
    if (!generated && config->input_size() > 0)
      warnings->push_back("model input '" + mi.name + "' is missing from config.pbtxt; added");
    auto* ci = config->add_input();
    ci->set_name(mi.name);
    NALAR_RETURN_IF_ERROR(check_tensor("input", mi, mbs, ci, warnings));
  }
  seen.clear();
  for (auto& co : *config->mutable_output()) {
    const TensorInfo* info = nullptr;
    for (const auto& mo : session.outputs())
      if (mo.name == co.name()) info = &mo;
    if (!info)
      return invalid_argument("config output '" + co.name() + "' is not an output of the model");
    if (!seen.insert(co.name()).second)
      return invalid_argument("config output '" + co.name() + "' is listed twice");
    NALAR_RETURN_IF_ERROR(check_tensor("output", *info, mbs, &co, warnings));
  }
  for (const auto& mo : session.outputs()) {
    if (seen.count(mo.name)) continue;
    auto* co = config->add_output();
    co->set_name(mo.name);
    NALAR_RETURN_IF_ERROR(check_tensor("output", mo, mbs, co, warnings));
  }

  if (config->has_dynamic_batching()) {
    const auto& db = config->dynamic_batching();
    if (mbs == 0) warnings->push_back("dynamic_batching needs max_batch_size > 0; batching is off");
    for (int p : db.preferred_batch_size())
      if (p <= 0 || p > mbs)
        return invalid_argument("preferred_batch_size " + std::to_string(p) +
                                " must be in [1, max_batch_size]");
    if (db.priority_levels() > 0 && db.default_priority_level() > db.priority_levels())
      return invalid_argument("default_priority_level exceeds priority_levels");
  }
  if (config->instance_group_size() == 0) {
    auto* g = config->add_instance_group();
    g->set_count(1);
    g->set_kind(inference::ModelInstanceGroup::KIND_CPU);
  }
  for (auto& g : *config->mutable_instance_group()) {
    if (g.count() < 0) return invalid_argument("instance_group count must be >= 0");
    if (g.count() == 0) g.set_count(1);
    if (g.kind() == inference::ModelInstanceGroup::KIND_GPU) {
      warnings->push_back("instance_group KIND_GPU: Nalar runs on CPU; using KIND_CPU");
      g.set_kind(inference::ModelInstanceGroup::KIND_CPU);
    } else if (g.kind() == inference::ModelInstanceGroup::KIND_AUTO) {
      g.set_kind(inference::ModelInstanceGroup::KIND_CPU);
    }
  }
  return Status::ok();
}

DataType dtype_from_config(inference::DataType t) {
  switch (t) {
    case inference::TYPE_BOOL:
      return DataType::kBool;
    case inference::TYPE_UINT8:
      return DataType::kUint8;
    case inference::TYPE_UINT16:
      return DataType::kUint16;
    case inference::TYPE_UINT32:
      return DataType::kUint32;
    case inference::TYPE_UINT64:
      return DataType::kUint64;
    case inference::TYPE_INT8:
      return DataType::kInt8;
    case inference::TYPE_INT16:
      return DataType::kInt16;
    case inference::TYPE_INT32:
      return DataType::kInt32;
    case inference::TYPE_INT64:
      return DataType::kInt64;
    case inference::TYPE_FP16:
      return DataType::kFloat16;
    case inference::TYPE_FP32:
      return DataType::kFloat;
    case inference::TYPE_FP64:
      return DataType::kDouble;
    case inference::TYPE_STRING:
      return DataType::kString;
    case inference::TYPE_BF16:
      return DataType::kBFloat16;
    default:
      return DataType::kUndefined;
  }
}

inference::DataType dtype_to_config(DataType t) {
  switch (t) {
    case DataType::kBool:
      return inference::TYPE_BOOL;
    case DataType::kUint8:
      return inference::TYPE_UINT8;
    case DataType::kUint16:
      return inference::TYPE_UINT16;
    case DataType::kUint32:
      return inference::TYPE_UINT32;
    case DataType::kUint64:
      return inference::TYPE_UINT64;
    case DataType::kInt8:
      return inference::TYPE_INT8;
    case DataType::kInt16:
      return inference::TYPE_INT16;
    case DataType::kInt32:
      return inference::TYPE_INT32;
    case DataType::kInt64:
      return inference::TYPE_INT64;
    case DataType::kFloat16:
      return inference::TYPE_FP16;
    case DataType::kFloat:
      return inference::TYPE_FP32;
    case DataType::kDouble:
      return inference::TYPE_FP64;
    case DataType::kString:
      return inference::TYPE_STRING;
    case DataType::kBFloat16:
      return inference::TYPE_BF16;
    default:
      return inference::TYPE_INVALID;
  }
}

Result<ModelConfig> parse_model_config_json(const std::string& json) {
  ModelConfig config;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto st = pb::util::JsonStringToMessage(json, &config, options);
  if (!st.ok()) return invalid_argument("invalid model config JSON: " + st.ToString());
  return config;
}

std::string model_config_to_json(const ModelConfig& config) {
  json::Writer w;
  write_message(w, config);
  return w.take();
}

}  // namespace nalar::serving
