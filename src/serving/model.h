// One loaded version of a model: its session, completed config, labels, statistics and
// scheduler. Held by shared_ptr: requests that hold it finish on this version even after the
// repository has moved on to another one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nalar/session.h"
#include "pipeline/pipeline.h"
#include "serving/allocator.h"
#include "serving/infer_request.h"
#include "serving/model_config.h"
#include "serving/reshape.h"
#include "serving/scheduler.h"

namespace nalar::serving {

class ModelVersion {
 public:
  // Loads <dir>/<version>/<model file> with an already parsed config (completed here when
  // `generated` or partial). `labels` are the lines of the model's labels file, if any.
  static Result<std::shared_ptr<ModelVersion>> load(const std::string& model_path, int64_t version,
                                                    ModelConfig config, bool generated,
                                                    std::vector<std::string> labels,
                                                    const SessionOptions& session_options,
                                                    std::vector<std::string>* warnings);
  ~ModelVersion();

  const std::string& name() const { return config_.name(); }
  int64_t version() const { return version_; }
  // The config clients see: with a pipeline (<model dir>/pipeline.json) its inputs are the
  // pipeline's (one BYTES input for images and texts, one per column for tabular models) and
  // its outputs gain label / probability / index / decision. model_config() is the ONNX model's.
  const ModelConfig& config() const { return public_config_; }
  const ModelConfig& model_config() const { return config_; }
  const pipeline::Pipeline* pipeline() const { return pipeline_.get(); }
  const Session& session() const { return *session_; }
  ModelStats& stats() const { return *stats_; }
  const std::vector<std::string>& labels() const { return labels_; }
  size_t pending() const { return scheduler_->queue_size(); }

  // Validates the request against the config and queues it; `done` gets the response (outputs
  // filtered and post-processed as the request asked) or the reason it failed.
  void infer(InferRequest request, InferCallback done);

  // Checks names, dtypes and shapes of the inputs; returns the batch size (1 when not batching).
  Result<int64_t> validate_inputs(const NamedTensors& inputs) const;

  // Raw examples (images, texts or records, as the pipeline's input kind says) through prepare,
  // the scheduler (batches larger than max_batch_size are split) and the output stage.
  using PredictCallback = std::function<void(Result<std::vector<pipeline::Prediction>>)>;
  void predict(std::vector<std::string> payloads, std::vector<pipeline::Record> records, int top_k,
               PredictCallback done);

 private:
  ModelVersion() = default;
  Status warm_up(const std::string& model_path) const;
  Result<InferResponse> finish(const InferRequest& request, NamedTensors outputs) const;
  // model_pipeline.cc: the pipeline's side of loading and inference.
  Status load_pipeline(const std::string& model_dir);
  void make_public_config();
  // Replaces pipeline-style inputs (BYTES images/texts, named columns) with the model's tensors;
  // tensors that already match the model's inputs pass unchanged.
  Status convert_pipeline_inputs(NamedTensors* inputs) const;
  bool is_pipeline_output(const std::string& name) const;
  // The pipeline outputs the request asks for (every one when it names no outputs), computed
  // from the model's outputs.
  Result<NamedTensors> pipeline_outputs(const InferRequest& request,
                                        const NamedTensors& outputs) const;
  // One forward pass with the config's reshapes applied on the way in and out.
  Result<NamedTensors> run_model(const NamedTensors& inputs) const;

  ReleaseMemoryOnDestroy release_memory_;  // first: runs after every other member is freed
  int64_t version_ = 0;
  ModelConfig config_;
  ModelConfig public_config_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  std::vector<std::string> labels_;
  TensorReshapes reshapes_;
  std::unique_ptr<ModelStats> stats_;
  std::unique_ptr<Scheduler> scheduler_;  // last: stopped (drained) before the rest goes
};

// Top-k classification of a tensor's last dimension (Triton's classification extension):
// strings "value:index" or "value:index:label", one row of k per batch row when batched.
Result<Tensor> classify(const Tensor& scores, int k, bool batched,
                        const std::vector<std::string>& labels);

}  // namespace nalar::serving
