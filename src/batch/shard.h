// --shard I/N: which rows this worker owns. Every source's rows are cut into chunks of a fixed
// row count; chunk k of source s belongs to shard (s + k) mod N. That is deterministic from the
// file list alone (no pass over the data to count rows), so N workers started anywhere cover
// every row exactly once, and the chunks they write interleave back into input order on merge.
#pragma once

#include <cstdint>
#include <string>

#include "nalar/status.h"

namespace nalar::batch {

struct ShardSpec {
  int64_t index = 0;  // I, 0-based
  int64_t count = 1;  // N

  bool owns(uint64_t source, int64_t chunk) const {
    return static_cast<int64_t>((source + static_cast<uint64_t>(chunk)) %
                                static_cast<uint64_t>(count)) == index;
  }
  std::string to_string() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// Parses "I/N" with 0 <= I < N.
Result<ShardSpec> parse_shard(const std::string& text);

}  // namespace nalar::batch
