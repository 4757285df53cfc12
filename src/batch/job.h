// A batch job: every row of the input through the model into the output, streaming through
// bounded queues (read -> prepare -> forward -> write, each stage on its own threads), committed
// chunk by chunk so that it can be resumed, and never losing a row: each one is either predicted
// or in the errors file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nalar/status.h"

namespace nalar::batch {

struct JobOptions {
  std::string model;
  std::string input;
  std::string output;
  std::string format;       // input format; empty: from the file names
  std::string errors;       // empty: <output>.errors.jsonl
  int64_t batch_size = 0;   // 0: 256 rows, 32 images
  int64_t chunk_rows = 0;   // 0: 65536 for rows, 1024 for images
  int threads = 0;          // model threads; 0: one per core
  int prepare_workers = 0;  // 0: chosen from the core count
  std::string shard = "0/1";
  bool resume = false;
  std::vector<std::string> keep_columns;
  int64_t max_errors = -1;  // -1: no limit
  bool quiet = false;       // no progress reports
};

struct JobSummary {
  int64_t rows_read = 0, predicted = 0, failed = 0;
  int64_t resumed_rows = 0;  // of rows_read, committed by an earlier run
  double seconds = 0;
  double peak_rss_mb = 0;
  bool already_complete = false;
  std::string output, errors;
};

// Runs the job. A non-ok result means the job stopped (bad arguments, unreadable input,
// --max-errors exceeded, a write failure); committed chunks stay for --resume.
Result<JobSummary> run_job(const JobOptions& options);

// nalar batch merge: joins the outputs of the N shards of one job, in input order.
Result<JobSummary> merge_shards(const std::vector<std::string>& shard_outputs,
                                const std::string& output, const std::string& errors);

// Peak resident memory of this process so far, in MiB.
double peak_rss_mb();

}  // namespace nalar::batch
