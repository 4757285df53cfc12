// Collects per-request outcomes of the measured window (after warm-up) from one driver thread;
// several recorders are merged at the end, so recording needs no lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace nalar::loadgen {

using Clock = std::chrono::steady_clock;

class Recorder {
 public:
  Recorder(Clock::time_point window_begin, Clock::time_point window_end)
      : begin_(window_begin), end_(window_end) {}

  // `intended`: when the request was due (open loop: its scheduled arrival, so queueing inside
  // the generator counts as latency); only requests due inside the window count.
  void success(Clock::time_point intended, Clock::time_point done) {
    if (intended < begin_ || intended >= end_) return;
    latencies_ns_.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(done - intended).count()));
  }
  void error(Clock::time_point intended, const std::string& what) {
    if (intended < begin_ || intended >= end_) return;
    if (errors_++ == 0) first_error_ = what;
  }
  void merge(Recorder&& other);

  const std::vector<uint64_t>& latencies_ns() const { return latencies_ns_; }
  std::vector<uint64_t>& mutable_latencies_ns() { return latencies_ns_; }
  uint64_t errors() const { return errors_; }
  const std::string& first_error() const { return first_error_; }
  double window_seconds() const { return std::chrono::duration<double>(end_ - begin_).count(); }

 private:
  Clock::time_point begin_, end_;
  std::vector<uint64_t> latencies_ns_;
  uint64_t errors_ = 0;
  std::string first_error_;
};

}  // namespace nalar::loadgen
