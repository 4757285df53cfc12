// Prometheus text exposition of the per-model counters, with Triton's metric names and labels
// (model, version), served at GET /metrics on the metrics port.
#pragma once

#include <string>

#include "serving/repository.h"

namespace nalar::serving::http {

std::string prometheus_metrics(const ModelRepository& repository);

}  // namespace nalar::serving::http
