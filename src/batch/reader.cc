#include "batch/reader.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>

#include "batch/npy_stream.h"
#include "batch/record_stream.h"
#include "batch/row_parse.h"

namespace nalar::batch {

// Tracks the chunk a row falls in and whether this run processes it, and groups processed rows
// into batches that end at batch-size and chunk boundaries.
struct Reader::Cutter {
  Cutter(const ReaderOptions& o, const std::function<bool(WorkBatch&&)>& e) : opt(o), emit(e) {}
  const ReaderOptions& opt;
  const std::function<bool(WorkBatch&&)>& emit;
  uint64_t next_ordinal = 0;  // owned chunks seen so far
  uint64_t next_seq = 0;
  bool stopped = false;  // emit said stop

  // Current chunk.
  uint32_t source = 0;
  int64_t chunk = -1;
  bool active = false;  // owned and not yet committed
  std::unique_ptr<WorkBatch> batch;
  std::shared_ptr<const SourceInfo> info;
  int64_t bytes = 0;
  size_t expected_bytes = 0;  // the last full batch's data size: reserved up front

  // Whether row `row` of `source` is to be processed; opens chunks as rows cross into them.
  bool want(uint32_t src, int64_t row) {
    const int64_t k = row / opt.chunk_rows;
    if (src != source || k != chunk) {
      close_chunk();
      source = src;
      chunk = k;
      active = false;
      if (opt.shard.owns(src, k)) {
        const uint64_t ordinal = next_ordinal++;
        if (ordinal >= opt.skip_chunks) {
          active = true;
          start_batch(ordinal, true);
        }
      }
    }
    return active && !stopped;
  }
  void start_batch(uint64_t ordinal, bool first) {
    batch = std::make_unique<WorkBatch>();
    batch->chunk_ordinal = ordinal;
    batch->source = source;
    batch->chunk_index = chunk;
    batch->first_in_chunk = first;
    batch->info = info;
    batch->rows.reserve(static_cast<size_t>(opt.batch_size));
    batch->data.reserve(expected_bytes);
  }
  // Appends a row whose bytes are `bytes`.
  void add(RawRow&& r, std::string_view bytes) {
    r.offset = batch->data.size();
    r.size = bytes.size();
    batch->data.append(bytes);
    push(std::move(r));
  }
  // Appends a row of `size` bytes to be filled through the returned pointer (before the next add).
  // The caller fills it, then calls push().
  char* add_space(RawRow* r, size_t size) {
    r->offset = batch->data.size();
    r->size = size;
    batch->data.resize(batch->data.size() + size);
    return batch->data.data() + r->offset;
  }
  void push(RawRow&& r) {
    batch->rows.push_back(std::move(r));
    if (static_cast<int64_t>(batch->rows.size()) >= opt.batch_size) {
      // The chunk's last row also closes the chunk, so no empty tail batch is needed.
      const bool chunk_full = (batch->rows.back().row + 1) % opt.chunk_rows == 0;
      if (chunk_full) return close_chunk();
      const uint64_t ordinal = batch->chunk_ordinal;
      flush(false);
      start_batch(ordinal, false);
    }
  }
  void flush(bool last) {
    expected_bytes = std::max(expected_bytes, batch->data.size());
    batch->last_in_chunk = last;
    batch->seq = next_seq++;
    batch->bytes_done = bytes;
    if (!stopped && !emit(std::move(*batch))) stopped = true;
    batch.reset();
  }
  void close_chunk() {
    if (active && batch) flush(true);
    active = false;
  }
};

Status Reader::read_text(uint32_t source, Cutter* cut) {
  const InputFile& file = inputs_.files[source];
  const bool csv = inputs_.format == InputFormat::kCsv;
  NALAR_ASSIGN_OR_RETURN(auto stream, RecordStream::open(file.path, csv));
  auto info = std::make_shared<SourceInfo>();
  info->path = file.path;
  std::string_view rec;
  int64_t line = 0;
  if (csv) {
    // The header: the first non-blank record.
    bool found = false;
    while (stream->next(&rec, &line)) {
      if (!rec.empty() && rec.back() == '\r') rec.remove_suffix(1);
      if (rec.starts_with("\xEF\xBB\xBF")) rec.remove_prefix(3);  // a UTF-8 byte order mark
      if (rec.empty()) continue;
      std::vector<std::string_view> fields;
      std::string scratch;
      Status st = split_csv(rec, &fields, &scratch);
      if (!st.is_ok())
        return invalid_argument("'" + file.path + "' line " + std::to_string(line) +
                                ": bad CSV header: " + st.message());
      for (auto f : fields) info->header.emplace_back(f);
      found = true;
      break;
    }
    if (!found) return stream->status();  // empty file: no rows
    for (const auto& k : options_.keep_columns) {
      int idx = -1;
      for (size_t i = 0; i < info->header.size(); ++i)
        if (info->header[i] == k) idx = static_cast<int>(i);
      info->kept_index.push_back(idx);
    }
    if (!options_.named_columns)
      for (size_t i = 0; i < info->header.size(); ++i) {
        bool kept = false;
        for (int k : info->kept_index) kept |= k == static_cast<int>(i);
        if (!kept) info->feature_index.push_back(static_cast<int>(i));
      }
  }
  cut->info = info;
  int64_t base_bytes = 0;
  for (uint32_t i = 0; i < source; ++i) base_bytes += inputs_.files[i].bytes;
  int64_t row = 0;
  while (stream->next(&rec, &line)) {
    std::string_view r = rec;
    if (!r.empty() && r.back() == '\r') r.remove_suffix(1);
    if (r.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line: no row
    const int64_t this_row = row++;
    if (!cut->want(source, this_row)) {
      if (cut->stopped) return Status::ok();
      continue;
    }
    RawRow raw;
    raw.row = this_row;
    raw.line = line;
    if ((this_row & 1023) == 0) {
      cut->bytes = base_bytes + stream->bytes_read();
      bytes_done_.store(cut->bytes, std::memory_order_relaxed);
    }
    cut->add(std::move(raw), r);
  }
  cut->close_chunk();
  return stream->status();
}

Status Reader::read_npy(uint32_t source, Cutter* cut) {
  const InputFile& file = inputs_.files[source];
  NALAR_ASSIGN_OR_RETURN(NpyHeader h, read_npy_header(file.path));
  if (h.shape.empty())
    return invalid_argument("'" + file.path +
                            "': a 0-d array has no rows; save it with a leading "
                            "row dimension");
  auto info = std::make_shared<SourceInfo>();
  info->path = file.path;
  info->npy_dtype = h.dtype;
  info->npy_row_shape = h.row_shape();
  cut->info = info;
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(file.path.c_str(), "rb"), &std::fclose);
  if (!f) return not_found("cannot open '" + file.path + "'");
  const int64_t rb = h.row_bytes();
  int64_t pos = -1;
  for (int64_t r = 0; r < h.rows(); ++r) {
    if (!cut->want(source, r)) {
      if (cut->stopped) return Status::ok();
      // Jump over the rest of a chunk this run does not process.
      r = (r / options_.chunk_rows + 1) * options_.chunk_rows - 1;
      continue;
    }
    const int64_t at = h.data_offset + r * rb;
    if (pos != at && fseeko(f.get(), at, SEEK_SET) != 0)
      return invalid_argument("'" + file.path + "': seek failed");
    RawRow raw;
    raw.row = r;
    char* dst = cut->add_space(&raw, static_cast<size_t>(rb));
    if (rb > 0 && std::fread(dst, 1, static_cast<size_t>(rb), f.get()) != static_cast<size_t>(rb))
      return invalid_argument("'" + file.path + "': truncated at row " + std::to_string(r));
    pos = at + rb;
    cut->push(std::move(raw));
  }
  cut->close_chunk();
  return Status::ok();
}

Status Reader::read_images(Cutter* cut) {
  cut->info = std::make_shared<SourceInfo>();
  for (size_t i = 0; i < inputs_.files.size(); ++i) {
    const int64_t r = static_cast<int64_t>(i);
    if (!cut->want(0, r)) {
      if (cut->stopped) return Status::ok();
      continue;
    }
    RawRow raw;
    raw.row = r;
    raw.path = inputs_.files[i].path;
    std::string bytes;
    std::ifstream f(raw.path, std::ios::binary);
    if (f) {
      bytes.resize(static_cast<size_t>(inputs_.files[i].bytes));
      f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      bytes.resize(static_cast<size_t>(f.gcount()));
    }
    // An unreadable file is that row's failure, reported by the prepare stage (empty bytes).
    cut->add(std::move(raw), bytes);
  }
  cut->close_chunk();
  return Status::ok();
}

Status Reader::run(const std::function<bool(WorkBatch&&)>& emit) {
  Cutter cut(options_, emit);
  if (inputs_.format == InputFormat::kImages) return read_images(&cut);
  for (uint32_t s = 0; s < inputs_.files.size() && !cut.stopped; ++s) {
    Status st = inputs_.format == InputFormat::kNpy ? read_npy(s, &cut) : read_text(s, &cut);
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

int64_t Reader::known_rows() const {
  auto owned_rows = [&](uint32_t source, int64_t rows) {
    int64_t n = 0;
    for (int64_t k = 0; k * options_.chunk_rows < rows; ++k)
      if (options_.shard.owns(source, k))
        n += std::min(options_.chunk_rows, rows - k * options_.chunk_rows);
    return n;
  };
  if (inputs_.format == InputFormat::kImages)
    return owned_rows(0, static_cast<int64_t>(inputs_.files.size()));
  if (inputs_.format != InputFormat::kNpy) return -1;
  int64_t total = 0;
  for (uint32_t s = 0; s < inputs_.files.size(); ++s) {
    auto h = read_npy_header(inputs_.files[s].path);
    if (!h.is_ok() || h->shape.empty()) return -1;
    total += owned_rows(s, h->rows());
  }
  return total;
}

}  // namespace nalar::batch
