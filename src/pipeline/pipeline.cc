#include "pipeline/pipeline.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/json.h"
#include "pipeline/image_stage.h"
#include "pipeline/labels.h"
#include "pipeline/output_stage.h"
#include "pipeline/pipeline_json.h"
#include "pipeline/tabular_stage.h"
#include "pipeline/text_stage.h"

namespace nalar::pipeline {

namespace fs = std::filesystem;

struct Pipeline::Impl {
  TensorInfo target;  // image / tabular / text (input_ids): the model input the stage fills
  std::unique_ptr<Tokenizer> tokenizer;  // text
  std::vector<TensorInfo> model_inputs;
  std::vector<TensorInfo> model_outputs;
};

namespace {

const TensorInfo* find_info(const std::vector<TensorInfo>& infos, const std::string& name) {
  for (const TensorInfo& t : infos)
    if (t.name == name) return &t;
  return nullptr;
}

std::string names_of(const std::vector<TensorInfo>& infos) {
  std::string s;
  for (const TensorInfo& t : infos) s += (s.empty() ? "'" : ", '") + t.name + "'";
  return s.empty() ? "none" : s;
}

std::string shape_text(const TensorInfo& t) {
  if (!t.has_shape) return "[?]";
  std::string s = "[";
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (i) s += ",";
    s += t.shape[i].is_fixed() ? std::to_string(t.shape[i].value)
                               : (t.shape[i].param.empty() ? "?" : t.shape[i].param);
  }
  return s + "]";
}

// The stage's model input: the named one, or the model's only input.
Result<TensorInfo> target_input(const std::vector<TensorInfo>& inputs, const std::string& name,
                                const char* kind) {
  if (name.empty()) {
    if (inputs.size() != 1)
      return invalid_argument(std::string("pipeline.json: input.input: the model has inputs ") +
                              names_of(inputs) + "; name the one the " + kind + " stage fills");
    return inputs[0];
  }
  const TensorInfo* t = find_info(inputs, name);
  if (!t)
    return invalid_argument("pipeline.json: input.input: the model has no input '" + name +
                            "' (inputs: " + names_of(inputs) + ")");
  if (inputs.size() != 1)
    return invalid_argument("pipeline.json: the model has inputs " + names_of(inputs) + "; a " +
                            kind + " stage fills only '" + name + "'");
  return *t;
}

// The model's dtype wins when the stage can write it; a config that says otherwise is an error.
Status adopt_dtype(const TensorInfo& input, std::initializer_list<DataType> writable,
                   DataType default_dtype, DataType* dtype) {
  bool ok = false;
  for (DataType t : writable) ok = ok || t == input.dtype;
  if (!ok) {
    std::string list;
    for (DataType t : writable) list += (list.empty() ? "" : ", ") + std::string(dtype_name(t));
    return invalid_argument("pipeline.json: model input '" + input.name + "' is " +
                            dtype_name(input.dtype) + "; this stage writes " + list);
  }
  if (*dtype != input.dtype && *dtype != default_dtype)
    return invalid_argument(std::string("pipeline.json: input.dtype is ") + dtype_name(*dtype) +
                            " but model input '" + input.name + "' is " + dtype_name(input.dtype));
  *dtype = input.dtype;
  return Status::ok();
}

Status resolve_tabular(const std::vector<TensorInfo>& inputs, TabularConfig* c,
                       TensorInfo* target) {
  NALAR_ASSIGN_OR_RETURN(*target, target_input(inputs, c->input, "tabular"));
  c->input = target->name;
  NALAR_RETURN_IF_ERROR(adopt_dtype(
      *target,
      {DataType::kFloat, DataType::kDouble, DataType::kFloat16, DataType::kInt64, DataType::kInt32},
      DataType::kFloat, &c->dtype));
  if (!target->has_shape) return Status::ok();
  const int64_t features = tabular_feature_count(*c);
  if (target->shape.size() < 1 || target->shape.size() > 2)
    return invalid_argument("pipeline.json: model input '" + target->name + "' has shape " +
                            shape_text(*target) + "; a tabular stage fills [batch, features]");
  const Dim& last = target->shape.back();
  if (last.is_fixed() && last.value != features && target->shape.size() == 2)
    return invalid_argument("pipeline.json: input.columns make " + std::to_string(features) +
                            " features but model input '" + target->name + "' has shape " +
                            shape_text(*target) + " (" + std::to_string(last.value) + " features)");
  return Status::ok();
}

Status resolve_image(const std::vector<TensorInfo>& inputs, ImageConfig* c, TensorInfo* target) {
  NALAR_ASSIGN_OR_RETURN(*target, target_input(inputs, c->input, "image"));
  c->input = target->name;
  NALAR_RETURN_IF_ERROR(adopt_dtype(*target,
                                    {DataType::kFloat, DataType::kFloat16, DataType::kUint8},
                                    DataType::kFloat, &c->dtype));
  const int64_t channels = c->color == ColorMode::kGray ? 1 : 3;
  const bool nchw = c->layout == Layout::kNCHW;
  if (target->has_shape) {
    if (target->shape.size() != 4)
      return invalid_argument("pipeline.json: model input '" + target->name + "' has shape " +
                              shape_text(*target) + "; an image stage fills a 4-D " +
                              (nchw ? "NCHW" : "NHWC") + " input");
    const Dim& ch = target->shape[nchw ? 1 : 3];
    if (ch.is_fixed() && ch.value != channels)
      return invalid_argument(
          "pipeline.json: model input '" + target->name + "' has shape " + shape_text(*target) +
          ": " + std::to_string(ch.value) + " channels at dim " + (nchw ? "1" : "3") + " (layout " +
          (nchw ? "NCHW" : "NHWC") + "), but color gives " + std::to_string(channels) +
          (nchw ? "; is the layout NHWC?" : "; is the layout NCHW?"));
    const Dim& h = target->shape[nchw ? 2 : 1];
    const Dim& w = target->shape[nchw ? 3 : 2];
    for (auto [dim, size, key] :
         {std::tuple{&h, &c->height, "height"}, std::tuple{&w, &c->width, "width"}}) {
      if (dim->is_fixed()) {
        if (*size != 0 && *size != dim->value)
          return invalid_argument(std::string("pipeline.json: input.") + key + " is " +
                                  std::to_string(*size) + " but model input '" + target->name +
                                  "' has shape " + shape_text(*target));
        *size = static_cast<int>(dim->value);
      }
    }
  }
  if (c->height <= 0 || c->width <= 0)
    return invalid_argument("pipeline.json: model input '" + target->name + "' has shape " +
                            shape_text(*target) +
                            " without a fixed height and width; set input.height and input.width");
  if (c->resize == ResizeMode::kShorterSide && c->shorter_side == 0)
    c->shorter_side = std::min(c->height, c->width);
  if (c->resize == ResizeMode::kShorterSide && c->shorter_side < std::min(c->height, c->width))
    return invalid_argument("pipeline.json: input.shorter_side " + std::to_string(c->shorter_side) +
                            " is smaller than the crop " + std::to_string(c->height) + "x" +
                            std::to_string(c->width));
  return Status::ok();
}

// Text: the model inputs the configured names refer to. A default name the model lacks is
// dropped (not every model takes token_type_ids); every model input must be filled.
Status resolve_text(const std::vector<TensorInfo>& inputs, TextConfig* c, TensorInfo* target) {
  const TextConfig defaults;
  struct Slot {
    std::string* name;
    const std::string& fallback;
    const char* key;
  };
  Slot slots[] = {{&c->input_ids, defaults.input_ids, "input_ids"},
                  {&c->attention_mask, defaults.attention_mask, "attention_mask"},
                  {&c->token_type_ids, defaults.token_type_ids, "token_type_ids"}};
  for (Slot& s : slots) {
    if (s.name->empty() || find_info(inputs, *s.name)) continue;
    const bool is_ids = s.name == &c->input_ids;
    if (*s.name == s.fallback && !is_ids) {
      s.name->clear();
      continue;
    }
    if (is_ids && *s.name == s.fallback && inputs.size() == 1) {
      *s.name = inputs[0].name;  // a model with one input takes the ids there
      continue;
    }
    return invalid_argument(std::string("pipeline.json: input.inputs.") + s.key +
                            ": the model has no input '" + *s.name +
                            "' (inputs: " + names_of(inputs) + ")");
  }
  for (const TensorInfo& in : inputs)
    if (in.name != c->input_ids && in.name != c->attention_mask && in.name != c->token_type_ids)
      return invalid_argument("pipeline.json: model input '" + in.name +
                              "' is not filled by the text stage; name it in input.inputs "
                              "(input_ids, attention_mask, token_type_ids)");
  *target = *find_info(inputs, c->input_ids);
  for (const std::string* n : {&c->input_ids, &c->attention_mask, &c->token_type_ids}) {
    if (n->empty()) continue;
    const TensorInfo& in = *find_info(inputs, *n);
    NALAR_RETURN_IF_ERROR(
        adopt_dtype(in, {DataType::kInt64, DataType::kInt32}, DataType::kInt64, &c->dtype));
    if (in.has_shape && in.shape.size() != 2)
      return invalid_argument("pipeline.json: model input '" + in.name + "' has shape " +
                              shape_text(in) + "; a text stage fills [batch, sequence]");
    // A fixed sequence length decides max_length (and padding to it).
    if (in.has_shape && in.shape[1].is_fixed()) {
      const int64_t len = in.shape[1].value;
      if (c->max_length != len && c->max_length != defaults.max_length)
        return invalid_argument("pipeline.json: input.max_length is " +
                                std::to_string(c->max_length) + " but model input '" + in.name +
                                "' has shape " + shape_text(in));
      c->max_length = len;
      c->padding = Padding::kMaxLength;
    }
  }
  return Status::ok();
}

// A model input whose batch dim is fixed takes exactly that many examples.
Status check_batch(const TensorInfo& t, int64_t n) {
  if (t.has_shape && !t.shape.empty() && t.shape[0].is_fixed() && t.shape[0].value != n)
    return invalid_argument("model input '" + t.name + "' has shape " + shape_text(t) +
                            " and takes " + std::to_string(t.shape[0].value) +
                            " example(s) at a time, got " + std::to_string(n));
  return Status::ok();
}

Status resolve_output(const std::vector<TensorInfo>& outputs, OutputConfig* c) {
  if (outputs.empty()) return invalid_argument("pipeline.json: the model has no outputs");
  auto is_label_type = [](DataType t) {
    return t == DataType::kInt64 || t == DataType::kString || t == DataType::kInt32;
  };
  // An ai.onnx.ml classifier (label tensor, then probabilities) is recognised by its outputs.
  if (c->output.empty() && c->label_output.empty() && !c->regression && outputs.size() >= 2 &&
      is_label_type(outputs[0].dtype) && dtype_is_float(outputs[1].dtype))
    c->label_output = outputs[0].name;
  if (c->output.empty()) {
    if (!c->label_output.empty()) {
      if (outputs.size() < 2)
        return invalid_argument(
            "pipeline.json: output.label_output is set but the model has only output " +
            names_of(outputs) + "; name the probabilities in output.output");
      c->output = outputs[0].name == c->label_output ? outputs[1].name : outputs[0].name;
    } else {
      c->output = outputs[0].name;
    }
  }
  const TensorInfo* scores = find_info(outputs, c->output);
  if (!scores)
    return invalid_argument("pipeline.json: output.output: the model has no output '" + c->output +
                            "' (outputs: " + names_of(outputs) + ")");
  if (scores->dtype == DataType::kString || dtype_size(scores->dtype) == 0 ||
      scores->dtype == DataType::kComplex64 || scores->dtype == DataType::kComplex128)
    return invalid_argument("pipeline.json: output.output: model output '" + c->output + "' is " +
                            dtype_name(scores->dtype) + "; scores must be numbers");
  if (!c->label_output.empty()) {
    const TensorInfo* l = find_info(outputs, c->label_output);
    if (!l)
      return invalid_argument("pipeline.json: output.label_output: the model has no output '" +
                              c->label_output + "' (outputs: " + names_of(outputs) + ")");
    if (!is_label_type(l->dtype))
      return invalid_argument("pipeline.json: output.label_output: model output '" +
                              c->label_output + "' is " + dtype_name(l->dtype) +
                              "; labels are int64 or string");
  }
  if (c->threshold && scores->has_shape && !scores->shape.empty()) {
    const Dim& last = scores->shape.back();
    const int64_t classes = scores->shape.size() == 1 ? 1 : last.value;
    if (scores->shape.size() > 1 && last.is_fixed() && classes > 1 && c->positive_index >= classes)
      return invalid_argument("pipeline.json: output.positive_index " +
                              std::to_string(c->positive_index) + " is outside the " +
                              std::to_string(classes) + " classes of output '" + c->output + "'");
  }
  return Status::ok();
}

Result<std::string> read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open '" + path.string() + "'");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return internal_error("error reading '" + path.string() + "'");
  return text;
}

}  // namespace

Pipeline::~Pipeline() = default;

Result<std::unique_ptr<Pipeline>> Pipeline::load(const std::string& model_dir,
                                                 const Session& session) {
  const fs::path path = fs::path(model_dir) / "pipeline.json";
  std::error_code ec;
  if (!fs::exists(path, ec)) return from_json("{}", model_dir, session);
  NALAR_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  auto p = from_json(text, model_dir, session);
  if (!p.is_ok()) return p.status().with_context(path.string());
  return p;
}

Result<std::unique_ptr<Pipeline>> Pipeline::from_json(std::string_view json,
                                                      const std::string& model_dir,
                                                      const Session& session) {
  NALAR_ASSIGN_OR_RETURN(PipelineConfig config, parse_pipeline_config(json));
  std::unique_ptr<Pipeline> p(new Pipeline());
  p->impl_ = std::make_unique<Impl>();
  Impl& impl = *p->impl_;
  impl.model_inputs = session.inputs();
  impl.model_outputs = session.outputs();
  switch (config.kind) {
    case InputKind::kTensor:
      break;
    case InputKind::kTabular:
      NALAR_RETURN_IF_ERROR(resolve_tabular(impl.model_inputs, &config.tabular, &impl.target));
      break;
    case InputKind::kImage:
      NALAR_RETURN_IF_ERROR(resolve_image(impl.model_inputs, &config.image, &impl.target));
      break;
    case InputKind::kText:
      NALAR_RETURN_IF_ERROR(resolve_text(impl.model_inputs, &config.text, &impl.target));
      NALAR_ASSIGN_OR_RETURN(impl.tokenizer, Tokenizer::load(config.text, model_dir));
      break;
  }
  std::string labels_file = "labels.txt";
  if (config.output) {
    NALAR_RETURN_IF_ERROR(resolve_output(impl.model_outputs, &*config.output));
    labels_file = config.output->labels_file;
  }
  if (!labels_file.empty()) {
    const fs::path lp = fs::path(model_dir) / labels_file;
    std::error_code ec;
    if (fs::exists(lp, ec)) {
      NALAR_ASSIGN_OR_RETURN(p->labels_, read_labels(lp.string()));
    }
  }
  p->config_ = std::move(config);
  return p;
}

Result<NamedTensors> Pipeline::prepare(std::span<const Example> examples, int threads) const {
  const int64_t n = static_cast<int64_t>(examples.size());
  if (n == 0) return invalid_argument("no examples to prepare");
  switch (config_.kind) {
    case InputKind::kTensor:
      return invalid_argument(
          "this model's pipeline has no input stage (pipeline.json input kind \"tensor\"): send "
          "tensors");
    case InputKind::kImage: {
      NALAR_RETURN_IF_ERROR(check_batch(impl_->target, n));
      NALAR_ASSIGN_OR_RETURN(Tensor t, prepare_image_batch(examples, config_.image, threads));
      NamedTensors out;
      out.emplace_back(config_.image.input, std::move(t));
      return out;
    }
    case InputKind::kText:
      NALAR_RETURN_IF_ERROR(check_batch(impl_->target, n));
      return prepare_text_batch(examples, config_.text, *impl_->tokenizer);
    case InputKind::kTabular: {
      const TabularConfig& c = config_.tabular;
      const TensorInfo& target = impl_->target;
      const int64_t features = tabular_feature_count(c);
      Shape shape{n, features};
      if (target.has_shape && target.shape.size() == 1) {
        // [features] takes one record; [batch] takes one feature per record.
        if (target.shape[0].is_fixed() && target.shape[0].value == features && features != 1) {
          if (n != 1)
            return invalid_argument("model input '" + target.name + "' has shape " +
                                    shape_text(target) + " and takes one record, got " +
                                    std::to_string(n));
          shape = {features};
        } else {
          shape = {n};
        }
      }
      if (target.has_shape && target.shape.size() == 2)
        NALAR_RETURN_IF_ERROR(check_batch(target, n));
      Tensor t = Tensor::empty(c.dtype, shape);
      for (int64_t i = 0; i < n; ++i) {
        const Example& e = examples[static_cast<size_t>(i)];
        const std::string where = "example " + std::to_string(i);
        if (!e.record)
          return invalid_argument(where + ": a tabular model needs a record of named features");
        NALAR_RETURN_IF_ERROR(encode_record_into(*e.record, c, &t, i).with_context(where));
      }
      NamedTensors out;
      out.emplace_back(c.input, std::move(t));
      return out;
    }
  }
  return internal_error("unknown pipeline input kind");
}

Result<std::vector<Prediction>> Pipeline::interpret(const NamedTensors& outputs,
                                                    size_t rows) const {
  return interpret(outputs, rows, 0);
}

Result<std::vector<Prediction>> Pipeline::interpret(const NamedTensors& outputs, size_t rows,
                                                    int top_k) const {
  if (config_.output) return interpret_outputs(*config_.output, labels_, outputs, rows, top_k);
  // No output stage: the first output's row as values.
  if (outputs.empty()) return internal_error("the model produced no outputs");
  OutputConfig raw;
  raw.regression = true;
  raw.output = outputs[0].first;
  return interpret_outputs(raw, labels_, outputs, rows, top_k);
}

std::string predictions_to_json(std::span<const Prediction> predictions) {
  json::Writer w;
  w.begin_array();
  for (const Prediction& p : predictions) {
    w.begin_object();
    if (!p.top.empty()) {
      w.key("top").begin_array();
      for (const ClassScore& c : p.top) {
        w.begin_object();
        w.key("label").string(c.label);
        w.key("index").int64(c.index);
        w.key("probability").float32(c.score);
        w.end_object();
      }
      w.end_array();
    }
    if (p.decision) w.key("decision").boolean(*p.decision);
    if (!p.values.empty()) {
      w.key("values").begin_array();
      for (float v : p.values) w.float32(v);
      w.end_array();
    }
    w.end_object();
  }
  w.end_array();
  return w.take();
}

}  // namespace nalar::pipeline
