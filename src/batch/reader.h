// The reading stage: walks the sources in order, numbers their rows, cuts them into chunks and
// batches, and hands on only the chunks this shard owns and a resumed job has not committed yet.
// Skipped rows are only scanned, never parsed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "batch/input_set.h"
#include "batch/shard.h"
#include "batch/work_batch.h"
#include "nalar/status.h"

namespace nalar::batch {

struct ReaderOptions {
  int64_t batch_size = 256;
  int64_t chunk_rows = 65536;
  ShardSpec shard;
  uint64_t skip_chunks = 0;  // owned chunks already committed (resume)
  std::vector<std::string> keep_columns;
  bool named_columns = false;  // the model takes named fields: no column is a positional feature
};

class Reader {
 public:
  Reader(const InputSet& inputs, ReaderOptions options)
      : inputs_(inputs), options_(std::move(options)) {}

  // Reads everything, calling `emit` for each batch in order; stops early (ok) when `emit`
  // returns false. A source that cannot be read at all (missing file, broken header, truncated
  // gzip) fails the job: its rows would otherwise be lost silently.
  Status run(const std::function<bool(WorkBatch&&)>& emit);

  // Input bytes consumed so far (text formats), for progress.
  int64_t bytes_done() const { return bytes_done_.load(std::memory_order_relaxed); }
  // Rows this shard owns, when the format tells without reading (npy, images); -1 otherwise.
  int64_t known_rows() const;

 private:
  // The batcher: rows in, batches out, cut at chunk and batch boundaries.
  struct Cutter;
  Status read_text(uint32_t source, Cutter* cut);
  Status read_npy(uint32_t source, Cutter* cut);
  Status read_images(Cutter* cut);

  const InputSet& inputs_;
  ReaderOptions options_;
  std::atomic<int64_t> bytes_done_{0};
};

}  // namespace nalar::batch
