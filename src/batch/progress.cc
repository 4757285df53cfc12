#include "batch/progress.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace nalar::batch {

Progress::Progress(const ProgressCounters& counters, int64_t total_rows,
                   std::function<int64_t()> bytes_done, int64_t total_bytes, bool quiet)
    : c_(counters),
      total_rows_(total_rows),
      bytes_done_(std::move(bytes_done)),
      total_bytes_(total_bytes),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {
  if (!quiet) thread_ = std::thread([this] { loop(); });
}

Progress::~Progress() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    if (tty_ && drawn_) report(true);
  }
}

void Progress::loop() {
  const auto period = tty_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(5000);
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, period, [&] { return stop_; })) report(false);
}

namespace {
std::string hms(double s) {
  if (s < 0 || s > 1e7) return "--:--";
  const long t = static_cast<long>(s + 0.5);
  char b[32];
  if (t >= 3600)
    std::snprintf(b, sizeof(b), "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    std::snprintf(b, sizeof(b), "%02ld:%02ld", t / 60, t % 60);
  return b;
}
}  // namespace

void Progress::report(bool final) {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t rows = c_.rows.load();
  const int64_t failed = c_.failed.load();
  const double rate = secs > 0 ? rows / secs : 0;
  double frac = -1;
  if (total_rows_ > 0)
    frac = static_cast<double>(rows) / static_cast<double>(total_rows_);
  else if (total_bytes_ > 0)
    frac = static_cast<double>(bytes_done_()) / static_cast<double>(total_bytes_);
  if (frac > 1) frac = 1;
  const double eta = frac > 0 ? secs * (1 - frac) / frac : -1;
  char line[256];
  std::string done = total_rows_ > 0 ? std::to_string(rows) + "/" + std::to_string(total_rows_)
                                     : std::to_string(rows);
  if (tty_) {
    const int width = 28;
    std::string bar(width, ' ');
    if (frac >= 0)
      for (int i = 0; i < static_cast<int>(frac * width); ++i) bar[static_cast<size_t>(i)] = '#';
    std::snprintf(line, sizeof(line), "\r[%s] %5.1f%% %s rows  %.0f rows/s  ETA %s  failed %lld ",
                  bar.c_str(), frac >= 0 ? frac * 100 : 0.0, done.c_str(), rate, hms(eta).c_str(),
                  static_cast<long long>(failed));
    std::fputs(line, stderr);
    if (final) std::fputc('\n', stderr);
    drawn_ = true;
  } else {
    std::snprintf(line, sizeof(line),
                  "nalar batch: %s rows (%s), %.0f rows/s, %lld failed, elapsed %s, ETA %s\n",
                  done.c_str(),
                  frac >= 0 ? (std::to_string(static_cast<int>(frac * 100)) + "%").c_str() : "?",
                  rate, static_cast<long long>(failed), hms(secs).c_str(), hms(eta).c_str());
    std::fputs(line, stderr);
  }
  std::fflush(stderr);
}

}  // namespace nalar::batch
