#include "batch/input_set.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace nalar::batch {

namespace fs = std::filesystem;

const char* format_name(InputFormat f) {
  switch (f) {
    case InputFormat::kCsv:
      return "csv";
    case InputFormat::kJsonl:
      return "jsonl";
    case InputFormat::kNpy:
      return "npy";
    case InputFormat::kImages:
      return "images";
  }
  return "?";
}

Result<InputFormat> parse_format(const std::string& name) {
  if (name == "csv") return InputFormat::kCsv;
  if (name == "jsonl" || name == "ndjson") return InputFormat::kJsonl;
  if (name == "npy") return InputFormat::kNpy;
  if (name == "images" || name == "image") return InputFormat::kImages;
  return invalid_argument("--format must be csv, jsonl, npy or images, got '" + name + "'");
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The format a file name says, or "" when it says none.
std::string format_of(const std::string& path) {
  std::string name = lower(fs::path(path).filename().string());
  if (name.size() > 3 && name.ends_with(".gz")) name.resize(name.size() - 3);
  if (name.ends_with(".csv")) return "csv";
  if (name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json"))
    return "jsonl";
  if (name.ends_with(".npy")) return "npy";
  for (const char* ext : {".jpg", ".jpeg", ".png"})
    if (name.ends_with(ext)) return "images";
  return "";
}

}  // namespace

Result<InputSet> expand_inputs(const std::string& path_or_glob, const std::string& format) {
  std::vector<std::string> paths;
  std::error_code ec;
  if (fs::is_directory(path_or_glob, ec)) {
    for (auto it = fs::recursive_directory_iterator(path_or_glob, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const std::string p = it->path().string();
      const std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.') continue;  // hidden files: editors' and OS droppings
      // In a folder only files of a recognised format are rows; others (READMEs) are not.
      if (format_of(p).empty()) continue;
      paths.push_back(p);
    }
    if (ec) return invalid_argument("cannot list '" + path_or_glob + "': " + ec.message());
  } else if (fs::is_regular_file(path_or_glob, ec)) {
    paths.push_back(path_or_glob);
  } else {
    glob_t g{};
    int rc = glob(path_or_glob.c_str(), GLOB_NOSORT, nullptr, &g);
    if (rc == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i)
        if (fs::is_regular_file(g.gl_pathv[i], ec)) paths.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    if (paths.empty()) return not_found("--input '" + path_or_glob + "' matches no file");
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  if (paths.empty()) return not_found("--input '" + path_or_glob + "' holds no input files");

  InputSet set;
  std::string fmt = format;
  if (fmt.empty()) {
    for (const auto& p : paths) {
      std::string f = format_of(p);
      if (f.empty())
        return invalid_argument("cannot tell the format of '" + p +
                                "' from its name; use --format");
      if (!fmt.empty() && f != fmt)
        return invalid_argument("--input mixes formats (" + fmt + " and " + f + " in '" + p +
                                "'); give one format per job");
      fmt = f;
    }
  }
  NALAR_ASSIGN_OR_RETURN(set.format, parse_format(fmt));
  for (const auto& p : paths) {
    auto size = fs::file_size(p, ec);
    if (ec) return not_found("cannot read '" + p + "': " + ec.message());
    set.files.push_back({p, static_cast<int64_t>(size)});
    set.total_bytes += static_cast<int64_t>(size);
  }
  return set;
}

}  // namespace nalar::batch
