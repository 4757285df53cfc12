#include "cli/openmp_policy.h"

#include <unistd.h>

#include <cstdlib>

namespace nalar::cli {

namespace {
// Spin iterations before a waiting worker sleeps (libgomp's default is 300000): a few
// microseconds, which covers the gaps between a kernel's consecutive parallel regions.
constexpr const char* kShortSpinCount = "1000";
}  // namespace

void apply_openmp_wait_policy(WaitPolicy policy, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT") ||
      std::getenv("NALAR_NO_REEXEC"))
    return;
  if (policy == WaitPolicy::kPassive)
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  else
    ::setenv("GOMP_SPINCOUNT", kShortSpinCount, 1);
  ::setenv("NALAR_NO_REEXEC", "1", 1);
  ::execv("/proc/self/exe", argv);
  // exec failed: carry on with libgomp's default policy.
}

}  // namespace nalar::cli
