#include "cli/model_dir.h"

#include <filesystem>

namespace nalar::cli {

namespace fs = std::filesystem;

Result<std::string> model_file_in_dir(const std::string& dir) {
  std::error_code ec;
  int64_t best = -1;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.size() > 18 || name[0] == '0' || !e.is_directory(ec)) continue;
    bool digits = true;
    for (char c : name) digits = digits && c >= '0' && c <= '9';
    if (!digits) continue;
    const int64_t v = std::stoll(name);
    if (v > best && fs::exists(e.path() / "model.onnx", ec)) best = v;
  }
  if (ec) return invalid_argument("cannot read model folder '" + dir + "': " + ec.message());
  if (best > 0) return (fs::path(dir) / std::to_string(best) / "model.onnx").string();
  if (fs::exists(fs::path(dir) / "model.onnx", ec)) return (fs::path(dir) / "model.onnx").string();
  return not_found("model folder '" + dir + "' has no <version>/model.onnx");
}

}  // namespace nalar::cli
