// A tiny flag parser shared by the subcommands: `--name value`, `--name=value`, repeated flags,
// boolean switches and positionals, with errors that say which flag was wrong.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "nalar/status.h"

namespace nalar::cli {

class Args {
 public:
  // `valued` flags take a value; `switches` do not. Anything else starting with "--" is an error.
  static Result<Args> parse(int argc, char** argv, const std::set<std::string>& valued,
                            const std::set<std::string>& switches);

  bool has(const std::string& flag) const { return values_.count(flag) != 0; }
  std::string get(const std::string& flag, const std::string& fallback = "") const;
  const std::vector<std::string>& all(const std::string& flag) const;
  Result<int> get_int(const std::string& flag, int fallback, int min_value) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
};

}  // namespace nalar::cli
