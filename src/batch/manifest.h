// The manifest: which chunks of a job are committed, so that a job killed at any moment (kill -9,
// a lost machine) resumes where it stopped. Chunk files are written under a temporary name,
// fsynced and renamed before the manifest that lists them is replaced the same way, so a manifest
// only ever names complete chunks. After the job, the final output's own manifest
// (<output>.manifest.json) keeps where each chunk sits in it, which is what `merge` needs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nalar/status.h"

namespace nalar::batch {

struct ChunkRecord {
  uint32_t source = 0;
  int64_t index = 0;  // chunk k of the source
  int64_t rows_read = 0, predicted = 0, failed = 0;
  int64_t out_offset = 0, out_bytes = 0;  // final output: where its rows sit (after the header)
  int64_t err_offset = 0, err_bytes = 0;  // errors file
};

struct Manifest {
  std::string job;  // the job's identity (model, inputs, format, chunking), as JSON text
  std::string shard = "0/1";
  std::string output_format;  // csv | jsonl | npy
  std::string header;         // CSV: the header line; npy: "<descr> <row dims>", e.g. "<f4 2"
  bool complete = false;
  std::string errors;  // final manifests: the errors file's path
  std::vector<ChunkRecord> chunks;

  int64_t rows_read() const;
  int64_t predicted() const;
  int64_t failed() const;
};

// Writes `bytes` to `path` atomically and durably: temporary file, fsync, rename, fsync folder.
Status write_file_atomic(const std::string& path, const std::string& bytes);
// fsyncs a folder so that renames inside it survive a power loss.
Status sync_dir(const std::string& dir);

Status save_manifest(const std::string& path, const Manifest& m);
Result<Manifest> load_manifest(const std::string& path);

}  // namespace nalar::batch
