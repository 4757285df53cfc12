// Scheduler::CallerRunsScope: cheap unbatched models run on the enqueuing thread when an
// instance is idle, never more runs at once than instances, batching models always queue.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "serving/scheduler.h"

namespace nalar::serving {
namespace {

NamedTensors one_row(float v) {
  Tensor t = Tensor::create(DataType::kFloat, {1, 2});
  t.data<float>()[0] = v;
  t.data<float>()[1] = v;
  return {{"x", t}};
}

// Runs `n` requests through `s` and waits for all of them.
void warm_up(Scheduler& s, int n) {
  for (int i = 0; i < n; ++i) {
    std::promise<void> p;
    s.enqueue(one_row(1), 0, 0, [&p](Result<NamedTensors>) { p.set_value(); });
    p.get_future().wait();
  }
}

// Thread that ran the model for one request enqueued from this thread.
std::thread::id runner_of(Scheduler& s, std::atomic<std::thread::id>* ran_on) {
  std::promise<void> p;
  s.enqueue(one_row(2), 0, 0, [&p](Result<NamedTensors> r) {
    EXPECT_TRUE(r.is_ok());
    p.set_value();
  });
  p.get_future().wait();
  return ran_on->load();
}

Scheduler::RunFn recording_run(std::atomic<std::thread::id>* ran_on) {
  return [ran_on](const NamedTensors& in) -> Result<NamedTensors> {
    ran_on->store(std::this_thread::get_id());
    return NamedTensors{{"y", in[0].second}};
  };
}

TEST(ServingSchedulerCallerRuns, CheapUnbatchedModelRunsOnTheCallerOnlyInsideTheScope) {
  ModelStats stats;
  std::atomic<std::thread::id> ran_on;
  SchedulerOptions o;
  o.max_batch_size = 8;
  Scheduler s(o, recording_run(&ran_on), &stats);
  warm_up(s, 32);  // the model's runs are measured before any caller runs it
  EXPECT_NE(runner_of(s, &ran_on), std::this_thread::get_id());
  Scheduler::CallerRunsScope scope;
  // The executor counts itself idle just after answering: give it a moment.
  bool here = false;
  for (int i = 0; i < 100 && !here; ++i) {
    here = runner_of(s, &ran_on) == std::this_thread::get_id();
    if (!here) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(here);
}

TEST(ServingSchedulerCallerRuns, NotBeforeTheModelWasMeasured) {
  ModelStats stats;
  std::atomic<std::thread::id> ran_on;
  Scheduler s(SchedulerOptions{}, recording_run(&ran_on), &stats);
  Scheduler::CallerRunsScope scope;
  EXPECT_NE(runner_of(s, &ran_on), std::this_thread::get_id());
}

TEST(ServingSchedulerCallerRuns, SlowModelsStayOnTheExecutors) {
  ModelStats stats;
  std::atomic<std::thread::id> ran_on;
  Scheduler s(
      SchedulerOptions{},
      [&ran_on](const NamedTensors& in) -> Result<NamedTensors> {
        ran_on.store(std::this_thread::get_id());
        std::this_thread::sleep_for(std::chrono::microseconds(300));
        return NamedTensors{{"y", in[0].second}};
      },
      &stats);
  warm_up(s, 20);
  Scheduler::CallerRunsScope scope;
  EXPECT_NE(runner_of(s, &ran_on), std::this_thread::get_id());
}

TEST(ServingSchedulerCallerRuns, DynamicBatchingAlwaysQueues) {
  ModelStats stats;
  std::atomic<std::thread::id> ran_on;
  SchedulerOptions o;
  o.max_batch_size = 8;
  o.dynamic_batching = true;
  Scheduler s(o, recording_run(&ran_on), &stats);
  warm_up(s, 32);
  Scheduler::CallerRunsScope scope;
  EXPECT_NE(runner_of(s, &ran_on), std::this_thread::get_id());
}

TEST(ServingSchedulerCallerRuns, NeverMoreRunsAtOnceThanInstances) {
  ModelStats stats;
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<bool> slow{false};
  Scheduler s(
      SchedulerOptions{},  // one instance
      [&](const NamedTensors& in) -> Result<NamedTensors> {
        const int now = running.fetch_add(1) + 1;
        int m = most.load();
        while (now > m && !most.compare_exchange_weak(m, now)) {
        }
        // Cheap while measured, then slow enough that runs would overlap if allowed.
        if (slow.load()) std::this_thread::sleep_for(std::chrono::microseconds(200));
        running.fetch_sub(1);
        return NamedTensors{{"y", in[0].second}};
      },
      &stats);
  warm_up(s, 32);
  slow.store(true);
  std::atomic<int> answered{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      Scheduler::CallerRunsScope scope;
      for (int i = 0; i < 25; ++i)
        s.enqueue(one_row(3), 0, 0, [&](Result<NamedTensors> r) {
          EXPECT_TRUE(r.is_ok());
          answered.fetch_add(1);
        });
    });
  for (auto& c : callers) c.join();
  while (answered.load() < 100) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(most.load(), 1);
}

}  // namespace
}  // namespace nalar::serving
