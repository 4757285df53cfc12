#include "loadgen/recorder.h"

namespace nalar::loadgen {

void Recorder::merge(Recorder&& other) {
  latencies_ns_.insert(latencies_ns_.end(), other.latencies_ns_.begin(), other.latencies_ns_.end());
  if (errors_ == 0 && other.errors_ > 0) first_error_ = std::move(other.first_error_);
  errors_ += other.errors_;
}

}  // namespace nalar::loadgen
