// Open-loop arrival times: a Poisson process (exponential gaps) at a fixed mean rate. Requests
// are stamped with these intended times, so a slow server cannot slow the generator down and
// hide its own latency (coordinated omission).
#pragma once

#include <random>

#include "loadgen/recorder.h"

namespace nalar::loadgen {

class PoissonArrivals {
 public:
  PoissonArrivals(double rate_per_s, Clock::time_point start, uint64_t seed)
      : gap_(rate_per_s), next_(start), rng_(seed) {}
  // The next intended send time (strictly increasing).
  Clock::time_point next() {
    const auto gap = std::chrono::duration<double>(gap_(rng_));
    next_ += std::chrono::duration_cast<Clock::duration>(gap);
    return next_;
  }

 private:
  std::exponential_distribution<double> gap_;
  Clock::time_point next_;
  std::mt19937_64 rng_;
};

}  // namespace nalar::loadgen
