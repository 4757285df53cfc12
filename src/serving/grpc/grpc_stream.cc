#include "serving/grpc/grpc_stream.h"

#include <utility>

#include "serving/grpc/grpc_codec.h"
#include "serving/grpc/grpc_service_impl.h"

namespace nalar::serving::kserve_grpc {

namespace {

inference::ModelStreamInferResponse error_answer(const std::string& message,
                                                 const inference::ModelInferRequest& request) {
  inference::ModelStreamInferResponse out;
  out.set_error_message(message);
  auto* r = out.mutable_infer_response();
  r->set_model_name(request.model_name());
  r->set_model_version(request.model_version());
  r->set_id(request.id());
  return out;
}

}  // namespace

StreamInferReactor::StreamInferReactor(InferenceServiceImpl* service) : service_(service) {
  StartRead(&request_);
  if (service_->add_stream(this)) finish();  // already draining: nothing to do
}

bool StreamInferReactor::drain() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
  return ready_to_finish_locked();
}

void StreamInferReactor::OnReadDone(bool ok) {
  if (!ok) {  // the client closed its side (or went away)
    bool finish = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;  // finish() reads reads_done_ unlocked once finished_ is set
      reads_done_ = true;
      finish = ready_to_finish_locked();
    }
    if (finish) this->finish();
    return;
  }
  inference::ModelInferRequest request;
  request.Swap(&request_);
  bool draining = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    draining = draining_;
    ++in_flight_;
  }
  if (draining) {  // no more reads: the stream ends once this answer is out
    send(error_answer("the server is shutting down", request));
    return;
  }
  StartRead(&request_);  // the next request is read while this one runs
  // The callback keeps only what an error answer needs, not the request's tensors.
  inference::ModelInferRequest header;
  header.set_model_name(request.model_name());
  header.set_model_version(request.model_version());
  header.set_id(request.id());
  service_->start_infer(request, [this, header = std::move(header)](Result<InferResponse> result) {
    if (!result.is_ok()) return send(error_answer(result.status().message(), header));
    inference::ModelStreamInferResponse out;
    encode_infer_response(*result, out.mutable_infer_response());
    send(std::move(out));
  });
}

void StreamInferReactor::send(inference::ModelStreamInferResponse response) {
  const inference::ModelStreamInferResponse* write = nullptr;
  bool finish = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    if (!broken_ && !finished_) {
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
  if (finish) this->finish();
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
  if (finish) this->finish();
}

bool StreamInferReactor::ready_to_finish_locked() {
  if (finished_ || !(reads_done_ || draining_) || in_flight_ > 0 || writing_ || !pending_.empty())
    return false;
  finished_ = true;
  return true;
}

void StreamInferReactor::finish() {
  // finished_ is set, so nothing changes reads_done_ any more. A stream the server ends while
  // the client still had its side open says so: anything the client sent after the drain began
  // was not run.
  if (reads_done_) return Finish(::grpc::Status::OK);
  Finish(::grpc::Status(::grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
}

void StreamInferReactor::OnDone() {
  service_->remove_stream(this);
  { std::lock_guard<std::mutex> lock(mu_); }  // whoever called Finish has let go of mu_
  delete this;
}

}  // namespace nalar::serving::kserve_grpc
