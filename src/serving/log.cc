#include "serving/log.h"

#include <atomic>
#include <ctime>
#include <iostream>
#include <mutex>

namespace nalar::serving {

namespace {
std::mutex g_mu;
std::atomic<bool> g_quiet{false};

void emit(char level, const std::string& message) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::lock_guard<std::mutex> lock(g_mu);
  std::cerr << stamp << ' ' << level << ' ' << message << '\n';
}
}  // namespace

void log_info(const std::string& message) {
  if (!g_quiet.load()) emit('I', message);
}
void log_warning(const std::string& message) { emit('W', message); }
void log_error(const std::string& message) { emit('E', message); }
void set_log_quiet(bool quiet) { g_quiet.store(quiet); }

}  // namespace nalar::serving
