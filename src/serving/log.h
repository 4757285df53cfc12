// Server log lines on stderr: "2026-11-25T11:00:00Z I message". One mutex keeps lines whole.
#pragma once

#include <string>

namespace nalar::serving {

void log_info(const std::string& message);
void log_warning(const std::string& message);
void log_error(const std::string& message);
void set_log_quiet(bool quiet);  // info lines off (tests)

}  // namespace nalar::serving
