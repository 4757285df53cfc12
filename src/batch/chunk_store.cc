#include "batch/chunk_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "batch/npy_stream.h"

namespace nalar::batch {

namespace fs = std::filesystem;

namespace {

Status write_all(int fd, std::string_view bytes, const std::string& what) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return internal_error("write '" + what + "': " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

int open_write(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

Status close_synced(int* fd, const std::string& what) {
  if (*fd < 0) return Status::ok();
  int rc = ::fsync(*fd);
  int rc2 = ::close(*fd);
  *fd = -1;
  if (rc != 0 || rc2 != 0) return internal_error("fsync '" + what + "': " + std::strerror(errno));
  return Status::ok();
}

}  // namespace

Status copy_range(int fd_in, int64_t offset, int64_t bytes, int fd_out, const std::string& what) {
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  while (bytes > 0) {
    const size_t want = static_cast<size_t>(std::min<int64_t>(bytes, 1 << 20));
    ssize_t n = ::pread(fd_in, buf.get(), want, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return internal_error("read '" + what + "': " +
                            (n == 0 ? "file shorter than its "
                                      "manifest says"
                                    : std::strerror(errno)));
    NALAR_RETURN_IF_ERROR(
        write_all(fd_out, std::string_view(buf.get(), static_cast<size_t>(n)), what));
    offset += n;
    bytes -= n;
  }
  return Status::ok();
}

ChunkStore::~ChunkStore() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& p : pending_) {
    ::close(p.out_fd);
    ::close(p.err_fd);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void ChunkStore::committer() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping with nothing left
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    busy_ = true;
    const bool failed = !commit_status_.is_ok();
    lock.unlock();
    Status st = failed ? Status::ok() : commit_now(p);
    if (failed) {
      ::close(p.out_fd);
      ::close(p.err_fd);
    }
    lock.lock();
    busy_ = false;
    if (!st.is_ok() && commit_status_.is_ok()) commit_status_ = st;
    cv_.notify_all();
  }
}

Status ChunkStore::wait_commits() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return pending_.empty() && !busy_; });
  return commit_status_;
}

std::string ChunkStore::chunk_path(uint64_t ordinal, const char* ext) const {
  char name[32];
  std::snprintf(name, sizeof(name), "c%08llu.%s", static_cast<unsigned long long>(ordinal), ext);
  return (fs::path(parts_) / name).string();
}

Result<ChunkStore::Start> ChunkStore::open(const std::string& job, const std::string& shard,
                                           bool resume) {
  parts_ = output_ + ".parts";
  const std::string manifest_path = (fs::path(parts_) / "manifest.json").string();
  std::error_code ec;
  fs::remove_all(parts_ + ".removing", ec);  // a finished job's parts, removal interrupted
  manifest_ = Manifest{};
  manifest_.job = job;
  manifest_.shard = shard;
  manifest_.output_format = output_format_name(format_);
  if (fs::exists(parts_, ec)) {
    if (!resume)
      return invalid_argument("'" + parts_ +
                              "' holds an unfinished job; pass --resume to continue "
                              "it, or delete the folder to start again");
    if (fs::exists(manifest_path, ec)) {
      NALAR_ASSIGN_OR_RETURN(Manifest m, load_manifest(manifest_path));
      if (m.job != job || m.shard != shard || m.output_format != manifest_.output_format)
        return invalid_argument("--resume: '" + manifest_path +
                                "' was written by a different job (model, input, format, "
                                "chunking or shard differ):\n  then: " +
                                m.job + " shard " + m.shard + "\n  now:  " + job + " shard " +
                                shard);
      manifest_ = std::move(m);
    }
    // Chunk files past the manifest are leftovers of the interrupted chunk: dropped on reuse.
    return Start::kResumed;
  }
  if (resume && fs::exists(output_ + ".manifest.json", ec)) {
    auto m = load_manifest(output_ + ".manifest.json");
    if (m.is_ok() && m->complete && m->job == job && m->shard == shard) {
      manifest_ = std::move(m).value();
      return Start::kAlreadyComplete;
    }
  }
  fs::create_directories(parts_, ec);
  if (ec) return internal_error("cannot create '" + parts_ + "': " + ec.message());
  // The errors file's folder too, now rather than after hours of work.
  const fs::path errors_dir = fs::path(errors_).parent_path();
  if (!errors_dir.empty()) fs::create_directories(errors_dir, ec);
  if (ec) return internal_error("cannot create '" + errors_dir.string() + "': " + ec.message());
  NALAR_RETURN_IF_ERROR(save_manifest(manifest_path, manifest_));
  return Start::kFresh;
}

Status ChunkStore::begin_chunk(uint64_t ordinal) {
  ordinal_ = ordinal;
  out_bytes_ = err_bytes_ = 0;
  out_fd_ = open_write(chunk_path(ordinal, "out.tmp"));
  err_fd_ = open_write(chunk_path(ordinal, "err.tmp"));
  if (out_fd_ < 0 || err_fd_ < 0)
    return internal_error("cannot write chunk files in '" + parts_ + "': " + std::strerror(errno));
  return Status::ok();
}

Status ChunkStore::write_rows(std::string_view bytes) {
  out_bytes_ += static_cast<int64_t>(bytes.size());
  return write_all(out_fd_, bytes, chunk_path(ordinal_, "out.tmp"));
}

Status ChunkStore::write_errors(std::string_view bytes) {
  err_bytes_ += static_cast<int64_t>(bytes.size());
  return write_all(err_fd_, bytes, chunk_path(ordinal_, "err.tmp"));
}

Status ChunkStore::commit_chunk(ChunkRecord record, const std::string& header) {
  record.out_bytes = out_bytes_;
  record.err_bytes = err_bytes_;
  Pending p{ordinal_, out_fd_, err_fd_, record, header};
  out_fd_ = err_fd_ = -1;
  std::unique_lock lock(mu_);
  if (!thread_.joinable()) thread_ = std::thread([this] { committer(); });
  // At most one chunk waits behind the one being committed: bounded open files and memory.
  cv_.wait(lock, [&] { return pending_.size() < 1 || !commit_status_.is_ok(); });
  if (!commit_status_.is_ok()) {
    ::close(p.out_fd);
    ::close(p.err_fd);
    return commit_status_;
  }
  pending_.push_back(std::move(p));
  cv_.notify_all();
  return Status::ok();
}

Status ChunkStore::commit_now(Pending& p) {
  NALAR_RETURN_IF_ERROR(close_synced(&p.out_fd, chunk_path(p.ordinal, "out.tmp")));
  NALAR_RETURN_IF_ERROR(close_synced(&p.err_fd, chunk_path(p.ordinal, "err.tmp")));
  for (const char* ext : {"out", "err"}) {
    const std::string tmp = chunk_path(p.ordinal, (std::string(ext) + ".tmp").c_str());
    if (::rename(tmp.c_str(), chunk_path(p.ordinal, ext).c_str()) != 0)
      return internal_error("rename '" + tmp + "': " + std::strerror(errno));
  }
  // The chunk files' names are durable before the manifest that lists them.
  NALAR_RETURN_IF_ERROR(sync_dir(parts_));
  ChunkRecord record = p.record;
  if (!manifest_.chunks.empty()) {
    const auto& prev = manifest_.chunks.back();
    record.out_offset = prev.out_offset + prev.out_bytes;
    record.err_offset = prev.err_offset + prev.err_bytes;
  }
  manifest_.chunks.push_back(record);
  if (manifest_.header.empty()) manifest_.header = p.header;
  return save_manifest((fs::path(parts_) / "manifest.json").string(), manifest_);
}

Status ChunkStore::finalize() {
  NALAR_RETURN_IF_ERROR(wait_commits());
  // The output: header, then every chunk in order.
  std::string head = manifest_.header;
  if (format_ == OutputFormat::kNpy) {
    // "<descr> <dims...>": the rows' dtype and shape, or float32 rows when nothing was predicted.
    std::string descr = "<f4";
    Shape shape{manifest_.predicted()};
    if (!head.empty()) {
      size_t sp = head.find(' ');
      descr = head.substr(0, sp);
      while (sp != std::string::npos) {
        size_t next = head.find(' ', sp + 1);
        shape.push_back(std::stoll(head.substr(sp + 1, next - sp - 1)));
        sp = next;
      }
    }
    DataType dt = DataType::kFloat;
    for (DataType t : {DataType::kFloat, DataType::kDouble, DataType::kFloat16, DataType::kInt8,
                       DataType::kInt16, DataType::kInt32, DataType::kInt64, DataType::kUint8,
                       DataType::kUint16, DataType::kUint32, DataType::kUint64, DataType::kBool})
      if (npy_descr(t) == descr) dt = t;
    head = npy_header_bytes(dt, shape);
  }
  struct Target {
    std::string path;
    const char* ext;
    std::string head;
  };
  for (const Target& t : {Target{output_, "out", head}, Target{errors_, "err", ""}}) {
    const std::string tmp = t.path + ".tmp";
    int fd = open_write(tmp);
    if (fd < 0) return internal_error("cannot write '" + tmp + "': " + std::strerror(errno));
    Status st = write_all(fd, t.head, tmp);
    for (size_t i = 0; i < manifest_.chunks.size() && st.is_ok(); ++i) {
      const auto& c = manifest_.chunks[i];
      const std::string src = chunk_path(i, t.ext);
      int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
      if (in < 0) {
        st = internal_error("committed chunk '" + src + "' is missing");
        break;
      }
      st = copy_range(in, 0, std::strcmp(t.ext, "out") == 0 ? c.out_bytes : c.err_bytes, fd, src);
      ::close(in);
    }
    if (st.is_ok()) st = close_synced(&fd, tmp);
    if (fd >= 0) ::close(fd);
    NALAR_RETURN_IF_ERROR(st);
    if (::rename(tmp.c_str(), t.path.c_str()) != 0)
      return internal_error("rename '" + tmp + "': " + std::strerror(errno));
  }
  NALAR_RETURN_IF_ERROR(sync_dir(fs::path(output_).parent_path().string()));
  manifest_.complete = true;
  manifest_.errors = errors_;
  NALAR_RETURN_IF_ERROR(save_manifest(output_ + ".manifest.json", manifest_));
  // Renamed before removal, so that a kill during the removal never leaves a manifest naming
  // chunk files that are gone; a leftover is cleared by the next run.
  const std::string trash = parts_ + ".removing";
  std::error_code ec;
  fs::remove_all(trash, ec);
  if (::rename(parts_.c_str(), trash.c_str()) != 0)
    return internal_error("rename '" + parts_ + "': " + std::strerror(errno));
  fs::remove_all(trash, ec);
  return Status::ok();
}

}  // namespace nalar::batch
