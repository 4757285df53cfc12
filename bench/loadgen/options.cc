#include "loadgen/options.h"

#include <cstdlib>

namespace nalar::loadgen {

const char* const kUsage =
    "nalar-loadgen: load generator for KServe v2 servers (HTTP/1.1 keep-alive and gRPC)\n"
    "  --protocol http|grpc     (default http)\n"
    "  --server HOST:PORT       numeric IPv4 (default 127.0.0.1:8000)\n"
    "  --model NAME [--model-version V]\n"
    "  --input NAME:DATATYPE:DIMS   generated tensor, e.g. input:FP32:1x64 (repeatable)\n"
    "  --format json|binary     REST body: JSON tensors or the binary tensor extension\n"
    "  --json-output            binary format: ask for JSON outputs (default binary)\n"
    "  --body FILE [--header-length N]  send this body (N > 0: binary extension header size)\n"
    "  --path PATH              HTTP path (default /v2/models/NAME[/versions/V]/infer)\n"
    "  --concurrency C          connections / calls in flight (default 1)\n"
    "  --rate R                 open loop: Poisson arrivals at R req/s (default closed loop)\n"
    "  --duration S --warmup S  measured seconds (default 10) after warm-up (default 1)\n"
    "  --threads T              HTTP driver threads (default 1)\n"
    "  --channels K             gRPC channels (default min(C, 4))\n"
    "  --seed N --label TEXT --json\n"
    "  --dump-body FILE         write the HTTP request body to FILE, print its header length\n";

namespace {

bool parse_double(const std::string& s, double* out) {
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && end && *end == '\0';
}

}  // namespace

Result<Options> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      o.json = true;
      continue;
    }
    if (a == "--json-output") {
      o.binary_output = false;
      continue;
    }
    if (a == "--help" || a == "-h") return invalid_argument("");
    if (i + 1 >= argc) return invalid_argument("option " + a + " needs a value");
    const std::string v = argv[++i];
    double num = 0;
    const bool is_num = parse_double(v, &num);
    auto need_num = [&](double lo) -> Status {
      if (!is_num || num < lo)
        return invalid_argument(a + " expects a number >= " + std::to_string(lo) + ", got '" + v +
                                "'");
      return Status::ok();
    };
    if (a == "--protocol") {
      if (v != "http" && v != "grpc") return invalid_argument("--protocol must be http or grpc");
      o.protocol = v;
    } else if (a == "--server") {
      const size_t colon = v.rfind(':');
      if (colon == std::string::npos) return invalid_argument("--server expects HOST:PORT");
      o.host = v.substr(0, colon);
      o.port = std::atoi(v.c_str() + colon + 1);
      if (o.port <= 0 || o.port > 65535) return invalid_argument("--server: bad port in " + v);
    } else if (a == "--model") {
      o.model = v;
    } else if (a == "--model-version") {
      o.version = v;
    } else if (a == "--input") {
      o.inputs.push_back(v);
    } else if (a == "--format") {
      if (v != "json" && v != "binary") return invalid_argument("--format must be json or binary");
      o.format = v;
    } else if (a == "--body") {
      o.body_file = v;
    } else if (a == "--header-length") {
      NALAR_RETURN_IF_ERROR(need_num(0));
      o.header_length = static_cast<long>(num);
    } else if (a == "--path") {
      o.path = v;
    } else if (a == "--concurrency") {
      NALAR_RETURN_IF_ERROR(need_num(1));
      o.concurrency = static_cast<int>(num);
    } else if (a == "--rate") {
      NALAR_RETURN_IF_ERROR(need_num(0));
      o.rate = num;
    } else if (a == "--duration") {
      NALAR_RETURN_IF_ERROR(need_num(0.01));
      o.duration_s = num;
    } else if (a == "--warmup") {
      NALAR_RETURN_IF_ERROR(need_num(0));
      o.warmup_s = num;
    } else if (a == "--threads") {
      NALAR_RETURN_IF_ERROR(need_num(1));
      o.threads = static_cast<int>(num);
    } else if (a == "--channels") {
      NALAR_RETURN_IF_ERROR(need_num(1));
      o.channels = static_cast<int>(num);
    } else if (a == "--seed") {
      NALAR_RETURN_IF_ERROR(need_num(0));
      o.seed = static_cast<uint64_t>(num);
    } else if (a == "--label") {
      o.label = v;
    } else if (a == "--dump-body") {
      o.dump_body = v;
    } else {
      return invalid_argument("unknown option " + a);
    }
  }
  if (o.model.empty() && (o.protocol == "grpc" || o.path.empty()))
    return invalid_argument("--model is required (or --path with --body for HTTP)");
  if (o.inputs.empty() && o.body_file.empty())
    return invalid_argument("give the request: --input NAME:DATATYPE:DIMS or --body FILE");
  if (o.protocol == "grpc" && o.inputs.empty())
    return invalid_argument("gRPC mode builds the request from --input specs");
  if (o.threads > o.concurrency) o.threads = o.concurrency;
  if (o.channels == 0) o.channels = std::min(o.concurrency, 4);
  return o;
}

}  // namespace nalar::loadgen
