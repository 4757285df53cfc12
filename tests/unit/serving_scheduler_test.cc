// The dynamic batcher: joins and splits, queue limits, timeouts, priorities, draining.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "serving/scheduler.h"

namespace nalar::serving {
namespace {

// Blocks runs until opened; records the batch size of every run.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int started = 0;
  std::vector<int64_t> batches;
  std::vector<float> first_values;  // first element of each run's input (identifies requests)

  void release() {
    std::lock_guard<std::mutex> l(mu);
    open = true;
    cv.notify_all();
  }
  void wait_started(int n) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return started >= n; });
  }
  Scheduler::RunFn fn() {
    return [this](const NamedTensors& in) -> Result<NamedTensors> {
      std::unique_lock<std::mutex> l(mu);
      ++started;
      batches.push_back(in[0].second.dim(0));
      first_values.push_back(in[0].second.data<float>()[0]);
      cv.notify_all();
      cv.wait(l, [&] { return open; });
      // y = 2x: each request must get back exactly its own rows.
      const Tensor& x = in[0].second;
      Tensor y = Tensor::create(DataType::kFloat, x.shape());
      for (int64_t i = 0; i < x.size(); ++i) y.data<float>()[i] = 2 * x.data<float>()[i];
      return NamedTensors{{"y", y}};
    };
  }
};

NamedTensors rows(int64_t n, float start) {
  Tensor t = Tensor::create(DataType::kFloat, {n, 2});
  for (int64_t i = 0; i < n * 2; ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return {{"x", t}};
}

struct Collector {
  std::mutex mu;
  std::vector<Result<NamedTensors>> results;
  std::vector<int> order;
  Scheduler::DoneFn done(int tag) {
    return [this, tag](Result<NamedTensors> r) {
      std::lock_guard<std::mutex> l(mu);
      order.push_back(tag);
      results.push_back(std::move(r));
    };
  }
};

TEST(ServingScheduler, JoinsRequestsOfDifferentBatchSizesAndSplitsThemBack) {
  Gate gate;
  ModelStats stats;
  SchedulerOptions o;
  o.max_batch_size = 8;
  o.dynamic_batching = true;
  std::vector<std::promise<Result<NamedTensors>>> promises(5);
  {
    Scheduler s(o, gate.fn(), &stats);
    s.enqueue(rows(1, 1000), 0, 0,
              [&](Result<NamedTensors> r) { promises[0].set_value(std::move(r)); });
    gate.wait_started(1);  // the executor is busy: the next requests queue up together
    const int64_t sizes[] = {1, 3, 2, 2};
    for (int i = 1; i < 5; ++i)
      s.enqueue(rows(sizes[i - 1], 100.0f * i), 0, 0, [&, i](Result<NamedTensors> r) {
        promises[static_cast<size_t>(i)].set_value(std::move(r));
      });
    gate.release();
    const int64_t want_rows[] = {1, 1, 3, 2, 2};
    for (int i = 0; i < 5; ++i) {
      auto r = promises[static_cast<size_t>(i)].get_future().get();
      ASSERT_TRUE(r.is_ok()) << r.status().message();
      const Tensor& y = (*r)[0].second;
      ASSERT_EQ(y.shape(), (Shape{want_rows[i], 2}));
      const float start = i == 0 ? 1000.0f : 100.0f * i;
      for (int64_t k = 0; k < y.size(); ++k) EXPECT_EQ(y.data<float>()[k], 2 * (start + k));
    }
  }
  ASSERT_EQ(gate.batches.size(), 2u);
  EXPECT_EQ(gate.batches[1], 8);  // 1 + 3 + 2 + 2
  EXPECT_EQ(stats.execution_count.load(), 2u);
  EXPECT_EQ(stats.inference_count.load(), 9u);
  EXPECT_EQ(stats.success.count.load(), 5u);
}

TEST(ServingScheduler, PreferredBatchSizeGoesWithoutWaiting) {
  Gate gate;
  ModelStats stats;
  SchedulerOptions o;
  o.max_batch_size = 8;
  o.dynamic_batching = true;
  o.preferred_batch_sizes = {2};
  o.max_queue_delay_us = 10'000'000;  // 10 s: only a preferred size can make it go
  Collector c;
  const auto t0 = std::chrono::steady_clock::now();
  {
    Scheduler s(o, gate.fn(), &stats);
    gate.release();
    s.enqueue(rows(1, 0), 0, 0, c.done(0));
    s.enqueue(rows(1, 0), 0, 0, c.done(1));
    s.enqueue(rows(1, 0), 0, 0, c.done(2));
    while (true) {
      std::lock_guard<std::mutex> l(c.mu);
      if (c.results.size() >= 2) break;
    }
  }  // the third request is drained at destruction
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  ASSERT_GE(gate.batches.size(), 1u);
  EXPECT_EQ(gate.batches[0], 2);
  EXPECT_EQ(c.results.size(), 3u);
}

TEST(ServingScheduler, BatchNeverExceedsMaxBatchSize) {
  Gate gate;
  ModelStats stats;
  SchedulerOptions o;
  o.max_batch_size = 4;
  o.dynamic_batching = true;
  Collector c;
  {
    Scheduler s(o, gate.fn(), &stats);
    s.enqueue(rows(1, 0), 0, 0, c.done(0));
    gate.wait_started(1);
    for (int i = 1; i <= 5; ++i) s.enqueue(rows(3, 0), 0, 0, c.done(i));
    gate.release();
  }
  for (size_t i = 1; i < gate.batches.size(); ++i) EXPECT_LE(gate.batches[i], 4);
  EXPECT_EQ(c.results.size(), 6u);
}

TEST(ServingScheduler, IncompatibleShapesRunSeparately) {
  Gate gate;
  ModelStats stats;
  SchedulerOptions o;
  o.max_batch_size = 8;
  o.dynamic_batching = true;
  Collector c;
  {
    Scheduler s(o, gate.fn(), &stats);
    s.enqueue(rows(1, 0), 0, 0, c.done(0));
    gate.wait_started(1);
    Tensor wide = Tensor::create(DataType::kFloat, {1, 3});
    s.enqueue(rows(1, 0), 0, 0, c.done(1));
    s.enqueue({{"x", wide}}, 0, 0, c.done(2));
    gate.release();
  }
  ASSERT_EQ(c.results.size(), 3u);
  for (auto& r : c.results) EXPECT_TRUE(r.is_ok());
  EXPECT_EQ(gate.batches.size(), 3u);
}

TEST(ServingScheduler, FullQueueRefusesWithUnavailable) {
  Gate gate;
  ModelStats stats;
  SchedulerOptions o;
  o.default_policy.max_queue_size = 2;
  Collector c;
  {
    Scheduler s(o, gate.fn(), &stats);
    s.enqueue(rows(1, 0), 0, 0, c.done(0));
    gate.wait_started(1);
    s.enqueue(rows(1, 0), 0, 0, c.done(1));
    s.enqueue(rows(1, 0), 0, 0, c.done(2));
    s.enqueue(rows(1, 0), 0, 0, c.done(3));  // third waiting request: refused at once
    {
      std::lock_guard<std::mutex> l(c.mu);
      ASSERT_EQ(c.results.size(), 1u);
      EXPECT_EQ(c.order[0], 3);
      EXPECT_EQ(c.results[0].status().code(), StatusCode::kUnavailable);
    }
    gate.release();
  }
  EXPECT_EQ(c.results.size(), 4u);
}

TEST(ServingScheduler, QueueTimeoutExpiresWaitingRequests) {
  Gate gate;
  ModelStats stats;
  SchedulerOptions o;
  Collector c;
  {
    Scheduler s(o, gate.fn(), &stats);
    s.enqueue(rows(1, 0), 0, 0, c.done(0));
    gate.wait_started(1);
    s.enqueue(rows(1, 0), 0, 1000, c.done(1));  // 1 ms
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    gate.release();
  }
  ASSERT_EQ(c.results.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    if (c.order[i] == 1) {
      EXPECT_EQ(c.results[i].status().code(), StatusCode::kUnavailable);
      EXPECT_NE(c.results[i].status().message().find("timed out"), std::string::npos);
    } else {
      EXPECT_TRUE(c.results[i].is_ok());
    }
  }
}

TEST(ServingScheduler, DelayTimeoutActionRunsLateInsteadOfFailing) {
  Gate gate;
  ModelStats stats;
  SchedulerOptions o;
  o.default_policy.delay_on_timeout = true;
  Collector c;
  {
    Scheduler s(o, gate.fn(), &stats);
    s.enqueue(rows(1, 0), 0, 0, c.done(0));
    gate.wait_started(1);
    s.enqueue(rows(1, 10), 0, 1000, c.done(1));  // times out while waiting: delayed
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s.enqueue(rows(1, 20), 0, 0, c.done(2));
    gate.release();
  }
  ASSERT_EQ(c.results.size(), 3u);
  for (auto& r : c.results) EXPECT_TRUE(r.is_ok());
  ASSERT_EQ(gate.first_values.size(), 3u);
  EXPECT_EQ(gate.first_values[1], 20);  // the timed-out request goes last
  EXPECT_EQ(gate.first_values[2], 10);
}

TEST(ServingScheduler, PerLevelQueuePolicies) {
  Gate gate;
  ModelStats stats;
  SchedulerOptions o;
  o.priority_levels = 2;
  o.default_priority_level = 2;
  o.level_policies[1].max_queue_size = 1;
  Collector c;
  {
    Scheduler s(o, gate.fn(), &stats);
    s.enqueue(rows(1, 0), 0, 0, c.done(0));
    gate.wait_started(1);
    s.enqueue(rows(1, 0), 1, 0, c.done(1));
    s.enqueue(rows(1, 0), 1, 0, c.done(2));  // level 1 holds one: refused
    s.enqueue(rows(1, 0), 2, 0, c.done(3));  // level 2 is unbounded
    s.enqueue(rows(1, 0), 2, 0, c.done(4));
    gate.release();
  }
  ASSERT_EQ(c.results.size(), 5u);
  int refused = 0;
  for (size_t i = 0; i < 5; ++i)
    if (!c.results[i].is_ok()) {
      ++refused;
      EXPECT_EQ(c.order[i], 2);
    }
  EXPECT_EQ(refused, 1);
}

TEST(ServingScheduler, HigherPriorityRunsFirst) {
  Gate gate;
  ModelStats stats;
  SchedulerOptions o;
  o.priority_levels = 3;
  o.default_priority_level = 2;
  Collector c;
  {
    Scheduler s(o, gate.fn(), &stats);
    s.enqueue(rows(1, 0), 0, 0, c.done(0));
    gate.wait_started(1);
    s.enqueue(rows(1, 10), 3, 0, c.done(1));  // lowest
    s.enqueue(rows(1, 20), 0, 0, c.done(2));  // default level 2
    s.enqueue(rows(1, 30), 1, 0, c.done(3));  // highest
    gate.release();
  }
  ASSERT_EQ(gate.first_values.size(), 4u);
  EXPECT_EQ(gate.first_values[1], 30);
  EXPECT_EQ(gate.first_values[2], 20);
  EXPECT_EQ(gate.first_values[3], 10);
}

TEST(ServingScheduler, InstancesRunConcurrently) {
  Gate gate;
  ModelStats stats;
  SchedulerOptions o;
  o.instances = 3;
  Collector c;
  {
    Scheduler s(o, gate.fn(), &stats);
    for (int i = 0; i < 3; ++i) s.enqueue(rows(1, 0), 0, 0, c.done(i));
    gate.wait_started(3);  // all three runs are inside the model at once
    gate.release();
  }
  EXPECT_EQ(c.results.size(), 3u);
}

TEST(ServingScheduler, DestructionDrainsTheQueue) {
  ModelStats stats;
  SchedulerOptions o;
  o.instances = 2;
  Collector c;
  {
    Scheduler s(
        o, [](const NamedTensors& in) -> Result<NamedTensors> { return in; }, &stats);
    for (int i = 0; i < 50; ++i) s.enqueue(rows(1, 0), 0, 0, c.done(i));
  }
  ASSERT_EQ(c.results.size(), 50u);
  for (auto& r : c.results) EXPECT_TRUE(r.is_ok());
}

TEST(ServingScheduler, RunErrorsReachEveryRequestOfTheBatch) {
  ModelStats stats;
  SchedulerOptions o;
  Collector c;
  {
    Scheduler s(
        o, [](const NamedTensors&) -> Result<NamedTensors> { return internal_error("boom"); },
        &stats);
    s.enqueue(rows(1, 0), 0, 0, c.done(0));
  }
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_EQ(c.results[0].status().message(), "boom");
  EXPECT_EQ(stats.fail.count.load(), 1u);
}

// Time spent preparing a request before it was queued (a pipeline's image decode) is input
// preparation, as in Triton: it counts in compute_input, per request and per batch size, and in
// the request's total time.
TEST(ServingScheduler, PrepareTimeCountsInComputeInputAndTotal) {
  ModelStats stats;
  SchedulerOptions o;
  o.max_batch_size = 4;
  Collector c;
  {
    Scheduler s(
        o, [](const NamedTensors& in) -> Result<NamedTensors> { return in; }, &stats);
    s.enqueue(rows(2, 0), 0, 0, c.done(0), /*prepare_ns=*/7'000'000'000);
  }
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_TRUE(c.results[0].is_ok());
  EXPECT_EQ(stats.compute_input.count.load(), 1u);
  EXPECT_GE(stats.compute_input.ns.load(), 7'000'000'000u);
  EXPECT_GE(stats.success.ns.load(), 7'000'000'000u);
  EXPECT_LT(stats.compute_infer.ns.load(), 7'000'000'000u);
  std::lock_guard<std::mutex> l(stats.batch_mu);
  EXPECT_GE(stats.batch[2].compute_input_ns, 7'000'000'000u);
}

TEST(ServingScheduler, ConcatAndSliceStrings) {
  Tensor a = Tensor::create(DataType::kString, {1, 2});
  a.data<std::string>()[0] = "a0";
  a.data<std::string>()[1] = "a1";
  Tensor b = Tensor::create(DataType::kString, {2, 2});
  for (int i = 0; i < 4; ++i) b.data<std::string>()[i] = "b" + std::to_string(i);
  NamedTensors pa{{"s", a}}, pb{{"s", b}};
  auto j = concat_batch({&pa, &pb});
  ASSERT_TRUE(j.is_ok());
  const Tensor& t = (*j)[0].second;
  ASSERT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(t.data<std::string>()[2], "b0");
  NamedTensors back = slice_rows(*j, 1, 2);
  EXPECT_EQ(back[0].second.shape(), (Shape{2, 2}));
  EXPECT_EQ(back[0].second.data<std::string>()[3], "b3");
  NamedTensors other{{"t", a}};
  EXPECT_FALSE(concat_batch({&pa, &other}).is_ok());
}

}  // namespace
}  // namespace nalar::serving
