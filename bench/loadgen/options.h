// nalar-loadgen's command line.
#pragma once

#include <string>
#include <vector>

#include "nalar/status.h"

namespace nalar::loadgen {

struct Options {
  std::string protocol = "http";  // http | grpc
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string model, version;
  std::vector<std::string> inputs;  // NAME:DATATYPE:DIMS
  std::string format = "json";      // json | binary
  bool binary_output = true;
  std::string body_file;  // a ready request body instead of --input
  long header_length = 0;
  std::string path;  // default /v2/models/<model>[/versions/<v>]/infer
  int concurrency = 1;
  double rate = 0;
  double duration_s = 10;
  double warmup_s = 1;
  int threads = 1;
  int channels = 0;  // gRPC; 0: min(concurrency, 4)
  uint64_t seed = 1;
  bool json = false;
  std::string label;
  std::string dump_body;  // write the HTTP body here and exit
};

extern const char* const kUsage;

Result<Options> parse_options(int argc, char** argv);

}  // namespace nalar::loadgen
