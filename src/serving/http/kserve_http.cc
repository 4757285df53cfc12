#include "serving/http/kserve_http.h"

#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "serving/http/classify_http.h"
#include "serving/http/kserve_codec.h"
#include "core/json.h"
#include "serving/log.h"

namespace nalar::serving::http {

namespace {

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse error_response(int status, const std::string& message) {
  json::Writer w;
  w.begin_object().key("error").string(message).end_object();
  return json_response(status, w.take());
}

HttpResponse error_response(const Status& st) {
  return error_response(http_status_for(st), st.message());
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) parts.emplace_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

// "1" -> 1; anything else is an unknown version.
Result<int64_t> parse_version(const std::string& s) {
  if (s.empty() || s.size() > 18 || s[0] == '0') return not_found("unknown version '" + s + "'");
  for (char c : s)
    if (c < '0' || c > '9') return not_found("unknown version '" + s + "'");
  return std::stoll(s);
}

void write_tensor_meta(json::Writer& w, const std::string& name, inference::DataType dt,
                       int max_batch_size, const google::protobuf::RepeatedField<int64_t>& dims) {
  w.begin_object();
  w.key("name").string(name);
  w.key("datatype").string(kserve_dtype_name(dtype_from_config(dt)));
  w.key("shape").begin_array();
  if (max_batch_size > 0) w.int64(-1);
  for (int64_t d : dims) w.int64(d);
  w.end_array();
  w.end_object();
}

std::string model_metadata(const ModelVersion& m, const std::vector<int64_t>& versions) {
  const ModelConfig& c = m.config();
  json::Writer w;
  w.begin_object();
  w.key("name").string(c.name());
  w.key("versions").begin_array();
  for (int64_t v : versions) w.string(std::to_string(v));
  w.end_array();
  w.key("platform").string(c.platform().empty() ? "onnxruntime_onnx" : c.platform());
  w.key("inputs").begin_array();
  for (const auto& i : c.input())
    write_tensor_meta(w, i.name(), i.data_type(), c.max_batch_size(), i.dims());
  w.end_array();
  w.key("outputs").begin_array();
  for (const auto& o : c.output())
    write_tensor_meta(w, o.name(), o.data_type(), c.max_batch_size(), o.dims());
  w.end_array();
  w.end_object();
  return w.take();
}

void write_duration(json::Writer& w, const char* key, const ModelStats::Duration& d) {
  w.key(key).begin_object();
  w.key("count").uint64(d.count.load());
  w.key("ns").uint64(d.ns.load());
  w.end_object();
}

void write_stats(json::Writer& w, const ModelVersion& m) {
  ModelStats& s = m.stats();
  w.begin_object();
  w.key("name").string(m.name());
  w.key("version").string(std::to_string(m.version()));
  w.key("last_inference").uint64(s.last_inference_ms.load());
  w.key("inference_count").uint64(s.inference_count.load());
  w.key("execution_count").uint64(s.execution_count.load());
  w.key("inference_stats").begin_object();
  write_duration(w, "success", s.success);
  write_duration(w, "fail", s.fail);
  write_duration(w, "queue", s.queue);
  write_duration(w, "compute_input", s.compute_input);
  write_duration(w, "compute_infer", s.compute_infer);
  write_duration(w, "compute_output", s.compute_output);
  ModelStats::Duration none;
  write_duration(w, "cache_hit", none);
  write_duration(w, "cache_miss", none);
  w.end_object();
  w.key("batch_stats").begin_array();
  {
    std::lock_guard<std::mutex> lock(s.batch_mu);
    for (const auto& [size, b] : s.batch) {
      w.begin_object();
      w.key("batch_size").int64(size);
      const std::pair<const char*, uint64_t> parts[] = {{"compute_input", b.compute_input_ns},
                                                        {"compute_infer", b.compute_infer_ns},
                                                        {"compute_output", b.compute_output_ns}};
      for (const auto& [k, ns] : parts) {
        w.key(k).begin_object();
        w.key("count").uint64(b.count);
        w.key("ns").uint64(ns);
        w.end_object();
      }
      w.end_object();
    }
  }
  w.end_array();
  w.end_object();
}

// Inference-Header-Content-Length: 0: the body is the raw bytes of the model's only input,
// batch 1 (Triton's extension); BYTES is one element holding the whole body.
Result<InferRequest> raw_infer_request(const ModelVersion& m, std::string_view body) {
  const ModelConfig& c = m.config();
  if (c.input_size() != 1)
    return invalid_argument("a raw binary request needs a model with exactly one input");
  const auto& in = c.input(0);
  const DataType dt = dtype_from_config(in.data_type());
  Shape shape;
  if (c.max_batch_size() > 0) shape.push_back(1);
  for (int64_t d : in.dims()) {
    if (d < 0 && dt != DataType::kString)
      return invalid_argument("a raw binary request needs input '" + in.name() +
                              "' to have fixed dims");
    shape.push_back(d < 0 ? 1 : d);
  }
  Tensor t = Tensor::create(dt, shape);
  if (dt == DataType::kString) {
    if (t.size() != 1)
      return invalid_argument("a raw binary BYTES request needs a single-element input");
    t.data<std::string>()[0].assign(body);
  } else {
    if (body.size() != t.nbytes())
      return invalid_argument("raw binary input of " + std::to_string(body.size()) +
                              " bytes does not match input '" + in.name() + "' " +
                              shape_to_string(shape) + " (" + std::to_string(t.nbytes()) +
                              " bytes)");
    if (!body.empty()) std::memcpy(t.raw(), body.data(), body.size());
  }
  InferRequest r;
  r.inputs.emplace_back(in.name(), std::move(t));
  return r;
}

}  // namespace

int http_status_for(const Status& st) {
  switch (st.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kResourceExhausted:
      return 503;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

void KServeHttpFrontend::handle(HttpRequest&& req, std::shared_ptr<Responder> out) {
  const std::vector<std::string> p = split_path(req.path);
  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  auto reply = [&](HttpResponse r) { out->send(std::move(r)); };
  auto method_not_allowed = [&] {
    reply(error_response(405, "method " + req.method + " not allowed for " + req.path));
  };

  if (p.empty() || p[0] != "v2") return reply(error_response(404, "not found: " + req.path));

  // Server endpoints.
  if (p.size() == 1) {
    if (!get) return method_not_allowed();
    json::Writer w;
    w.begin_object().key("name").string(kServerName).key("version").string(kServerVersion);
    w.key("extensions").begin_array();
    for (const char* e :
         {"classification", "model_repository", "model_repository(unload_dependents)",
          "schedule_policy", "model_configuration", "binary_tensor_data", "statistics"})
      w.string(e);
    w.end_array().end_object();
    return reply(json_response(200, w.take()));
  }
  if (p.size() == 3 && p[1] == "health" && (p[2] == "live" || p[2] == "ready")) {
    if (!get) return method_not_allowed();
    const bool ok = p[2] == "live" || ready_->load();
    json::Writer w;
    w.begin_object().key(p[2]).boolean(ok).end_object();
    return reply(json_response(ok ? 200 : 503, w.take()));
  }

  // Repository extension.
  if (p.size() == 3 && p[1] == "repository" && p[2] == "index") {
    if (!get && !post) return method_not_allowed();
    bool ready_only = false;
    if (!req.body.empty()) {
      auto doc = json::parse(req.body);
      if (!doc.is_ok()) return reply(error_response(doc.status()));
      if (const json::Value* r = doc->find("ready"); r && r->is_bool()) ready_only = r->boolean;
    }
    json::Writer w;
    w.begin_array();
    for (const auto& e : repo_->index(ready_only)) {
      w.begin_object().key("name").string(e.name);
      if (!e.version.empty()) w.key("version").string(e.version);
      w.key("state").string(e.state);
      if (!e.reason.empty()) w.key("reason").string(e.reason);
      w.end_object();
    }
    w.end_array();
    return reply(json_response(200, w.take()));
  }
  if (p.size() == 5 && p[1] == "repository" && p[2] == "models" &&
      (p[4] == "load" || p[4] == "unload")) {
    if (!post) return method_not_allowed();
    std::optional<ModelConfig> override_config;
    if (!req.body.empty()) {
      auto doc = json::parse(req.body);
      if (!doc.is_ok()) return reply(error_response(doc.status()));
      const json::Value* params = doc->find("parameters");
      for (size_t i = 0; params && params->is_object() && i < params->keys.size(); ++i) {
        const std::string& k = params->keys[i];
        if (k == "config" && p[4] == "load") {
          if (!params->values[i].is_string())
            return reply(error_response(400, "parameter 'config' must be a JSON string"));
          auto c = parse_model_config_json(params->values[i].str);
          if (!c.is_ok()) return reply(error_response(c.status()));
          override_config = std::move(c).value();
        } else if (k.rfind("file:", 0) == 0) {
          return reply(
              error_response(501, "loading model files from the request is not supported"));
        }
      }
    }
    Status st = p[4] == "load"
                    ? repo_->load(p[3], true, override_config ? &*override_config : nullptr)
                    : repo_->unload(p[3], true);
    if (!st.is_ok()) return reply(error_response(st));
    return reply(json_response(200, ""));
  }

  // Model endpoints: v2/models/stats, v2/models/<m>[/versions/<v>][/ready|config|infer|stats].
  if (p.size() >= 2 && p[1] == "models") {
    if (p.size() == 3 && p[2] == "stats") {
      if (!get) return method_not_allowed();
      json::Writer w;
      w.begin_object().key("model_stats").begin_array();
      for (const auto& m : repo_->all_versions()) write_stats(w, *m);
      w.end_array().end_object();
      return reply(json_response(200, w.take()));
    }
    if (p.size() < 3) return reply(error_response(404, "not found: " + req.path));
    const std::string& name = p[2];
    int64_t version = -1;
    size_t next = 3;
    if (p.size() >= 5 && p[3] == "versions") {
      auto v = parse_version(p[4]);
      if (!v.is_ok()) return reply(error_response(v.status()));
      version = *v;
      next = 5;
    }
    const std::string action = p.size() > next ? p[next] : "";
    if (p.size() > next + 1) return reply(error_response(404, "not found: " + req.path));

    if (action == "classify") {  // pipeline models: raw examples in, predictions out
      if (!post) return method_not_allowed();
      auto model = repo_->get(name, version);
      if (!model.is_ok()) return reply(error_response(model.status()));
      return handle_classify(std::move(model).value(), std::move(req), out);
    }
    if (action == "infer") {
      if (!post) return method_not_allowed();
      auto model = repo_->get(name, version);
      if (!model.is_ok()) return reply(error_response(model.status()));
      std::optional<size_t> header_length;
      if (const std::string* h = req.header("inference-header-content-length")) {
        auto n = kserve::parse_header_length(*h, req.body.size());
        if (!n.is_ok()) return reply(error_response(n.status()));
        header_length = *n;
      }
      auto parsed = header_length && *header_length == 0
                        ? raw_infer_request(**model, req.body)
                        : kserve::parse_infer_request(req.body, header_length);
      if (!parsed.is_ok()) return reply(error_response(parsed.status()));
      InferRequest ir = std::move(parsed).value();
      ir.model_name = name;
      ir.model_version = version;
      req.body.clear();  // the inputs own their bytes now
      (*model)->infer(std::move(ir), [out](Result<InferResponse> result) {
        if (!result.is_ok()) return out->send(error_response(result.status()));
        kserve::EncodedResponse enc = kserve::encode_infer_response(*result);
        HttpResponse r;
        r.body = std::move(enc.body);
        if (enc.has_binary) {
          r.content_type = "application/octet-stream";
          r.headers.emplace_back("Inference-Header-Content-Length", std::to_string(enc.json_size));
        }
        out->send(std::move(r));
      });
      return;
    }
    if (!get) return method_not_allowed();
    if (action == "stats") {
      json::Writer w;
      w.begin_object().key("model_stats").begin_array();
      if (version < 0) {
        auto vs = repo_->versions(name);
        if (vs.empty()) return reply(error_response(repo_->get(name, -1).status()));
        for (const auto& m : vs) write_stats(w, *m);
      } else {
        auto m = repo_->get(name, version);
        if (!m.is_ok()) return reply(error_response(m.status()));
        write_stats(w, **m);
      }
      w.end_array().end_object();
      return reply(json_response(200, w.take()));
    }
    auto model = repo_->get(name, version);
    if (action == "ready") {
      if (!model.is_ok()) {
        // Known to the repository but not loaded: not ready (400, as Triton); unknown: 404.
        bool known = false;
        for (const auto& e : repo_->index(false)) known = known || e.name == name;
        if (!known || version >= 0) return reply(error_response(model.status()));
        json::Writer w;
        w.begin_object().key("name").string(name).key("ready").boolean(false).end_object();
        return reply(json_response(400, w.take()));
      }
      json::Writer w;
      w.begin_object().key("name").string(name);
      w.key("version").string(std::to_string((*model)->version()));
      w.key("ready").boolean(true).end_object();
      return reply(json_response(200, w.take()));
    }
    if (!model.is_ok()) return reply(error_response(model.status()));
    if (action == "config")
      return reply(json_response(200, model_config_to_json((*model)->config())));
    if (action.empty()) {
      std::vector<int64_t> versions;
      for (const auto& m : repo_->versions(name)) versions.push_back(m->version());
      if (version >= 0) versions = {version};
      return reply(json_response(200, model_metadata(**model, versions)));
    }
  }
  reply(error_response(404, "not found: " + req.path));
}

bool KServeHttpFrontend::runs_inline(const HttpRequest& request) {
  constexpr std::string_view kInfer = "/infer";
  const std::string& p = request.path;
  return request.method == "POST" && request.body.size() <= 64 * 1024 &&
         p.size() > kInfer.size() && p.compare(p.size() - kInfer.size(), kInfer.size(), kInfer) == 0;
}

}  // namespace nalar::serving::http
