#include "serving/http/classify_http.h"

#include <charconv>

#include "core/json.h"
#include "pipeline/tabular_stage.h"
#include "serving/http/kserve_codec.h"
#include "serving/http/kserve_http.h"

namespace nalar::serving::http {

namespace {

using pipeline::InputKind;

HttpResponse error_response(int status, const std::string& message) {
  json::Writer w;
  w.begin_object().key("error").string(message).end_object();
  HttpResponse r;
  r.status = status;
  r.body = w.take();
  return r;
}

std::string lower_media_type(const std::string* header) {
  if (!header) return {};
  std::string s = header->substr(0, header->find(';'));
  while (!s.empty() && s.back() == ' ') s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// ?top_k=K
Result<int> top_k_from_query(const std::string& query) {
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string_view kv(query.data() + pos, amp - pos);
    if (kv.rfind("top_k=", 0) == 0) {
      std::string_view v = kv.substr(6);
      int k = 0;
      auto r = std::from_chars(v.data(), v.data() + v.size(), k);
      if (r.ec != std::errc() || r.ptr != v.data() + v.size() || k < 1 || k > (1 << 20))
        return invalid_argument("query parameter top_k must be a whole number >= 1");
      return k;
    }
    pos = amp + 1;
  }
  return 0;
}

// One JSON instance as the pipeline's input kind reads it.
Status add_instance(const json::Value& v, InputKind kind, size_t i,
                    std::vector<std::string>* payloads, std::vector<pipeline::Record>* records) {
  const std::string where = "instance " + std::to_string(i);
  switch (kind) {
    case InputKind::kTabular: {
      auto r = pipeline::record_from_json(v);
      if (!r.is_ok()) return r.status().with_context(where);
      records->push_back(std::move(r).value());
      return Status::ok();
    }
    case InputKind::kText: {
      const json::Value* t = v.is_string() ? &v : v.find("text");
      if (!t || !t->is_string())
        return invalid_argument(where + ": a text instance is a string or {\"text\": \"...\"}");
      payloads->push_back(t->str);
      return Status::ok();
    }
    case InputKind::kImage: {
      const json::Value* b = v.find("b64");
      if (!b || !b->is_string())
        return invalid_argument(where +
                                ": an image instance in JSON is {\"b64\": \"<base64 JPEG or "
                                "PNG>\"}; or POST the image itself with Content-Type image/jpeg");
      auto bytes = kserve::decode_base64(b->str);
      if (!bytes.is_ok()) return bytes.status().with_context(where);
      payloads->push_back(std::move(bytes).value());
      return Status::ok();
    }
    case InputKind::kTensor:
      break;
  }
  return invalid_argument("the model has no pipeline input stage");
}

}  // namespace

void handle_classify(std::shared_ptr<ModelVersion> model, HttpRequest&& req,
                     std::shared_ptr<Responder> out) {
  const pipeline::Pipeline* p = model->pipeline();
  if (!p || p->input_kind() == InputKind::kTensor)
    return out->send(error_response(
        400,
        "model '" + model->name() +
            "' has no pipeline input stage (pipeline.json \"input\"); use /infer with tensors"));
  auto top_k = top_k_from_query(req.query);
  if (!top_k.is_ok()) return out->send(error_response(400, top_k.status().message()));
  const InputKind kind = p->input_kind();
  const std::string type = lower_media_type(req.header("content-type"));
  std::vector<std::string> payloads;
  std::vector<pipeline::Record> records;
  if (type == "image/jpeg" || type == "image/png") {
    if (kind != InputKind::kImage)
      return out->send(error_response(415, "model '" + model->name() + "' takes " +
                                               (kind == InputKind::kText ? "texts" : "records") +
                                               " as application/json, not " + type));
    payloads.push_back(std::move(req.body));
  } else if (type == "application/json" ||
             (type.empty() && !req.body.empty() && req.body.front() == '{')) {
    auto doc = json::parse(req.body);
    if (!doc.is_ok()) return out->send(error_response(400, doc.status().message()));
    const json::Value* instances = doc->find("instances");
    if (instances) {
      if (!instances->is_array() || instances->items.empty())
        return out->send(error_response(400, "'instances' must be a non-empty array"));
      for (size_t i = 0; i < instances->items.size(); ++i) {
        Status st = add_instance(instances->items[i], kind, i, &payloads, &records);
        if (!st.is_ok()) return out->send(error_response(400, st.message()));
      }
    } else {
      if (!doc->is_object())
        return out->send(error_response(400, "the body must be a JSON object"));
      Status st = add_instance(*doc, kind, 0, &payloads, &records);
      if (!st.is_ok()) return out->send(error_response(400, st.message()));
    }
  } else {
    return out->send(error_response(415, "unsupported Content-Type '" + type +
                                             "': send image/jpeg, image/png or application/json"));
  }
  req.body.clear();
  std::string name = model->name();
  const int64_t version = model->version();
  ModelVersion* m = model.get();
  m->predict(std::move(payloads), std::move(records), *top_k,
             [out, name, version,
              model = std::move(model)](Result<std::vector<pipeline::Prediction>> preds) {
               if (!preds.is_ok())
                 return out->send(
                     error_response(http_status_for(preds.status()), preds.status().message()));
               json::Writer w;
               w.begin_object();
               w.key("model_name").string(name);
               w.key("model_version").string(std::to_string(version));
               w.key("predictions").raw(pipeline::predictions_to_json(*preds));
               w.end_object();
               HttpResponse r;
               r.body = w.take();
               out->send(std::move(r));
             });
}

}  // namespace nalar::serving::http
