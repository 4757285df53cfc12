// Reads a text file record by record: lines for JSON Lines, RFC 4180 records (quoted newlines
// included) for CSV. gzip-compressed files (.gz, or any file starting with the gzip magic) are
// decompressed on the fly by zlib; plain files pass through. Memory: one read buffer, growing only
// for a record longer than it.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "nalar/status.h"

namespace nalar::batch {

class RecordStream {
 public:
  static Result<std::unique_ptr<RecordStream>> open(const std::string& path, bool csv_quoting);
  ~RecordStream();
  RecordStream(const RecordStream&) = delete;
  RecordStream& operator=(const RecordStream&) = delete;

  // The next record without its line break, or false at the end (then status() says whether the
  // end was an error). `line` is the 1-based line where the record starts. The view is valid
  // until the next call.
  bool next(std::string_view* record, int64_t* line);
  const Status& status() const { return status_; }
  // Bytes of the file (compressed) consumed so far, for progress.
  int64_t bytes_read() const;

 private:
  RecordStream() = default;
  bool fill();  // reads more; false at end of file or on error

  gzFile file_ = nullptr;
  std::string path_;
  bool csv_ = false;
  std::string buf_;
  size_t start_ = 0, end_ = 0;  // unconsumed bytes are buf_[start_, end_)
  size_t scanned_ = 0;          // JSONL: no '\n' in buf_[start_, scanned_)
  bool eof_ = false;
  int64_t line_ = 1;
  Status status_;
};

// Static upper limit of one record, so a file without line breaks cannot take all memory.
inline constexpr size_t kMaxRecordBytes = 64u << 20;

}  // namespace nalar::batch
