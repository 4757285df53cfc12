#include "serving/grpc/grpc_stream.h"

#include <utility>

#include "serving/grpc/grpc_codec.h"
#include "serving/grpc/grpc_service_impl.h"

namespace nalar::serving::kserve_grpc {

StreamInferReactor::StreamInferReactor(InferenceServiceImpl* service) : service_(service) {
  StartRead(&request_);
}

void StreamInferReactor::OnReadDone(bool ok) {
  if (!ok) {  // the client closed its side (or went away)
    bool finish = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reads_done_ = true;
      finish = ready_to_finish_locked();
    }
    if (finish) Finish(::grpc::Status::OK);
    return;
  }
  inference::ModelInferRequest request;
  request.Swap(&request_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++in_flight_;
  }
  StartRead(&request_);  // the next request is read while this one runs
  service_->start_infer(request, [this, id = request.id(), name = request.model_name(),
                                  version = request.model_version()](Result<InferResponse> result) {
    inference::ModelStreamInferResponse out;
    if (result.is_ok()) {
      encode_infer_response(*result, out.mutable_infer_response());
    } else {
      out.set_error_message(result.status().message());
      auto* r = out.mutable_infer_response();
      r->set_model_name(name);
      r->set_model_version(version);
      r->set_id(id);
    }
    send(std::move(out));
  });
}

void StreamInferReactor::send(inference::ModelStreamInferResponse response) {
  const inference::ModelStreamInferResponse* write = nullptr;
  bool finish = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    if (!broken_) {
      pending_.push_back(std::move(response));  // deque: references to the front stay valid
      if (!writing_) {
        writing_ = true;
        write = &pending_.front();
      }
    }
    finish = ready_to_finish_locked();
  }
  // Started outside the lock: a reaction may run on another thread before this returns.
  if (write) StartWrite(write);
  if (finish) Finish(::grpc::Status::OK);
}

void StreamInferReactor::OnWriteDone(bool ok) {
  const inference::ModelStreamInferResponse* write = nullptr;
  bool finish = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.pop_front();
    writing_ = false;
    if (!ok) {
      broken_ = true;
      pending_.clear();
    } else if (!pending_.empty()) {
      writing_ = true;
      write = &pending_.front();
    }
    finish = ready_to_finish_locked();
  }
  if (write) StartWrite(write);
  if (finish) Finish(::grpc::Status::OK);
}

bool StreamInferReactor::ready_to_finish_locked() {
  if (finished_ || !reads_done_ || in_flight_ > 0 || writing_ || !pending_.empty()) return false;
  finished_ = true;
  return true;
}

void StreamInferReactor::OnDone() {
  { std::lock_guard<std::mutex> lock(mu_); }  // whoever called Finish has let go of mu_
  delete this;
}

}  // namespace nalar::serving::kserve_grpc
