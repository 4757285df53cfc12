#include "serving/repository.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "serving/log.h"

namespace nalar::serving {

namespace fs = std::filesystem;

namespace {

// Version folders: positive integers; Triton ignores names starting with '0'.
std::vector<int64_t> version_dirs(const fs::path& dir) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory(ec)) continue;
    const std::string n = e.path().filename().string();
    if (n.empty() || n[0] == '0' || n.size() > 18 ||
        !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    out.push_back(std::stoll(n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::string> read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return not_found("cannot read " + p.string());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::vector<std::string> lines;
  std::ifstream f(p);
  std::string line;
  while (std::getline(f, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

std::string stamp(const fs::path& p) {
  std::error_code ec;
  auto t = fs::last_write_time(p, ec);
  if (ec) return "-";
  auto size = fs::is_regular_file(p, ec) ? fs::file_size(p, ec) : 0;
  return std::to_string(t.time_since_epoch().count()) + "/" + std::to_string(size);
}

}  // namespace

Result<ModelControlMode> parse_model_control_mode(const std::string& s) {
  if (s == "none") return ModelControlMode::kNone;
  if (s == "poll") return ModelControlMode::kPoll;
  if (s == "explicit") return ModelControlMode::kExplicit;
  return invalid_argument("--model-control-mode must be none, poll or explicit, got '" + s + "'");
}

ModelRepository::ModelRepository(RepositoryOptions options) : options_(std::move(options)) {}

ModelRepository::~ModelRepository() { unload_all(); }

std::vector<std::string> ModelRepository::scan_names() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(options_.root, ec)) {
    const std::string n = e.path().filename().string();
    if (n.empty() || n[0] == '.' || !e.is_directory(ec)) continue;
    names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

fs::path ModelRepository::config_path(const fs::path& dir) const {
  if (!options_.config_name.empty()) {
    fs::path custom = dir / "configs" / (options_.config_name + ".pbtxt");
    std::error_code ec;
    if (fs::exists(custom, ec)) return custom;
  }
  return dir / "config.pbtxt";
}

std::string ModelRepository::fingerprint(const std::string& name) const {
  const fs::path dir = fs::path(options_.root) / name;
  std::string fp =
      stamp(config_path(dir)) + ";" + stamp(dir / "config.pbtxt") + ";" + stamp(dir / "labels.txt");
  for (int64_t v : version_dirs(dir)) {
    const fs::path vd = dir / std::to_string(v);
    fp += ";" + std::to_string(v) + "=" + stamp(vd);
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(vd, ec)) fp += "," + stamp(e.path());
  }
  return fp;
}

Status ModelRepository::load_startup() {
  std::error_code ec;
  if (!fs::is_directory(options_.root, ec))
    return not_found("model repository '" + options_.root + "' is not a folder");
  std::vector<std::string> names;
  if (options_.mode == ModelControlMode::kExplicit) {
    for (const auto& m : options_.startup_models) {
      if (m == "*") {
        names = scan_names();
        break;
      }
      names.push_back(m);
    }
  } else {
    names = scan_names();
  }
  std::lock_guard<std::mutex> lock(load_mu_);
  for (const auto& n : names) {
    Status st = load_locked(n);
    if (!st.is_ok()) log_error("failed to load '" + n + "': " + st.message());
  }
  return Status::ok();
}

Status ModelRepository::load(const std::string& name, bool from_api,
                             const ModelConfig* config_override) {
  if (from_api && options_.mode != ModelControlMode::kExplicit)
    return invalid_argument(
        "explicit model load / unload is not allowed unless "
        "--model-control-mode=explicit");
  std::lock_guard<std::mutex> lock(load_mu_);
  return load_locked(name, config_override);
}

Status ModelRepository::load_locked(const std::string& name, const ModelConfig* config_override) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    return invalid_argument("invalid model name '" + name + "'");
  const fs::path dir = fs::path(options_.root) / name;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return not_found("model '" + name + "' is not in the model repository");

  auto fail = [&](const Status& st) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = models_[name];
    e.reason = st.message();
    if (e.versions.empty()) e.state = "UNAVAILABLE";  // a failed reload keeps the old versions
    return st;
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = models_[name];
    if (e.versions.empty()) e.state = "LOADING";
  }
  const std::string fp = fingerprint(name);

  ModelConfig config;
  std::vector<std::string> warnings;
  const fs::path config_file = config_path(dir);
  const bool generated = !config_override && !fs::exists(config_file, ec);
  if (config_override) {
    config = *config_override;
  } else if (!generated) {
    auto text = read_file(config_file);
    if (!text.is_ok()) return fail(text.status());
    auto parsed = parse_model_config(*text, &warnings);
    if (!parsed.is_ok()) return fail(parsed.status());
    config = std::move(parsed).value();
  }
  if (!config.name().empty() && config.name() != name)
    warnings.push_back("config name '" + config.name() + "' differs from the folder; using '" +
                       name + "'");
  config.set_name(name);

  // Version policy.
  std::vector<int64_t> present = version_dirs(dir);
  std::vector<int64_t> chosen;
  const auto& policy = config.version_policy();
  if (policy.has_all()) {
    chosen = present;
  } else if (policy.has_specific()) {
    for (int64_t v : policy.specific().versions()) {
      if (std::find(present.begin(), present.end(), v) != present.end())
        chosen.push_back(v);
      else
        warnings.push_back("version " + std::to_string(v) + " named by version_policy is missing");
    }
  } else {
    size_t n = policy.has_latest() && policy.latest().num_versions() > 0
                   ? policy.latest().num_versions()
                   : 1;
    for (size_t i = present.size(); i > 0 && chosen.size() < n; --i)
      chosen.push_back(present[i - 1]);
  }
  std::sort(chosen.begin(), chosen.end());
  for (const auto& w : warnings) log_warning("model '" + name + "': " + w);
  warnings.clear();
  if (chosen.empty()) return fail(not_found("model '" + name + "' has no version to load"));

  // Labels for classification: the first output's label_filename, else labels.txt.
  std::vector<std::string> labels;
  std::string label_file = "labels.txt";
  for (const auto& o : config.output())
    if (!o.label_filename().empty()) {
      label_file = o.label_filename();
      break;
    }
  if (fs::exists(dir / label_file, ec)) labels = read_lines(dir / label_file);

  const std::string file =
      config.default_model_filename().empty() ? "model.onnx" : config.default_model_filename();
  std::map<int64_t, std::shared_ptr<ModelVersion>> loaded;
  Status first_error;
  for (int64_t v : chosen) {
    const fs::path path = dir / std::to_string(v) / file;
    auto mv = ModelVersion::load(path.string(), v, config, generated, labels,
                                 options_.session_options, &warnings);
    for (const auto& w : warnings)
      log_warning("model '" + name + "' version " + std::to_string(v) + ": " + w);
    warnings.clear();
    if (!mv.is_ok()) {
      Status st = mv.status().with_context("version " + std::to_string(v));
      log_error("model '" + name + "': " + st.message());
      if (first_error.is_ok()) first_error = st;
      continue;
    }
    loaded[v] = std::move(mv).value();
  }
  if (loaded.empty()) return fail(first_error);

  std::map<int64_t, std::shared_ptr<ModelVersion>> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = models_[name];
    old.swap(e.versions);
    e.versions = std::move(loaded);
    e.state = "READY";
    e.reason.clear();
    e.fingerprint = fp;
  }
  std::string vs;
  for (int64_t v : chosen) vs += (vs.empty() ? "" : ",") + std::to_string(v);
  log_info("loaded model '" + name + "' version(s) " + vs);
  old.clear();  // drains the replaced versions' queues (requests holding them finish there)
  return Status::ok();
}

Status ModelRepository::unload(const std::string& name, bool from_api) {
  if (from_api && options_.mode != ModelControlMode::kExplicit)
    return invalid_argument(
        "explicit model load / unload is not allowed unless "
        "--model-control-mode=explicit");
  std::lock_guard<std::mutex> load_lock(load_mu_);
  std::map<int64_t, std::shared_ptr<ModelVersion>> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end()) return not_found("model '" + name + "' is not loaded");
    old.swap(it->second.versions);
    it->second.state = "UNAVAILABLE";
    it->second.reason = "unloaded";
    it->second.fingerprint.clear();
  }
  old.clear();  // the last owner of each version returns its memory (ReleaseMemoryOnDestroy)
  log_info("unloaded model '" + name + "'");
  return Status::ok();
}

void ModelRepository::poll() {
  std::vector<std::string> names = scan_names();
  std::set<std::string> on_disk(names.begin(), names.end());
  std::vector<std::string> to_load, to_unload;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& n : names) {
      auto it = models_.find(n);
      if (it == models_.end() || it->second.fingerprint != fingerprint(n)) to_load.push_back(n);
    }
    for (const auto& [n, e] : models_)
      if (!on_disk.count(n) && !e.versions.empty()) to_unload.push_back(n);
  }
  for (const auto& n : to_load) {
    std::lock_guard<std::mutex> lock(load_mu_);
    Status st = load_locked(n);
    if (!st.is_ok()) {
      log_error("poll: failed to load '" + n + "': " + st.message());
      std::lock_guard<std::mutex> l2(mu_);
      models_[n].fingerprint = fingerprint(n);  // do not retry until something changes
    }
  }
  for (const auto& n : to_unload) (void)unload(n, false);
}

void ModelRepository::unload_all() {
  std::lock_guard<std::mutex> load_lock(load_mu_);
  std::map<std::string, Entry> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old.swap(models_);
  }
  old.clear();
}

Result<std::shared_ptr<ModelVersion>> ModelRepository::get(const std::string& name,
                                                           int64_t version) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end() || it->second.versions.empty())
    return not_found("unknown model: '" + name + "'" +
                     (it == models_.end() ? "" : " is not ready"));
  if (version < 0) return it->second.versions.rbegin()->second;
  auto v = it->second.versions.find(version);
  if (v == it->second.versions.end())
    return not_found("unknown version " + std::to_string(version) + " of model '" + name + "'");
  return v->second;
}

std::vector<std::shared_ptr<ModelVersion>> ModelRepository::versions(
    const std::string& name) const {
  std::vector<std::shared_ptr<ModelVersion>> out;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(name);
  if (it != models_.end())
    for (const auto& [v, m] : it->second.versions) out.push_back(m);
  return out;
}

std::vector<std::shared_ptr<ModelVersion>> ModelRepository::all_versions() const {
  std::vector<std::shared_ptr<ModelVersion>> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [n, e] : models_)
    for (const auto& [v, m] : e.versions) out.push_back(m);
  return out;
}

std::vector<ModelIndexEntry> ModelRepository::index(bool ready_only) const {
  std::vector<std::string> names = scan_names();
  std::vector<ModelIndexEntry> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [n, e] : models_)
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    auto it = models_.find(n);
    if (it != models_.end() && !it->second.versions.empty()) {
      for (const auto& [v, m] : it->second.versions)
        out.push_back({n, std::to_string(v), "READY", ""});
      continue;
    }
    if (ready_only) continue;
    if (it == models_.end())
      out.push_back({n, "", "UNAVAILABLE", "unloaded"});
    else
      out.push_back({n, "", it->second.state, it->second.reason});
  }
  return out;
}

}  // namespace nalar::serving
