#include "batch/shard.h"

#include <charconv>

namespace nalar::batch {

Result<ShardSpec> parse_shard(const std::string& text) {
  const auto bad = [&] {
    return invalid_argument("--shard expects I/N with 0 <= I < N (e.g. 0/4), got '" + text + "'");
  };
  size_t slash = text.find('/');
  if (slash == std::string::npos) return bad();
  ShardSpec s;
  const char* b = text.data();
  auto r1 = std::from_chars(b, b + slash, s.index);
  auto r2 = std::from_chars(b + slash + 1, b + text.size(), s.count);
  if (r1.ec != std::errc() || r1.ptr != b + slash || r2.ec != std::errc() ||
      r2.ptr != b + text.size() || s.count < 1 || s.index < 0 || s.index >= s.count)
    return bad();
  return s;
}

}  // namespace nalar::batch
