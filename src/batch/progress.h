// Progress of a running job on stderr: a live bar redrawn in place on a terminal (rows done of
// the total where known, or of the input bytes, rows/s, ETA), otherwise one plain line every few
// seconds, so that logs of a Kubernetes pod stay readable.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace nalar::batch {

struct ProgressCounters {
  std::atomic<int64_t> rows{0};    // rows finished (predicted + failed) in this run
  std::atomic<int64_t> failed{0};  // of which failed
};

class Progress {
 public:
  // `total_rows`: rows this run will do, or -1; `bytes_done`/`total_bytes`: input position, used
  // for the fraction when the row total is unknown. `quiet`: no progress at all.
  Progress(const ProgressCounters& counters, int64_t total_rows,
           std::function<int64_t()> bytes_done, int64_t total_bytes, bool quiet);
  ~Progress();  // stops the reporter (and ends the live bar's line)

 private:
  void loop();
  void report(bool final);

  const ProgressCounters& c_;
  const int64_t total_rows_;
  std::function<int64_t()> bytes_done_;
  const int64_t total_bytes_;
  const bool tty_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool drawn_ = false;
  std::thread thread_;
};

}  // namespace nalar::batch
