// ModelStreamInfer: a bidirectional stream of inference requests. Each request read is queued at
// once (the next read starts while it runs), so a stream's requests batch with each other and
// with everyone else's; each answer (or its error_message, the stream staying open) is written
// as soon as it is ready, one write at a time. The stream finishes OK once the client has closed
// its side and every answer is out; on shutdown, once every request already read is answered
// (requests read later get an error_message; the stream then ends UNAVAILABLE).
#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <mutex>

#include "serving/grpc/grpc_service.pb.h"

namespace nalar::serving::kserve_grpc {

class InferenceServiceImpl;

class StreamInferReactor final
    : public ::grpc::ServerBidiReactor<inference::ModelInferRequest,
                                       inference::ModelStreamInferResponse> {
 public:
  explicit StreamInferReactor(InferenceServiceImpl* service);

  // Server shutdown: requests still running are answered, later ones are refused, and the stream
  // finishes as soon as nothing is left, without waiting for the client to close. Returns true
  // when the caller must call finish() (stream idle); the reactor stays alive until it does.
  bool drain();
  // Finishes the stream: OK when the client had closed its side, else UNAVAILABLE (drained).
  void finish();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

 private:
  void send(inference::ModelStreamInferResponse response);
  // Holds mu_; true (once) when the stream can finish: client done, every answer written.
  bool ready_to_finish_locked();

  InferenceServiceImpl* service_;
  inference::ModelInferRequest request_;  // the read in progress
  std::mutex mu_;
  std::deque<inference::ModelStreamInferResponse> pending_;  // front: being written
  int in_flight_ = 0;                                        // requests read but not answered yet
  bool writing_ = false;
  bool reads_done_ = false;
  bool draining_ = false;
  bool broken_ = false;  // a write failed: the client is gone, answers are dropped
  bool finished_ = false;
};

}  // namespace nalar::serving::kserve_grpc
