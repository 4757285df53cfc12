// nalar batch merge: the N shard outputs of one job become the output a single worker would have
// written. Each shard's <output>.manifest.json says where its chunks sit; chunks are put back in
// input order (source, then chunk index) and copied byte for byte.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "batch/chunk_store.h"
#include "batch/job.h"
#include "batch/manifest.h"
#include "batch/npy_stream.h"
#include "batch/shard.h"

namespace nalar::batch {

namespace fs = std::filesystem;

Result<JobSummary> merge_shards(const std::vector<std::string>& shard_outputs,
                                const std::string& output, const std::string& errors_path) {
  const auto t0 = std::chrono::steady_clock::now();
  if (shard_outputs.empty()) return invalid_argument("merge: no shard outputs given");
  struct Shard {
    std::string path, errors;
    Manifest m;
    ShardSpec spec;
    int64_t data_offset = 0;  // bytes before the first row in the shard's output
  };
  std::vector<Shard> shards;
  for (const auto& p : shard_outputs) {
    Shard s;
    s.path = p;
    NALAR_ASSIGN_OR_RETURN(s.m, load_manifest(p + ".manifest.json"));
    s.errors = s.m.errors.empty() ? p + ".errors.jsonl" : s.m.errors;
    if (!s.m.complete)
      return invalid_argument("merge: shard output '" + p +
                              "' is not complete; finish it with "
                              "--resume first");
    NALAR_ASSIGN_OR_RETURN(s.spec, parse_shard(s.m.shard));
    shards.push_back(std::move(s));
  }
  const Manifest& first = shards[0].m;
  const int64_t n = shards[0].spec.count;
  std::vector<int> seen(static_cast<size_t>(n), 0);
  for (const auto& s : shards) {
    if (s.m.job != first.job || s.m.output_format != first.output_format || s.spec.count != n)
      return invalid_argument("merge: '" + s.path + "' belongs to a different job than '" +
                              shards[0].path + "'");
    if (seen[static_cast<size_t>(s.spec.index)]++)
      return invalid_argument("merge: shard " + s.m.shard + " is given twice");
  }
  for (int64_t i = 0; i < n; ++i)
    if (!seen[static_cast<size_t>(i)])
      return invalid_argument("merge: shard " + std::to_string(i) + "/" + std::to_string(n) +
                              " is missing; its rows would be lost");

  // The header: the same for every shard that predicted rows.
  std::string header;
  for (const auto& s : shards)
    if (s.m.predicted() > 0) header = s.m.header;
  if (header.empty()) header = first.header;
  for (auto& s : shards) {
    if (first.output_format == "npy") {
      NALAR_ASSIGN_OR_RETURN(NpyHeader h, read_npy_header(s.path));
      s.data_offset = h.data_offset;
    } else if (first.output_format == "csv") {
      s.data_offset = static_cast<int64_t>(s.m.header.size());
    }
    if (s.m.predicted() > 0 && s.m.header != header)
      return invalid_argument("merge: shards disagree on the output columns");
  }

  struct Piece {
    uint32_t source;
    int64_t index;
    size_t shard;
    const ChunkRecord* c;
  };
  std::vector<Piece> pieces;
  Manifest merged;
  merged.job = first.job;
  merged.output_format = first.output_format;
  merged.header = header;
  merged.complete = true;
  merged.errors = errors_path;
  for (size_t i = 0; i < shards.size(); ++i)
    for (const auto& c : shards[i].m.chunks) pieces.push_back({c.source, c.index, i, &c});
  std::sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) {
    return a.source != b.source ? a.source < b.source : a.index < b.index;
  });
  for (size_t i = 1; i < pieces.size(); ++i)
    if (pieces[i].source == pieces[i - 1].source && pieces[i].index == pieces[i - 1].index)
      return invalid_argument("merge: two shards hold chunk " + std::to_string(pieces[i].index) +
                              " of source " + std::to_string(pieces[i].source));

  std::string head = header;
  int64_t predicted = 0;
  for (const auto& p : pieces) predicted += p.c->predicted;
  if (first.output_format == "npy") {
    // Rewrite the row count of the shards' header.
    NALAR_ASSIGN_OR_RETURN(NpyHeader h, read_npy_header(shards[0].path));
    Shape shape = h.shape;
    shape[0] = predicted;
    head = npy_header_bytes(h.dtype, shape);
  }
  for (int pass = 0; pass < 2; ++pass) {
    const std::string target = pass == 0 ? output : errors_path;
    const std::string tmp = target + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return internal_error("cannot write '" + tmp + "': " + std::strerror(errno));
    std::vector<int> in(shards.size(), -1);
    Status st;
    if (pass == 0 && ::write(fd, head.data(), head.size()) != static_cast<ssize_t>(head.size()))
      st = internal_error("write '" + tmp + "' failed");
    int64_t offset = 0;
    for (const auto& p : pieces) {
      if (!st.is_ok()) break;
      const Shard& s = shards[p.shard];
      int& f = in[p.shard];
      const std::string src = pass == 0 ? s.path : s.errors;
      if (f < 0) f = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
      if (f < 0) {
        st = not_found("merge: cannot open '" + src + "'");
        break;
      }
      const int64_t off = pass == 0 ? s.data_offset + p.c->out_offset : p.c->err_offset;
      const int64_t len = pass == 0 ? p.c->out_bytes : p.c->err_bytes;
      st = copy_range(f, off, len, fd, src);
      if (pass == 0) {
        ChunkRecord r = *p.c;
        r.out_offset = offset;
        merged.chunks.push_back(r);
      } else {
        merged.chunks[static_cast<size_t>(&p - pieces.data())].err_offset = offset;
      }
      offset += len;
    }
    for (int f : in)
      if (f >= 0) ::close(f);
    if (st.is_ok() && ::fsync(fd) != 0) st = internal_error("fsync '" + tmp + "' failed");
    ::close(fd);
    NALAR_RETURN_IF_ERROR(st);
    if (::rename(tmp.c_str(), target.c_str()) != 0)
      return internal_error("rename '" + tmp + "': " + std::strerror(errno));
  }
  NALAR_RETURN_IF_ERROR(sync_dir(fs::path(output).parent_path().string()));
  NALAR_RETURN_IF_ERROR(save_manifest(output + ".manifest.json", merged));
  JobSummary s;
  s.output = output;
  s.errors = errors_path;
  s.rows_read = merged.rows_read();
  s.predicted = merged.predicted();
  s.failed = merged.failed();
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.peak_rss_mb = peak_rss_mb();
  return s;
}

}  // namespace nalar::batch
