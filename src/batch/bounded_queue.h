// Bounded queues that connect the batch job's stages. Bounded so that a fast reader cannot run
// ahead of a slow model and fill memory: memory is capped by capacity x batch size.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace nalar::batch {

// Items come out in the order their sequence numbers say, whatever order the producers (several
// workers of one stage) finish them in. push() blocks while `seq` is `capacity` or more ahead of
// the next item to come out; pop() blocks until the next item is there or the queue is closed.
template <class T>
class OrderedQueue {
 public:
  explicit OrderedQueue(size_t capacity) : capacity_(capacity) {}

  // False when the queue was cancelled (the item is dropped).
  bool push(uint64_t seq, T item) {
    std::unique_lock lock(mu_);
    space_.wait(lock, [&] { return cancelled_ || seq < next_ + capacity_; });
    if (cancelled_) return false;
    items_.emplace(seq, std::move(item));
    ready_.notify_all();
    return true;
  }

  // The next item in sequence; nullopt once closed (and drained) or cancelled.
  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    ready_.wait(lock, [&] {
      return cancelled_ || items_.count(next_) != 0 || (closed_ && items_.empty());
    });
    if (cancelled_) return std::nullopt;
    auto it = items_.find(next_);
    if (it == items_.end()) return std::nullopt;
    T item = std::move(it->second);
    items_.erase(it);
    ++next_;
    space_.notify_all();
    return item;
  }

  // No more pushes will come; pop() drains what is left.
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    ready_.notify_all();
  }

  // Stops everyone at once (an error or --max-errors): pending items are dropped.
  void cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    items_.clear();
    ready_.notify_all();
    space_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::map<uint64_t, T> items_;
  uint64_t next_ = 0;
  bool closed_ = false;
  bool cancelled_ = false;
};

}  // namespace nalar::batch
