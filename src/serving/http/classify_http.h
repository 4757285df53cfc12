// POST /v2/models/<model>[/versions/<v>]/classify: raw examples in, predictions out, through the
// model's pipeline (pipeline.json). Body: an image (Content-Type image/jpeg or image/png), or
// application/json {"instances": [record | {"text": ...} | {"b64": ...}, ...]} or one instance.
// Answer: {"model_name", "model_version", "predictions": [...]} (pipeline::predictions_to_json).
#pragma once

#include <memory>

#include "serving/http/http_server.h"
#include "serving/model.h"

namespace nalar::serving::http {

void handle_classify(std::shared_ptr<ModelVersion> model, HttpRequest&& request,
                     std::shared_ptr<Responder> responder);

}  // namespace nalar::serving::http
