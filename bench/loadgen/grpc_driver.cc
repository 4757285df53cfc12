#include "loadgen/grpc_driver.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "loadgen/arrivals.h"
#include "serving/grpc/grpc_service.grpc.pb.h"

namespace nalar::loadgen {

namespace {

constexpr auto kDrain = std::chrono::seconds(10);

struct Slot {
  std::unique_ptr<grpc::ClientContext> ctx;
  inference::ModelInferResponse response;
  Clock::time_point intended;
  inference::GRPCInferenceService::Stub* stub = nullptr;
};

class GrpcDriver {
 public:
  GrpcDriver(const inference::ModelInferRequest& request, const LoadPlan& plan, Recorder& rec)
      : request_(request), plan_(plan), rec_(rec) {}

  void run(const std::string& target, int channels);

 private:
  void issue(Slot* s, Clock::time_point intended);
  void on_done(Slot* s, const grpc::Status& status);

  const inference::ModelInferRequest& request_;
  const LoadPlan& plan_;
  Recorder& rec_;
  std::vector<std::unique_ptr<inference::GRPCInferenceService::Stub>> stubs_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot*> free_;
  std::deque<Clock::time_point> pending_;
  int in_flight_ = 0;
};

void GrpcDriver::issue(Slot* s, Clock::time_point intended) {
  s->ctx = std::make_unique<grpc::ClientContext>();
  s->response.Clear();
  s->intended = intended;
  s->stub->async()->ModelInfer(s->ctx.get(), &request_, &s->response,
                               [this, s](grpc::Status st) { on_done(s, st); });
}

void GrpcDriver::on_done(Slot* s, const grpc::Status& status) {
  const auto now = Clock::now();
  Clock::time_point next{};
  bool again = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status.ok())
      rec_.success(s->intended, now);
    else
      rec_.error(s->intended,
                 "gRPC " + std::to_string(status.error_code()) + ": " + status.error_message());
    if (plan_.open_loop()) {
      if (!pending_.empty()) {
        next = pending_.front();
        pending_.pop_front();
        again = true;
      }
    } else if (now < plan_.window_end) {
      next = now;
      again = true;
    }
    if (!again) {
      free_.push_back(s);
      --in_flight_;
    }
  }
  if (again)
    issue(s, next);
  else
    cv_.notify_all();
}

void GrpcDriver::run(const std::string& target, int channels) {
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one TCP connection per channel
    args.SetInt("grpc.channel_id", i);                   // keeps the channels distinct
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    auto ch = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5));
    stubs_.push_back(inference::GRPCInferenceService::NewStub(ch));
  }
  for (int i = 0; i < plan_.concurrency; ++i) {
    auto s = std::make_unique<Slot>();
    s->stub = stubs_[static_cast<size_t>(i) % stubs_.size()].get();
    free_.push_back(s.get());
    slots_.push_back(std::move(s));
  }
  if (!plan_.open_loop()) {
    std::vector<Slot*> start;
    {
      std::lock_guard<std::mutex> lock(mu_);
      start.swap(free_);
      in_flight_ = static_cast<int>(start.size());
    }
    for (Slot* s : start) issue(s, Clock::now());
  } else {
    PoissonArrivals arrivals(plan_.rate, plan_.start, plan_.seed);
    for (auto t = arrivals.next(); t < plan_.window_end; t = arrivals.next()) {
      std::this_thread::sleep_until(t);
      Slot* s = nullptr;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (free_.empty()) {
          pending_.push_back(t);
        } else {
          s = free_.back();
          free_.pop_back();
          ++in_flight_;
        }
      }
      if (s) issue(s, t);
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (!plan_.open_loop()) {
    // Closed loop: the slots stop re-issuing once the window has ended.
    cv_.wait_until(lock, plan_.window_end + kDrain, [this] { return in_flight_ == 0; });
  } else {
    cv_.wait_until(lock, plan_.window_end + kDrain,
                   [this] { return in_flight_ == 0 && pending_.empty(); });
  }
  for (auto t : pending_) rec_.error(t, "not sent before the end of the run (generator backlog)");
  pending_.clear();
  if (in_flight_ > 0) {
    // Calls still out reference this driver: cancel them and wait for their callbacks.
    for (auto& s : slots_)
      if (s->ctx) s->ctx->TryCancel();
    cv_.wait(lock, [this] { return in_flight_ == 0; });
  }
}

}  // namespace

void run_grpc_driver(const std::string& target, const inference::ModelInferRequest& request,
                     const LoadPlan& plan, int channels, Recorder& recorder) {
  GrpcDriver d(request, plan, recorder);
  d.run(target, std::max(1, channels));
}

}  // namespace nalar::loadgen
