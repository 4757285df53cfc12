#include "loadgen/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nalar::loadgen {

double percentile(const std::vector<uint64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]);
}

Summary summarize(Recorder& recorder) {
  auto& v = recorder.mutable_latencies_ns();
  std::sort(v.begin(), v.end());
  Summary s;
  s.requests = v.size();
  s.errors = recorder.errors();
  s.first_error = recorder.first_error();
  s.seconds = recorder.window_seconds();
  s.rps = s.seconds > 0 ? static_cast<double>(s.requests) / s.seconds : 0;
  double sum = 0;
  for (uint64_t x : v) sum += static_cast<double>(x);
  s.mean_us = v.empty() ? 0 : sum / static_cast<double>(v.size()) / 1e3;
  s.p50_us = percentile(v, 0.50) / 1e3;
  s.p90_us = percentile(v, 0.90) / 1e3;
  s.p99_us = percentile(v, 0.99) / 1e3;
  s.p999_us = percentile(v, 0.999) / 1e3;
  s.max_us = v.empty() ? 0 : static_cast<double>(v.back()) / 1e3;
  return s;
}

std::string format_text(const Summary& s, const std::string& label) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%s\n  requests %llu in %.2f s: %.1f req/s, errors %llu\n"
                "  latency us: mean %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
                label.c_str(), static_cast<unsigned long long>(s.requests), s.seconds, s.rps,
                static_cast<unsigned long long>(s.errors), s.mean_us, s.p50_us, s.p90_us, s.p99_us,
                s.p999_us, s.max_us);
  std::string out = buf;
  if (s.errors > 0) out += "  first error: " + s.first_error + "\n";
  return out;
}

namespace {

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

}  // namespace

std::string format_json(const Summary& s, const std::string& label) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "\"requests\": %llu, \"errors\": %llu, \"seconds\": %.3f, \"rps\": %.1f, "
                "\"mean_us\": %.1f, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
                "\"p999_us\": %.1f, \"max_us\": %.1f",
                static_cast<unsigned long long>(s.requests),
                static_cast<unsigned long long>(s.errors), s.seconds, s.rps, s.mean_us, s.p50_us,
                s.p90_us, s.p99_us, s.p999_us, s.max_us);
  return "{\"label\": " + json_string(label) + ", " + buf +
         ", \"first_error\": " + json_string(s.first_error) + "}";
}

}  // namespace nalar::loadgen
