#include "serving/scheduler.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace nalar::serving {

namespace {

uint64_t ns_between(std::chrono::steady_clock::time_point a,
                    std::chrono::steady_clock::time_point b) {
  return static_cast<uint64_t>(
      std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count()));
}

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Copies `count` rows starting at row `src_row` of src into dst starting at row `dst_row`.
void copy_rows(const Tensor& src, int64_t src_row, Tensor& dst, int64_t dst_row, int64_t count) {
  const int64_t row = src.dim(0) == 0 ? 0 : src.size() / src.dim(0);
  if (src.dtype() == DataType::kString) {
    const std::string* s = src.data<std::string>() + src_row * row;
    std::string* d = dst.data<std::string>() + dst_row * row;
    std::copy(s, s + count * row, d);
    return;
  }
  const size_t row_bytes = static_cast<size_t>(row) * dtype_size(src.dtype());
  if (count * row == 0) return;
  std::memcpy(static_cast<char*>(dst.raw()) + static_cast<size_t>(dst_row) * row_bytes,
              static_cast<const char*>(src.raw()) + static_cast<size_t>(src_row) * row_bytes,
              static_cast<size_t>(count) * row_bytes);
}

// Set by Scheduler::CallerRunsScope: enqueue() on this thread may run the model here.
thread_local bool tls_caller_runs = false;

// Runs shorter than this (mean so far, after a few) may run on a caller's thread: any longer
// and the caller (an HTTP I/O thread) would hold up its other connections noticeably.
constexpr uint64_t kCallerRunMaxNs = 100'000;
constexpr uint64_t kCallerRunMinSamples = 16;

}  // namespace

Scheduler::CallerRunsScope::CallerRunsScope() : previous_(tls_caller_runs) {
  tls_caller_runs = true;
}
Scheduler::CallerRunsScope::~CallerRunsScope() { tls_caller_runs = previous_; }

bool Scheduler::cheap_enough() const {
  const uint64_t n = stats_->compute_infer.count.load(std::memory_order_relaxed);
  return n >= kCallerRunMinSamples &&
         stats_->compute_infer.ns.load(std::memory_order_relaxed) / n < kCallerRunMaxNs;
}

bool batch_compatible(const NamedTensors& a, const NamedTensors& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const Tensor& x = a[i].second;
    const Tensor& y = b[i].second;
    if (a[i].first != b[i].first || x.dtype() != y.dtype() || x.rank() != y.rank() || x.rank() == 0)
      return false;
    if (!std::equal(x.shape().begin() + 1, x.shape().end(), y.shape().begin() + 1)) return false;
  }
  return true;
}

Result<NamedTensors> concat_batch(const std::vector<const NamedTensors*>& parts) {
  if (parts.empty()) return invalid_argument("empty batch");
  for (const auto* p : parts)
    if (!batch_compatible(*parts[0], *p))
      return invalid_argument("requests with different inputs cannot share a batch");
  NamedTensors out;
  for (size_t i = 0; i < parts[0]->size(); ++i) {
    const Tensor& first = (*parts[0])[i].second;
    Shape shape = first.shape();
    shape[0] = 0;
    for (const auto* p : parts) shape[0] += (*p)[i].second.dim(0);
    Tensor t = Tensor::create(first.dtype(), shape);
    int64_t row = 0;
    for (const auto* p : parts) {
      const Tensor& src = (*p)[i].second;
      copy_rows(src, 0, t, row, src.dim(0));
      row += src.dim(0);
    }
    out.emplace_back((*parts[0])[i].first, std::move(t));
  }
  return out;
}

NamedTensors slice_rows(const NamedTensors& outputs, int64_t begin, int64_t count) {
  NamedTensors out;
  for (const auto& [name, t] : outputs) {
    Shape shape = t.shape();
    shape[0] = count;
    Tensor s = Tensor::create(t.dtype(), shape);
    copy_rows(t, begin, s, 0, count);
    out.emplace_back(name, std::move(s));
  }
  return out;
}

Scheduler::Scheduler(SchedulerOptions options, RunFn run, ModelStats* stats)
    : options_(std::move(options)), run_(std::move(run)), stats_(stats) {
  std::sort(options_.preferred_batch_sizes.begin(), options_.preferred_batch_sizes.end());
  const int n = std::max(1, options_.instances);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { executor(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return running_ == 0; });  // a caller may still be running the model
}

size_t Scheduler::queue_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_;
}

void Scheduler::enqueue(NamedTensors inputs, uint32_t priority, uint64_t timeout_us, DoneFn done,
                        uint64_t prepare_ns) {
  Item item;
  item.batch = 1;
  item.prepare_ns = prepare_ns;
  if (options_.max_batch_size > 0 && !inputs.empty() && inputs[0].second.rank() > 0)
    item.batch = inputs[0].second.dim(0);
  item.inputs = std::move(inputs);
  item.enqueued = Clock::now();
  uint32_t level = priority == 0 ? options_.default_priority_level : priority;
  if (options_.priority_levels > 0) level = std::min(level, options_.priority_levels);
  level = std::max<uint32_t>(level, 1);
  auto pit = options_.level_policies.find(level);
  const QueuePolicy& policy =
      pit == options_.level_policies.end() ? options_.default_policy : pit->second;
  // A request may always ask for a shorter timeout; a longer one only if the policy allows.
  uint64_t timeout = policy.default_timeout_us;
  if (timeout_us > 0 && (timeout == 0 || policy.allow_timeout_override || timeout_us < timeout))
    timeout = timeout_us;
  item.deadline =
      timeout > 0 ? item.enqueued + std::chrono::microseconds(timeout) : Clock::time_point::max();
  item.delay_on_timeout = policy.delay_on_timeout;
  Status refused;
  bool run_here = false;
  const bool batching = options_.dynamic_batching && options_.max_batch_size > 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& q = queues_[level];
    if (stopping_) {
      refused = Status(StatusCode::kUnavailable, "the model is being unloaded");
    } else if (policy.max_queue_size > 0 && q.size() >= policy.max_queue_size) {
      refused = Status(StatusCode::kUnavailable,
                       "exceeds maximum queue size " + std::to_string(policy.max_queue_size));
    } else if (tls_caller_runs && !batching && queued_ == 0 &&
               running_ < std::max(1, options_.instances) && cheap_enough()) {
      // An idle instance and nobody waiting: run here rather than wake an executor and wait.
      ++running_;
      run_here = true;
    } else {
      item.done = std::move(done);
      q.push_back(std::move(item));
      ++queued_;
    }
  }
  if (!refused.is_ok()) {
    stats_->fail.add(0);
    done(refused);
    return;
  }
  if (!run_here) {
    cv_.notify_one();
    return;
  }
  item.done = std::move(done);
  std::vector<Item> batch;
  batch.push_back(std::move(item));
  execute(batch);
  std::lock_guard<std::mutex> lock(mu_);
  --running_;
  if (stopping_) {
    cv_.notify_all();  // the destructor may be waiting for this run
  } else if (queued_ > 0) {
    cv_.notify_one();  // an executor held back by the instance limit
  }
}

std::vector<Scheduler::Item> Scheduler::take_batch(std::unique_lock<std::mutex>& lock) {
  std::vector<Item> taken;
  const bool batching = options_.dynamic_batching && options_.max_batch_size > 0;
  if (!batching) {
    auto it = queues_.begin();
    while (it->second.empty()) ++it;
    taken.push_back(std::move(it->second.front()));
    it->second.pop_front();
    --queued_;
    return taken;
  }
  // The longest prefix (in priority order) of compatible requests that fits max_batch_size.
  const Item* first = nullptr;
  int64_t total = 0;
  size_t count = 0;
  size_t pref_count = 0;  // requests in the longest prefix whose total is a preferred size
  bool blocked = false;   // the next request cannot join: waiting will not grow this batch
  const auto& pref = options_.preferred_batch_sizes;
  Clock::time_point oldest = Clock::time_point::max();
  for (auto& [level, q] : queues_) {
    for (const Item& item : q) {
      if (!first) {
        first = &item;
      } else if (total + item.batch > options_.max_batch_size ||
                 !batch_compatible(first->inputs, item.inputs)) {
        blocked = true;
        break;
      }
      total += item.batch;
      oldest = std::min(oldest, item.enqueued);
      ++count;
      if (std::find(pref.begin(), pref.end(), total) != pref.end()) pref_count = count;
    }
    if (blocked) break;
  }
  bool send = blocked || stopping_ || total >= options_.max_batch_size ||
              options_.max_queue_delay_us == 0 || pref_count == count;
  if (!send && pref_count > 0) {
    // Triton's rule: a preferred size that is already there goes now (the largest one).
    count = pref_count;
    send = true;
  }
  const auto due = oldest + std::chrono::microseconds(options_.max_queue_delay_us);
  if (!send && Clock::now() < due) {
    cv_.wait_until(lock, due);
    return taken;  // re-evaluate: more requests may have come, or another executor took them
  }
  for (auto& [level, q] : queues_) {
    while (count > 0 && !q.empty()) {
      taken.push_back(std::move(q.front()));
      q.pop_front();
      --queued_;
      --count;
    }
  }
  return taken;
}

void Scheduler::executor() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (queued_ == 0) {
      if (stopping_) return;
      cv_.wait(lock);
      continue;
    }
    if (running_ >= std::max(1, options_.instances)) {  // a caller runs on the last instance
      cv_.wait(lock);
      continue;
    }
    // Requests whose queue timeout passed are refused before they cost a run.
    std::vector<Item> expired;
    const auto now = Clock::now();
    for (auto& [level, q] : queues_) {
      if (level == kDelayedLevel) continue;
      for (auto it = q.begin(); it != q.end();) {
        if (it->deadline > now) {
          ++it;
        } else if (it->delay_on_timeout) {
          it->deadline = Clock::time_point::max();
          queues_[kDelayedLevel].push_back(std::move(*it));
          it = q.erase(it);
        } else {
          expired.push_back(std::move(*it));
          it = q.erase(it);
          --queued_;
        }
      }
    }
    std::vector<Item> batch;
    if (queued_ > 0) batch = take_batch(lock);
    if (batch.empty() && expired.empty()) continue;
    if (queued_ > 0) cv_.notify_one();  // let another executor look at what is left
    if (!batch.empty()) ++running_;
    lock.unlock();
    for (auto& item : expired) {
      stats_->fail.add(ns_between(item.enqueued, Clock::now()));
      item.done(Status(StatusCode::kUnavailable, "request timed out in the queue"));
    }
    if (!batch.empty()) execute(batch);
    lock.lock();
    if (!batch.empty()) --running_;
  }
}

void Scheduler::execute(std::vector<Item>& batch) {
  const auto start = Clock::now();
  for (const auto& item : batch) stats_->queue.add(ns_between(item.enqueued, start));
  auto fail_all = [&](const Status& st) {
    const auto end = Clock::now();
    for (auto& item : batch) {
      stats_->fail.add(ns_between(item.enqueued, end));
      item.done(st);
    }
  };

  NamedTensors joined;
  const NamedTensors* inputs = &batch[0].inputs;
  int64_t total = 0;
  for (const auto& item : batch) total += item.batch;
  if (batch.size() > 1) {
    std::vector<const NamedTensors*> parts;
    for (const auto& item : batch) parts.push_back(&item.inputs);
    auto j = concat_batch(parts);
    if (!j.is_ok()) return fail_all(j.status());
    joined = std::move(j).value();
    inputs = &joined;
  }
  const auto infer_start = Clock::now();
  Result<NamedTensors> result = internal_error("the model run did not complete");
  try {
    result = run_(*inputs);
  } catch (const std::exception& e) {
    result = internal_error(std::string("model run failed: ") + e.what());
  }
  const auto infer_end = Clock::now();
  if (!result.is_ok()) return fail_all(result.status());

  std::vector<NamedTensors> split;
  if (batch.size() == 1) {
    split.push_back(std::move(result).value());
  } else {
    for (const auto& [name, t] : *result) {
      if (t.rank() == 0 || t.dim(0) != total)
        return fail_all(
            internal_error("output '" + name + "' has shape " + shape_to_string(t.shape()) +
                           ", which does not split back into a batch of " + std::to_string(total)));
    }
    int64_t row = 0;
    for (const auto& item : batch) {
      split.push_back(slice_rows(*result, row, item.batch));
      row += item.batch;
    }
  }
  const auto end = Clock::now();
  const uint64_t in_ns = ns_between(start, infer_start);
  const uint64_t infer_ns = ns_between(infer_start, infer_end);
  const uint64_t out_ns = ns_between(infer_end, end);
  stats_->execution_count.fetch_add(1, std::memory_order_relaxed);
  stats_->inference_count.fetch_add(static_cast<uint64_t>(total), std::memory_order_relaxed);
  stats_->last_inference_ms.store(now_ms(), std::memory_order_relaxed);
  uint64_t prepare_ns = 0;
  for (const auto& item : batch) prepare_ns += item.prepare_ns;
  {
    std::lock_guard<std::mutex> lock(stats_->batch_mu);
    auto& b = stats_->batch[total];
    ++b.count;
    b.compute_input_ns += in_ns + prepare_ns;
    b.compute_infer_ns += infer_ns;
    b.compute_output_ns += out_ns;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    stats_->compute_input.add(in_ns + batch[i].prepare_ns);
    stats_->compute_infer.add(infer_ns);
    stats_->compute_output.add(out_ns);
    stats_->success.add(ns_between(batch[i].enqueued, Clock::now()) + batch[i].prepare_ns);
    batch[i].done(std::move(split[i]));
  }
}

}  // namespace nalar::serving
