#include "serving/http/metrics.h"

#include <functional>
#include <vector>

namespace nalar::serving::http {

namespace {

std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

struct Metric {
  const char* name;
  const char* type;
  const char* help;
  std::function<uint64_t(const ModelVersion&)> value;
};

}  // namespace

std::string prometheus_metrics(const ModelRepository& repository) {
  const std::vector<Metric> metrics = {
      {"nv_inference_request_success", "counter",
       "Number of successful inference requests, all batch sizes",
       [](const ModelVersion& m) { return m.stats().success.count.load(); }},
      {"nv_inference_request_failure", "counter",
       "Number of failed inference requests, all batch sizes",
       [](const ModelVersion& m) { return m.stats().fail.count.load(); }},
      {"nv_inference_count", "counter", "Number of inferences performed (batch rows)",
       [](const ModelVersion& m) { return m.stats().inference_count.load(); }},
      {"nv_inference_exec_count", "counter", "Number of model executions performed",
       [](const ModelVersion& m) { return m.stats().execution_count.load(); }},
      {"nv_inference_request_duration_us", "counter",
       "Cumulative inference request duration in microseconds",
       [](const ModelVersion& m) {
         return (m.stats().success.ns.load() + m.stats().fail.ns.load()) / 1000;
       }},
      {"nv_inference_queue_duration_us", "counter",
       "Cumulative inference queuing duration in microseconds",
       [](const ModelVersion& m) { return m.stats().queue.ns.load() / 1000; }},
      {"nv_inference_compute_input_duration_us", "counter",
       "Cumulative compute input duration in microseconds",
       [](const ModelVersion& m) { return m.stats().compute_input.ns.load() / 1000; }},
      {"nv_inference_compute_infer_duration_us", "counter",
       "Cumulative compute inference duration in microseconds",
       [](const ModelVersion& m) { return m.stats().compute_infer.ns.load() / 1000; }},
      {"nv_inference_compute_output_duration_us", "counter",
       "Cumulative inference compute output duration in microseconds",
       [](const ModelVersion& m) { return m.stats().compute_output.ns.load() / 1000; }},
      {"nv_inference_pending_request_count", "gauge",
       "Instantaneous number of pending requests awaiting execution per-model",
       [](const ModelVersion& m) { return static_cast<uint64_t>(m.pending()); }},
  };
  const auto models = repository.all_versions();
  std::string out;
  for (const auto& metric : metrics) {
    out += std::string("# HELP ") + metric.name + " " + metric.help + "\n";
    out += std::string("# TYPE ") + metric.name + " " + metric.type + "\n";
    for (const auto& m : models) {
      out += std::string(metric.name) + "{model=\"" + label_value(m->name()) + "\",version=\"" +
             std::to_string(m->version()) + "\"} " + std::to_string(metric.value(*m)) + "\n";
    }
  }
  return out;
}

}  // namespace nalar::serving::http
