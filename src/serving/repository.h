// The model repository: <root>/<model>/[config.pbtxt] [labels.txt] <version>/model.onnx, with
// Triton's version policies and model control modes. Loading happens outside the lock and the
// new set of versions replaces the old one in one step; requests already holding a version
// finish on it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "serving/model.h"

namespace nalar::serving {

enum class ModelControlMode { kNone, kPoll, kExplicit };

Result<ModelControlMode> parse_model_control_mode(const std::string& s);

struct RepositoryOptions {
  std::string root;
  ModelControlMode mode = ModelControlMode::kNone;
  std::vector<std::string> startup_models;  // explicit mode: --load-model (may be "*")
  SessionOptions session_options;
  // --model-config-name: <model>/configs/<name>.pbtxt is used where it exists, else config.pbtxt.
  std::string config_name;
};

struct ModelIndexEntry {
  std::string name;
  std::string version;  // empty when the model has no loaded version
  std::string state;    // "READY", "UNAVAILABLE", "LOADING"
  std::string reason;
};

class ModelRepository {
 public:
  explicit ModelRepository(RepositoryOptions options);
  ~ModelRepository();

  // Loads what the control mode says to load at start. Fails only if the root is unusable;
  // a model that fails to load is logged and left UNAVAILABLE.
  Status load_startup();
  // (Re)loads a model from disk. `from_api`: refused unless the mode is explicit.
  // `config_override`: a ModelConfig used instead of config.pbtxt (the load API's "config").
  Status load(const std::string& name, bool from_api, const ModelConfig* config_override = nullptr);
  Status unload(const std::string& name, bool from_api);
  // Poll mode: loads new models, reloads changed ones, unloads removed ones.
  void poll();
  // Unloads everything (drains every scheduler).
  void unload_all();

  // version -1: the highest loaded version.
  Result<std::shared_ptr<ModelVersion>> get(const std::string& name, int64_t version) const;
  // All loaded versions of a model, highest last; empty when not loaded.
  std::vector<std::shared_ptr<ModelVersion>> versions(const std::string& name) const;
  std::vector<std::shared_ptr<ModelVersion>> all_versions() const;
  // Every model on disk or loaded, with its state.
  std::vector<ModelIndexEntry> index(bool ready_only) const;

  const RepositoryOptions& options() const { return options_; }

 private:
  struct Entry {
    std::map<int64_t, std::shared_ptr<ModelVersion>> versions;
    std::string state = "UNAVAILABLE";
    std::string reason;
    std::string fingerprint;  // what was on disk when loaded (poll mode change detection)
  };
  Status load_locked(const std::string& name,
                     const ModelConfig* config_override = nullptr);  // holds load_mu_
  std::vector<std::string> scan_names() const;
  std::string fingerprint(const std::string& name) const;
  // The configuration file of the model in `dir` (see RepositoryOptions::config_name).
  std::filesystem::path config_path(const std::filesystem::path& dir) const;

  RepositoryOptions options_;
  std::mutex load_mu_;     // one load/unload at a time
  mutable std::mutex mu_;  // guards models_
  std::map<std::string, Entry> models_;
};

}  // namespace nalar::serving
