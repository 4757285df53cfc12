// nalar bench MODEL [--batch N] [--threads N] [--warmup W] [--iterations K]
//                   [--shape NAME=D0xD1x...]... [--precision fp32|bf16|int8] [--json]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/json_text.h"
#include "core/dispatch.h"
#include "nalar/session.h"

namespace nalar::cli {

namespace {

const char* kHelp =
    "usage: nalar bench MODEL [--batch N] [--threads N] [--warmup W] [--iterations K]\n"
    "                   [--shape NAME=D0xD1x...]... [--precision fp32|bf16|int8] [--json]\n"
    "Times Session::run on random inputs. A symbolic first dimension takes --batch (default 1),\n"
    "other symbolic dimensions 1, unless --shape gives an input's whole shape. Defaults: all\n"
    "cores, 5 warm-up runs, 50 timed runs. --json prints one object with latency_ms\n"
    "{min,p50,p90,p99,mean}, throughput_per_s and peak_rss_mb. --precision sets the GEMMs'\n"
    "arithmetic (bf16, or int8 dynamic quantisation); inputs and outputs stay float32.\n";

int fail(const std::string& message) {
  std::cerr << "nalar bench: " << message << "\n";
  return 1;
}

Result<Shape> parse_dims(const std::string& text) {
  Shape shape;
  size_t start = 0;
  while (start <= text.size()) {
    size_t x = text.find('x', start);
    std::string part = text.substr(start, x == std::string::npos ? std::string::npos : x - start);
    try {
      size_t used = 0;
      long long d = std::stoll(part, &used);
      if (used != part.size() || d < 0) throw std::invalid_argument(part);
      shape.push_back(d);
    } catch (const std::exception&) {
      return invalid_argument("--shape: '" + text + "' is not of the form D0xD1x... (e.g. 1x3x224x224)");
    }
    if (x == std::string::npos) break;
    start = x + 1;
  }
  return shape;
}

Result<Tensor> random_tensor(DataType dtype, const Shape& shape, std::mt19937& rng) {
  Tensor t = Tensor::create(dtype, shape);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int> small(0, 1);  // valid as ids, masks, indices and flags
  Status st = dispatch_all(dtype, "bench", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.size(); ++i) {
      if constexpr (std::is_same_v<T, std::string>) p[i].assign(1, 'a');
      else if constexpr (std::is_same_v<T, bool>) p[i] = small(rng) != 0;
      else if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) p[i] = T(real(rng));
      else if constexpr (std::is_floating_point_v<T>) p[i] = static_cast<T>(real(rng));
      else if constexpr (std::is_integral_v<T>) p[i] = static_cast<T>(small(rng));
      else p[i] = T(real(rng), 0);
    }
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return t;
}

double percentile(const std::vector<double>& sorted, double q) {
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int bench_main(int argc, char** argv) {
  auto args = Args::parse(
      argc, argv, {"--batch", "--threads", "--warmup", "--iterations", "--shape", "--precision"},
      {"--json", "--help"});
  if (!args.is_ok()) return fail(args.status().message());
  if (args->has("--help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positionals().size() != 1) {
    std::cerr << kHelp;
    return 2;
  }
  auto batch = args->get_int("--batch", 1, 1);
  auto threads = args->get_int("--threads", 0, 1);
  auto warmup = args->get_int("--warmup", 5, 0);
  auto iterations = args->get_int("--iterations", 50, 1);
  for (const auto* r : {&batch, &threads, &warmup, &iterations})
    if (!r->is_ok()) return fail(r->status().message());
  std::map<std::string, Shape> overrides;
  for (const auto& spec : args->all("--shape")) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos) return fail("--shape expects NAME=D0xD1x..., got '" + spec + "'");
    auto dims = parse_dims(spec.substr(eq + 1));
    if (!dims.is_ok()) return fail(dims.status().message());
    overrides[spec.substr(0, eq)] = *dims;
  }

  const std::string path = args->positionals()[0];
  SessionOptions options;
  options.num_threads = *threads;
  auto precision = parse_precision(args->get("--precision", "fp32"));
  if (!precision.is_ok()) return fail("--precision: " + precision.status().message());
  options.precision = *precision;
  auto t0 = std::chrono::steady_clock::now();
  auto session = Session::load(path, options);
  if (!session.is_ok()) return fail(session.status().message());
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  std::mt19937 rng(42);
  NamedTensors inputs;
  for (const auto& in : (*session)->inputs()) {
    Shape shape;
    if (auto it = overrides.find(in.name); it != overrides.end()) {
      shape = it->second;
    } else {
      for (size_t d = 0; d < in.shape.size(); ++d)
        shape.push_back(in.shape[d].is_fixed() ? in.shape[d].value : (d == 0 ? *batch : 1));
    }
    auto t = random_tensor(in.dtype, shape, rng);
    if (!t.is_ok()) return fail("input '" + in.name + "': " + t.status().message());
    inputs.emplace_back(in.name, std::move(t).value());
  }
  for (const auto& [name, s] : overrides)
    if (std::none_of(inputs.begin(), inputs.end(), [&](const auto& p) { return p.first == name; }))
      return fail("--shape names '" + name + "', which is not an input of the model");

  for (int i = 0; i < *warmup; ++i) {
    auto r = (*session)->run(inputs);
    if (!r.is_ok()) return fail(r.status().message());
  }
  std::vector<double> ms;
  for (int i = 0; i < *iterations; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto r = (*session)->run(inputs);
    auto end = std::chrono::steady_clock::now();
    if (!r.is_ok()) return fail(r.status().message());
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  double mean = 0;
  for (double v : ms) mean += v;
  mean /= static_cast<double>(ms.size());
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  const double rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;
  const double throughput = static_cast<double>(*batch) * 1000.0 / mean;

  if (args->has("--json")) {
    std::cout << "{\"model\": " << json_string(path) << ", \"batch\": " << *batch
              << ", \"precision\": \"" << precision_name(*precision) << "\""
              << ", \"threads\": " << (*session)->num_threads()
              << ", \"iterations\": " << *iterations
              << ", \"latency_ms\": {\"min\": " << json_number(sorted.front())
              << ", \"p50\": " << json_number(percentile(sorted, 0.5))
              << ", \"p90\": " << json_number(percentile(sorted, 0.9))
              << ", \"p99\": " << json_number(percentile(sorted, 0.99))
              << ", \"mean\": " << json_number(mean)
              << "}, \"throughput_per_s\": " << json_number(throughput)
              << ", \"peak_rss_mb\": " << json_number(rss_mb)
              << ", \"load_ms\": " << json_number(load_ms) << "}\n";
  } else {
    std::cout << path << ": batch " << *batch << ", " << (*session)->num_threads() << " threads, "
              << *iterations << " runs\n"
              << "  latency ms: min " << sorted.front() << "  p50 " << percentile(sorted, 0.5)
              << "  p90 " << percentile(sorted, 0.9) << "  p99 " << percentile(sorted, 0.99)
              << "  mean " << mean << "\n"
              << "  throughput: " << throughput << " /s   peak RSS: " << rss_mb
              << " MB   load: " << load_ms << " ms\n";
  }
  return 0;
}

}  // namespace nalar::cli
