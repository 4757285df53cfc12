// The run's summary: throughput, latency percentiles and errors, as text or one JSON object.
#pragma once

#include <string>

#include "loadgen/recorder.h"

namespace nalar::loadgen {

struct Summary {
  uint64_t requests = 0;  // answered with success inside the window
  uint64_t errors = 0;
  std::string first_error;
  double seconds = 0;
  double rps = 0;
  double mean_us = 0, p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

// Sorts the recorder's latencies in place.
Summary summarize(Recorder& recorder);
// Nearest-rank percentile (q in [0, 1]) of sorted values, in the same unit.
double percentile(const std::vector<uint64_t>& sorted, double q);

std::string format_text(const Summary& s, const std::string& label);
std::string format_json(const Summary& s, const std::string& label);

}  // namespace nalar::loadgen
