// How to drive the server: closed loop (each of `concurrency` clients sends its next request
// when the previous answer arrives) or open loop (`rate` arrivals per second, at most
// `concurrency` in flight, the rest wait in the generator with their clock running).
#pragma once

#include <cstdint>

#include "loadgen/recorder.h"

namespace nalar::loadgen {

struct LoadPlan {
  int concurrency = 1;
  double rate = 0;  // > 0: open loop
  int threads = 1;  // HTTP: driver threads, connections split among them
  Clock::time_point start, window_begin, window_end;
  uint64_t seed = 1;
  bool open_loop() const { return rate > 0; }
};

}  // namespace nalar::loadgen
