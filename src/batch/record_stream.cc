#include "batch/record_stream.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "batch/row_parse.h"

namespace nalar::batch {

namespace {
constexpr size_t kReadBlock = 1 << 20;
}

Result<std::unique_ptr<RecordStream>> RecordStream::open(const std::string& path,
                                                         bool csv_quoting) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr)
    return not_found("cannot open '" + path + "': " + std::strerror(errno ? errno : ENOENT));
  gzbuffer(f, 256 << 10);
  std::unique_ptr<RecordStream> s(new RecordStream());
  s->file_ = f;
  s->path_ = path;
  s->csv_ = csv_quoting;
  s->buf_.resize(kReadBlock * 2);
  return s;
}

RecordStream::~RecordStream() {
  if (file_) gzclose(file_);
}

int64_t RecordStream::bytes_read() const {
  z_off_t off = gzoffset(file_);
  return off < 0 ? 0 : static_cast<int64_t>(off);
}

bool RecordStream::fill() {
  if (eof_ || !status_.is_ok()) return false;
  if (start_ > 0) {  // compact: keep only the unconsumed tail
    std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
    end_ -= start_;
    scanned_ -= std::min(scanned_, start_);
    start_ = 0;
  }
  if (buf_.size() - end_ < kReadBlock) {
    if (buf_.size() >= kMaxRecordBytes + kReadBlock) {
      status_ = invalid_argument("'" + path_ + "' line " + std::to_string(line_) +
                                 ": a record longer than " + std::to_string(kMaxRecordBytes >> 20) +
                                 " MiB");
      return false;
    }
    buf_.resize(buf_.size() * 2);
  }
  int n = gzread(file_, buf_.data() + end_, static_cast<unsigned>(buf_.size() - end_));
  if (n < 0) {
    int err = 0;
    const char* msg = gzerror(file_, &err);
    status_ = invalid_argument("'" + path_ + "': read failed: " + (msg ? msg : "?"));
    return false;
  }
  if (n == 0) {
    // A truncated gzip stream reads as end of data; zlib reports it through gzerror.
    int err = 0;
    const char* msg = gzerror(file_, &err);
    if (err != Z_OK && err != Z_STREAM_END) {
      status_ = invalid_argument("'" + path_ + "': " + (msg ? msg : "decompression failed"));
      return false;
    }
    eof_ = true;
    return false;
  }
  end_ += static_cast<size_t>(n);
  return true;
}

bool RecordStream::next(std::string_view* record, int64_t* line) {
  while (true) {
    std::string_view text(buf_.data(), end_);
    size_t stop;
    if (csv_) {
      stop = find_csv_record_end(text, start_);
    } else {
      const void* nl = std::memchr(buf_.data() + std::max(start_, scanned_), '\n',
                                   end_ - std::max(start_, scanned_));
      stop = nl ? static_cast<size_t>(static_cast<const char*>(nl) - buf_.data())
                : std::string_view::npos;
      if (!nl) scanned_ = end_;
    }
    if (stop != std::string_view::npos) {
      *record = text.substr(start_, stop - start_);
      *line = line_;
      line_ += 1 + (csv_ ? std::count(record->begin(), record->end(), '\n') : 0);
      start_ = stop + 1;
      return true;
    }
    if (!fill()) {
      if (!status_.is_ok() || start_ == end_) return false;
      // The last record has no line break.
      *record = std::string_view(buf_.data() + start_, end_ - start_);
      *line = line_;
      line_ += std::count(record->begin(), record->end(), '\n');
      start_ = end_;
      return true;
    }
  }
}

}  // namespace nalar::batch
