#include "batch/manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json.h"

namespace nalar::batch {

namespace fs = std::filesystem;

int64_t Manifest::rows_read() const {
  int64_t n = 0;
  for (const auto& c : chunks) n += c.rows_read;
  return n;
}
int64_t Manifest::predicted() const {
  int64_t n = 0;
  for (const auto& c : chunks) n += c.predicted;
  return n;
}
int64_t Manifest::failed() const {
  int64_t n = 0;
  for (const auto& c : chunks) n += c.failed;
  return n;
}

Status sync_dir(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return internal_error("cannot open folder '" + dir + "': " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return internal_error("fsync '" + dir + "': " + std::strerror(errno));
  return Status::ok();
}

Status write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return internal_error("cannot write '" + tmp + "': " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return internal_error("write '" + tmp + "': " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return internal_error("fsync '" + tmp + "': " + std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return internal_error("rename '" + tmp + "': " + std::strerror(errno));
  return sync_dir(fs::path(path).parent_path().string());
}

Status save_manifest(const std::string& path, const Manifest& m) {
  json::Writer w;
  w.begin_object();
  w.key("version").int64(1);
  w.key("job").raw(m.job);
  w.key("shard").string(m.shard);
  w.key("output_format").string(m.output_format);
  w.key("header").string(m.header);
  w.key("complete").boolean(m.complete);
  w.key("errors").string(m.errors);
  w.key("rows_read").int64(m.rows_read());
  w.key("predicted").int64(m.predicted());
  w.key("failed").int64(m.failed());
  w.key("chunks").begin_array();
  for (const auto& c : m.chunks) {
    w.begin_array();
    for (int64_t v : {static_cast<int64_t>(c.source), c.index, c.rows_read, c.predicted, c.failed,
                      c.out_offset, c.out_bytes, c.err_offset, c.err_bytes})
      w.int64(v);
    w.end_array();
  }
  w.end_array();
  w.end_object();
  std::string text = w.take();
  text.push_back('\n');
  return write_file_atomic(path, text);
}

Result<Manifest> load_manifest(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return not_found("cannot open manifest '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  auto bad = [&](const std::string& why) {
    return invalid_argument("manifest '" + path + "': " + why);
  };
  auto v = json::parse(text);
  if (!v.is_ok()) return bad(v.status().message());
  Manifest m;
  const json::Value* job = v->find("job");
  const json::Value* shard = v->find("shard");
  const json::Value* fmt = v->find("output_format");
  const json::Value* header = v->find("header");
  const json::Value* complete = v->find("complete");
  const json::Value* chunks = v->find("chunks");
  if (!job || !job->is_object() || !shard || !shard->is_string() || !fmt || !fmt->is_string() ||
      !header || !header->is_string() || !complete || !complete->is_bool() || !chunks ||
      !chunks->is_array())
    return bad("missing or mistyped members");
  // Re-serialise the job object canonically so that identities compare as text.
  std::string job_text;
  {
    json::Writer w;
    w.begin_object();
    for (size_t i = 0; i < job->keys.size(); ++i) {
      w.key(job->keys[i]);
      const json::Value& x = job->values[i];
      if (x.is_string())
        w.string(x.str);
      else if (x.is_number())
        w.raw(x.str);
      else if (x.is_bool())
        w.boolean(x.boolean);
      else
        return bad("job member '" + job->keys[i] + "' is not a scalar");
    }
    w.end_object();
    job_text = w.take();
  }
  m.job = job_text;
  m.shard = shard->str;
  m.output_format = fmt->str;
  m.header = header->str;
  m.complete = complete->boolean;
  if (const json::Value* e = v->find("errors"); e && e->is_string()) m.errors = e->str;
  for (const auto& c : chunks->items) {
    if (!c.is_array() || c.items.size() != 9) return bad("a chunk entry is not 9 numbers");
    int64_t x[9];
    for (int i = 0; i < 9; ++i)
      if (!c.items[static_cast<size_t>(i)].get_int64(&x[i]) || x[i] < 0)
        return bad("a chunk entry holds a bad number");
    m.chunks.push_back(
        {static_cast<uint32_t>(x[0]), x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8]});
  }
  return m;
}

}  // namespace nalar::batch
