#include "batch/job.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "batch/bounded_queue.h"
#include "batch/chunk_store.h"
#include "batch/input_set.h"
#include "batch/model.h"
#include "batch/progress.h"
#include "batch/reader.h"
#include "batch/row_format.h"
#include "batch/shard.h"
#include "core/json.h"

namespace nalar::batch {

namespace fs = std::filesystem;

double peak_rss_mb() {
  // VmHWM belongs to this process image; getrusage's maxrss would also count the RSS a parent
  // had when it forked us (Linux keeps it across exec).
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long kb = -1;
    while (std::fgets(line, sizeof(line), f))
      if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    std::fclose(f);
    if (kb >= 0) return static_cast<double>(kb) / 1024.0;
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

namespace {

// The first fatal error of any stage; cancels the queues so that every stage stops.
class FirstError {
 public:
  void set(Status s, const std::function<void()>& cancel_all) {
    {
      std::lock_guard lock(mu_);
      if (!status_.is_ok() || s.is_ok()) return;
      status_ = std::move(s);
    }
    cancel_all();
  }
  Status get() {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  std::mutex mu_;
  Status status_;
};

// What makes two runs the same job: --resume and merge refuse anything else.
std::string job_identity(const JobOptions& o, const InputSet& in, const std::string& onnx_path,
                         int64_t chunk_rows, OutputFormat out_format) {
  json::Writer w;
  w.begin_object();
  std::error_code ec;
  w.key("model").string(fs::absolute(onnx_path, ec).string());
  w.key("model_bytes").int64(static_cast<int64_t>(fs::file_size(onnx_path, ec)));
  w.key("input").string(o.input);
  w.key("input_files").int64(static_cast<int64_t>(in.files.size()));
  w.key("input_bytes").int64(in.total_bytes);
  w.key("format").string(format_name(in.format));
  w.key("output_format").string(output_format_name(out_format));
  w.key("batch_size").int64(o.batch_size);
  w.key("chunk_rows").int64(chunk_rows);
  std::string keep;
  for (const auto& k : o.keep_columns) keep += (keep.empty() ? "" : ",") + k;
  w.key("keep_columns").string(keep);
  w.end_object();
  return w.take();
}

}  // namespace

Result<JobSummary> run_job(const JobOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  JobSummary summary;
  summary.output = o.output;
  summary.errors = o.errors.empty() ? o.output + ".errors.jsonl" : o.errors;
  NALAR_ASSIGN_OR_RETURN(ShardSpec shard, parse_shard(o.shard));
  NALAR_ASSIGN_OR_RETURN(OutputFormat out_format, output_format_of(o.output));
  NALAR_ASSIGN_OR_RETURN(InputSet inputs, expand_inputs(o.input, o.format));
  const bool images = inputs.format == InputFormat::kImages;
  JobOptions opt = o;  // with defaults filled in
  if (opt.batch_size <= 0) opt.batch_size = images ? 32 : 256;
  const int64_t chunk_rows =
      o.chunk_rows > 0 ? o.chunk_rows : (inputs.format == InputFormat::kImages ? 1024 : 65536);

  ModelOptions mo;
  mo.model = o.model;
  mo.threads = o.threads;
  mo.format = inputs.format;
  mo.keep_columns = o.keep_columns;
  NALAR_ASSIGN_OR_RETURN(auto model, Model::load(mo));
  const RowPreparer& prep = model->preparer();
  if (out_format == OutputFormat::kNpy && !o.keep_columns.empty())
    return invalid_argument(
        "--keep-columns needs a .csv or .jsonl output; .npy holds numbers only");

  ChunkStore store(o.output, summary.errors, out_format);
  const std::string job = job_identity(opt, inputs, model->onnx_path(), chunk_rows, out_format);
  NALAR_ASSIGN_OR_RETURN(ChunkStore::Start start, store.open(job, shard.to_string(), o.resume));
  Manifest& manifest = store.manifest();
  summary.resumed_rows = manifest.rows_read();
  if (start == ChunkStore::Start::kAlreadyComplete) {
    summary.already_complete = true;
    summary.rows_read = manifest.rows_read();
    summary.predicted = manifest.predicted();
    summary.failed = manifest.failed();
    summary.peak_rss_mb = peak_rss_mb();
    return summary;
  }

  RowFormatter formatter(out_format, o.keep_columns, prep.prediction_names());
  if (!manifest.header.empty()) formatter.set_header(manifest.header);

  ReaderOptions ro;
  ro.batch_size = opt.batch_size;
  ro.chunk_rows = chunk_rows;
  ro.shard = shard;
  ro.skip_chunks = manifest.chunks.size();
  ro.keep_columns = o.keep_columns;
  ro.named_columns = prep.named_columns();
  Reader reader(inputs, ro);

  // Three bounded hand-offs: at most ~(3 x capacity) batches are in memory at once; images are
  // large rows, so their queues are shallower.
  const size_t kDepth = images ? 2 : 4;
  OrderedQueue<WorkBatch> read_q(kDepth), prepared_q(kDepth), done_q(kDepth);
  auto cancel_all = [&] {
    read_q.cancel();
    prepared_q.cancel();
    done_q.cancel();
  };
  FirstError error;
  ProgressCounters counters;
  const int64_t known = reader.known_rows();
  int64_t total_rows = known >= 0 ? known - summary.resumed_rows : -1;

  std::thread read_thread([&] {
    Status st = reader.run([&](WorkBatch&& b) { return read_q.push(b.seq, std::move(b)); });
    if (!st.is_ok()) error.set(st, cancel_all);
    read_q.close();
  });

  // Preparation (parsing, decoding) is the costly part for small models: several workers, and
  // the ordered queue puts their batches back in sequence.
  int workers = o.prepare_workers;
  if (workers <= 0) {
    const unsigned hc = std::thread::hardware_concurrency();
    workers = hc >= 4 ? static_cast<int>(hc / 2) : 1;
  }
  std::vector<std::thread> prep_threads;
  std::atomic<int> prep_left{workers};
  for (int w = 0; w < workers; ++w)
    prep_threads.emplace_back([&] {
      while (auto b = read_q.pop()) {
        Status st = prep.prepare(&*b);
        if (!st.is_ok()) {
          error.set(st, cancel_all);
          break;
        }
        const uint64_t seq = b->seq;
        if (!prepared_q.push(seq, std::move(*b))) break;
      }
      if (--prep_left == 0) prepared_q.close();
    });

  std::thread forward_thread([&] {
    while (auto b = prepared_q.pop()) {
      model->forward(&*b);
      const uint64_t seq = b->seq;
      if (!done_q.push(seq, std::move(*b))) break;
    }
    done_q.close();
  });

  // The writer runs here: formatting, chunk files, commits.
  std::optional<Progress> progress;
  progress.emplace(
      counters, total_rows, [&] { return reader.bytes_done(); }, inputs.total_bytes, o.quiet);
  Status write_status;
  ChunkRecord current;
  std::string rows_text, errors_text;
  PredRows preds;
  int64_t failed_total = manifest.failed();
  while (auto b = done_q.pop()) {
    const std::string source_path =
        b->info && !b->info->path.empty() ? b->info->path : std::string();
    if (b->first_in_chunk) {
      write_status = store.begin_chunk(b->chunk_ordinal);
      current = ChunkRecord{};
      current.source = b->source;
      current.index = b->chunk_index;
      if (!write_status.is_ok()) break;
    }
    rows_text.clear();
    errors_text.clear();
    if (!b->ok_rows.empty()) {
      write_status = prep.predictions(*b, &preds);
      if (!write_status.is_ok()) break;
      write_status = formatter.append_rows(*b, preds, &rows_text);
      if (!write_status.is_ok()) break;
    }
    formatter.append_errors(*b, source_path, &errors_text);
    const int64_t n = static_cast<int64_t>(b->rows.size());
    const int64_t ok = static_cast<int64_t>(b->ok_rows.size());
    current.rows_read += n;
    current.predicted += ok;
    current.failed += n - ok;
    failed_total += n - ok;
    counters.rows += n;
    counters.failed += n - ok;
    write_status = store.write_rows(rows_text);
    if (write_status.is_ok()) write_status = store.write_errors(errors_text);
    if (!write_status.is_ok()) break;
    if (o.max_errors >= 0 && failed_total > o.max_errors) {
      write_status = invalid_argument(
          "more than --max-errors " + std::to_string(o.max_errors) + " rows failed (" +
          std::to_string(failed_total) + " so far; see " + summary.errors +
          " once the job finishes, and the uncommitted chunk in " + store.parts_dir() + ")");
      break;
    }
    if (b->last_in_chunk) {
      write_status = store.commit_chunk(current, formatter.header());
      if (!write_status.is_ok()) break;
    }
  }
  if (!write_status.is_ok()) error.set(write_status, cancel_all);
  read_thread.join();
  for (auto& t : prep_threads) t.join();
  forward_thread.join();
  progress.reset();
  NALAR_RETURN_IF_ERROR(error.get());
  NALAR_RETURN_IF_ERROR(store.wait_commits());

  if (manifest.header.empty()) manifest.header = formatter.header();
  if (manifest.header.empty()) manifest.header = formatter.fallback_header();
  NALAR_RETURN_IF_ERROR(store.finalize());
  summary.rows_read = manifest.rows_read();
  summary.predicted = manifest.predicted();
  summary.failed = manifest.failed();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  summary.peak_rss_mb = peak_rss_mb();
  return summary;
}

}  // namespace nalar::batch
