// The model side of a batch job: the session, how rows become its inputs (a pipeline when the
// model directory declares one, else positional features into the model's single input), and how
// its outputs become prediction columns.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "batch/input_set.h"
#include "batch/work_batch.h"
#include "core/json.h"
#include "nalar/session.h"
#include "nalar/status.h"

namespace nalar::batch {

// One prediction column of one row: a scalar, or a fixed-length array (CSV spreads it over
// columns name_0, name_1, ...).
struct PredValue {
  std::vector<Cell> items;  // kJsonLiteral numbers/bools, kJsonString text
  bool is_array = false;
};
// Per predicted row, its prediction columns. The writer reuses one across batches, so its
// vectors and strings keep their capacity: filling it allocates next to nothing.
using PredRows = std::vector<std::vector<PredValue>>;

// Sets a reused cell (keeping its string's capacity).
inline void set_cell(Cell* c, Cell::Kind kind, std::string_view text) {
  c->kind = kind;
  c->text.assign(text);
}

// Turns rows into input tensors. prepare() fills batch->state (every row), ok_rows and inputs;
// a bad row gets its reason in state[i].error and never stops the batch. A non-ok Status means
// the job cannot go on at all (the input does not fit the model), not a bad row.
class RowPreparer {
 public:
  virtual ~RowPreparer() = default;
  virtual Status prepare(WorkBatch* batch) const = 0;
  // Prediction column names, in order.
  virtual std::vector<std::string> prediction_names() const = 0;
  // Per ok row, the prediction columns, from the batch's outputs: *out is resized to the rows.
  virtual Status predictions(const WorkBatch& batch, PredRows* out) const = 0;
  // Whether rows are named records (CSV header names / JSON members are features).
  virtual bool named_columns() const = 0;
};

struct ModelOptions {
  std::string model;  // .onnx file or a repository model directory
  int threads = 0;
  InputFormat format = InputFormat::kCsv;
  std::vector<std::string> keep_columns;
};

class Model {
 public:
  static Result<std::unique_ptr<Model>> load(const ModelOptions& options);

  const Session& session() const { return *session_; }
  const RowPreparer& preparer() const { return *preparer_; }
  const std::string& onnx_path() const { return onnx_path_; }
  // Runs the forward pass for batch->inputs into batch->outputs. When the whole batch fails, rows
  // are retried one at a time so only the rows that fail are marked failed.
  void forward(WorkBatch* batch) const;

 private:
  std::unique_ptr<Session> session_;
  std::unique_ptr<RowPreparer> preparer_;
  std::string onnx_path_;
};

// The preparer for models without a pipeline: positional numeric features into the single input.
Result<std::unique_ptr<RowPreparer>> make_positional_preparer(const Session& session,
                                                              const ModelOptions& options);
// The preparer for a model directory with pipeline.json (named columns, images, text).
Result<std::unique_ptr<RowPreparer>> make_pipeline_preparer(const Session& session,
                                                            const std::string& model_dir,
                                                            const ModelOptions& options);

// Writes `v` as the shortest text that reads back to the same value.
void append_number(std::string* out, float v);
void append_number(std::string* out, double v);
// The kept columns of a JSON Lines object row.
// Writes names.size() cells.
void kept_from_json(const json::Value& object, const std::vector<std::string>& names, Cell* out);
// JSON text of a parsed value (kept columns that are arrays or objects).
std::string json_text(const json::Value& v);

}  // namespace nalar::batch
