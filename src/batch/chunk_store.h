// Where a job's output goes while it runs: <output>.parts/, one committed file pair per chunk
// (predictions and errors) plus the manifest. finalize() joins them into the output and errors
// files and leaves <output>.manifest.json with the chunk positions that `merge` uses.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "batch/manifest.h"
#include "batch/row_format.h"
#include "nalar/status.h"

namespace nalar::batch {

class ChunkStore {
 public:
  ChunkStore(std::string output, std::string errors, OutputFormat format)
      : output_(std::move(output)), errors_(std::move(errors)), format_(format) {}
  ~ChunkStore();
  ChunkStore(const ChunkStore&) = delete;
  ChunkStore& operator=(const ChunkStore&) = delete;

  enum class Start { kFresh, kResumed, kAlreadyComplete };
  // Prepares the parts folder. Without `resume`, an unfinished job's parts are an error (so that
  // a typo cannot wipe hours of work); with it, the manifest must describe the same job.
  Result<Start> open(const std::string& job, const std::string& shard, bool resume);

  Manifest& manifest() { return manifest_; }
  const std::string& parts_dir() const { return parts_; }

  Status begin_chunk(uint64_t ordinal);
  Status write_rows(std::string_view bytes);
  Status write_errors(std::string_view bytes);
  // Makes the chunk durable and lists it in the manifest. The fsyncs and renames run on a
  // committer thread, in order, while the next chunk is being written; an error comes back from
  // a later call or from wait_commits().
  Status commit_chunk(ChunkRecord record, const std::string& header);
  // Waits until every handed-over chunk is committed.
  Status wait_commits();
  // Joins the chunks into the final files; removes the parts folder.
  Status finalize();

 private:
  struct Pending {
    uint64_t ordinal;
    int out_fd, err_fd;
    ChunkRecord record;
    std::string header;
  };
  std::string chunk_path(uint64_t ordinal, const char* ext) const;
  Status commit_now(Pending& p);
  void committer();

  std::string output_, errors_, parts_;
  OutputFormat format_;
  Manifest manifest_;  // owned by the committer thread while it runs
  int out_fd_ = -1, err_fd_ = -1;
  uint64_t ordinal_ = 0;
  int64_t out_bytes_ = 0, err_bytes_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> pending_;
  bool busy_ = false, stop_ = false;
  Status commit_status_;
  std::thread thread_;
};

// Copies `bytes` bytes from `fd_in` at `offset` to `fd_out` (at its position).
Status copy_range(int fd_in, int64_t offset, int64_t bytes, int fd_out, const std::string& what);

}  // namespace nalar::batch
