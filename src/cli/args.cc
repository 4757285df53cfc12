#include "cli/args.h"

#include <stdexcept>

namespace nalar::cli {

Result<Args> Args::parse(int argc, char** argv, const std::set<std::string>& valued,
                         const std::set<std::string>& switches) {
  Args args;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      args.positionals_.push_back(a);
      continue;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    if (switches.count(name)) {
      if (inline_value) return invalid_argument(name + " takes no value");
      args.values_[name].push_back("true");
    } else if (valued.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argc) return invalid_argument(name + " needs a value");
        value = argv[++i];
      }
      args.values_[name].push_back(value);
    } else {
      return invalid_argument("unknown flag '" + name + "' (see --help)");
    }
  }
  return args;
}

std::string Args::get(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second.back();
}

const std::vector<std::string>& Args::all(const std::string& flag) const {
  static const std::vector<std::string> kEmpty;
  auto it = values_.find(flag);
  return it == values_.end() ? kEmpty : it->second;
}

Result<int> Args::get_int(const std::string& flag, int fallback, int min_value) const {
  if (!has(flag)) return fallback;
  const std::string v = get(flag);
  try {
    size_t used = 0;
    int n = std::stoi(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    if (n < min_value)
      return invalid_argument(flag + " must be at least " + std::to_string(min_value) + ", got " + v);
    return n;
  } catch (const std::exception&) {
    return invalid_argument(flag + " expects a whole number, got '" + v + "'");
  }
}

}  // namespace nalar::cli
