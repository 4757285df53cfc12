// The unit that flows through the job's stages: up to --batch-size rows of one chunk, carried from
// the reader through preparation and the forward pass to the writer. Batches never span chunks,
// so a chunk's rows always meet the model in the same groups, whether the job ran straight
// through, was resumed or was sharded (byte-identical output).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nalar/dtype.h"
#include "nalar/session.h"
#include "nalar/tensor.h"

namespace nalar::batch {

// Per source: what its rows look like (CSV header, .npy row layout), shared by every batch of it.
struct SourceInfo {
  std::string path;                 // the file (images: empty; the row's own path is in RawRow)
  std::vector<std::string> header;  // CSV column names
  std::vector<int> kept_index;      // CSV: the header position of each kept column (-1: absent)
  std::vector<int> feature_index;   // CSV, positional models: the columns that are features
  DataType npy_dtype = DataType::kUndefined;
  Shape npy_row_shape;
};

struct RawRow {
  int64_t row = 0;   // 0-based data row within the source (images: the image's index)
  int64_t line = 0;  // 1-based line where a text record starts; 0 for binary rows
  // The record (CSV/JSONL), the file bytes (images), the row bytes (.npy): bytes
  // [offset, offset + size) of the batch's `data` (one buffer per batch, not one per row).
  size_t offset = 0, size = 0;
  std::string path;  // images: the file
};

// A kept input column, ready to be written in either output format.
struct Cell {
  enum class Kind { kText, kJsonString, kJsonLiteral, kMissing };
  Kind kind = Kind::kMissing;
  std::string text;  // kText: a CSV cell; kJsonString: decoded; kJsonLiteral: JSON text
};

struct RowState {
  std::string error;  // non-empty: the row failed and goes to the errors file
};

struct WorkBatch {
  uint64_t seq = 0;            // position in the stream of batches
  uint64_t chunk_ordinal = 0;  // position of its chunk among this shard's chunks
  uint32_t source = 0;
  int64_t chunk_index = 0;  // chunk k of the source: rows [k * chunk_rows, (k+1) * chunk_rows)
  bool first_in_chunk = false;
  bool last_in_chunk = false;
  std::shared_ptr<const SourceInfo> info;
  std::vector<RawRow> rows;
  std::string data;  // the rows' bytes
  std::string_view text(const RawRow& r) const {
    return std::string_view(data).substr(r.offset, r.size);
  }
  int64_t bytes_done = 0;  // input bytes consumed when the batch was read (progress)

  // Prepare: per-row outcome; the rows that made it, in order, and their stacked inputs.
  std::vector<RowState> state;
  // --keep-columns values, keep_count per row (one buffer for the batch).
  std::vector<Cell> kept;
  size_t keep_count = 0;
  Cell* kept_row(size_t row) { return kept.data() + row * keep_count; }
  const Cell* kept_row(size_t row) const { return kept.data() + row * keep_count; }
  std::vector<uint32_t> ok_rows;
  NamedTensors inputs;
  // Clears what a previous prepare left: every row pending, `keep` empty kept cells per row.
  void reset_prepared(size_t keep) {
    state.assign(rows.size(), {});
    keep_count = keep;
    kept.assign(rows.size() * keep, Cell{});
    ok_rows.clear();
    inputs.clear();
  }
  // Forward pass: outputs for ok_rows (dim 0 follows ok_rows).
  NamedTensors outputs;
};

}  // namespace nalar::batch
