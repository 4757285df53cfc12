// Per-model-version scheduling: a priority queue in front of `instances` executor threads, with
// Triton's dynamic batcher (requests joined along dim 0 into one run, outputs split back),
// queue-size limits and queue timeouts.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "nalar/session.h"
#include "nalar/status.h"

namespace nalar::serving {

// Triton's ModelQueuePolicy: applies per priority level.
struct QueuePolicy {
  size_t max_queue_size = 0;        // 0: unbounded
  uint64_t default_timeout_us = 0;  // 0: no queue timeout
  bool allow_timeout_override = false;
  bool delay_on_timeout = false;  // timeout_action DELAY: run after everything else, not reject
};

struct SchedulerOptions {
  int max_batch_size = 0;  // 0: the model does not batch; inputs go through as given
  bool dynamic_batching = false;
  std::vector<int> preferred_batch_sizes;
  uint64_t max_queue_delay_us = 0;
  QueuePolicy default_policy;
  std::map<uint32_t, QueuePolicy> level_policies;  // priority_queue_policy, by level
  uint32_t priority_levels = 0;                    // 0: one level
  uint32_t default_priority_level = 0;
  int instances = 1;
};

// Triton-style statistics counters, updated without locks except the batch-size histogram.
struct ModelStats {
  struct Duration {
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> ns{0};
    void add(uint64_t n) {
      count.fetch_add(1, std::memory_order_relaxed);
      ns.fetch_add(n, std::memory_order_relaxed);
    }
  };
  Duration success, fail, queue, compute_input, compute_infer, compute_output;
  std::atomic<uint64_t> inference_count{0};  // samples (batch rows) inferred
  std::atomic<uint64_t> execution_count{0};  // model runs
  std::atomic<uint64_t> last_inference_ms{0};
  struct BatchStat {
    uint64_t count = 0, compute_input_ns = 0, compute_infer_ns = 0, compute_output_ns = 0;
  };
  std::mutex batch_mu;
  std::map<int64_t, BatchStat> batch;  // by batch size
};

class Scheduler {
 public:
  using RunFn = std::function<Result<NamedTensors>(const NamedTensors&)>;
  using DoneFn = std::function<void(Result<NamedTensors>)>;

  // `run` is called from up to options.instances threads at once.
  Scheduler(SchedulerOptions options, RunFn run, ModelStats* stats);
  // Stops accepting, finishes everything queued, joins the executors.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request whose inputs were already validated against the model. `done` is called
  // exactly once, from an executor thread (or from here when the request is refused).
  // `priority` 0 = default level; `timeout_us` 0 = the default timeout. `prepare_ns`: time the
  // caller spent making `inputs` from raw examples (a pipeline's decode / resize); like Triton's
  // input preparation it counts in compute_input and in the request's total duration.
  void enqueue(NamedTensors inputs, uint32_t priority, uint64_t timeout_us, DoneFn done,
               uint64_t prepare_ns = 0);

  // While one of these lives on a thread, enqueue() on that thread may run the model right there
  // (no hand-off to an executor and back) when the model does not batch dynamically, nothing is
  // queued, an instance is idle and the model's runs have been measured cheap. For callers that
  // would otherwise only wait: the HTTP front end's handlers.
  class CallerRunsScope {
   public:
    CallerRunsScope();
    ~CallerRunsScope();
    CallerRunsScope(const CallerRunsScope&) = delete;
    CallerRunsScope& operator=(const CallerRunsScope&) = delete;

   private:
    bool previous_;
  };

  size_t queue_size() const;
  const SchedulerOptions& options() const { return options_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Item {
    NamedTensors inputs;
    int64_t batch = 1;
    Clock::time_point enqueued;
    Clock::time_point deadline;  // Clock::time_point::max(): none
    bool delay_on_timeout = false;
    uint64_t prepare_ns = 0;
    DoneFn done;
  };
  void executor();
  // Picks the items of the next batch (locked); empty when nothing is ready yet.
  std::vector<Item> take_batch(std::unique_lock<std::mutex>& lock);
  void execute(std::vector<Item>& batch);
  // True when the model's mean run so far is short enough to run on a caller's thread.
  bool cheap_enough() const;

  SchedulerOptions options_;
  RunFn run_;
  ModelStats* stats_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // By priority level, 1 first; requests delayed by a DELAY timeout wait in kDelayedLevel.
  static constexpr uint32_t kDelayedLevel = 0xffffffffu;
  std::map<uint32_t, std::deque<Item>> queues_;
  size_t queued_ = 0;
  int running_ = 0;  // runs in progress (executors and callers), at most the instance count
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Joins requests along dim 0 (every input must agree on names, dtypes and trailing dims).
Result<NamedTensors> concat_batch(const std::vector<const NamedTensors*>& parts);
// Rows [begin, begin + count) of every output.
NamedTensors slice_rows(const NamedTensors& outputs, int64_t begin, int64_t count);
// True when two requests can share a batch.
bool batch_compatible(const NamedTensors& a, const NamedTensors& b);

}  // namespace nalar::serving
