// nalar-loadgen: drives a KServe v2 server over HTTP/1.1 or gRPC, closed or open loop, and
// reports req/s and latency percentiles (text, or JSON with --json).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "loadgen/grpc_driver.h"
#include "loadgen/grpc_request.h"
#include "loadgen/http_body.h"
#include "loadgen/http_driver.h"
#include "loadgen/options.h"
#include "loadgen/report.h"

using namespace nalar::loadgen;

namespace {

int fail(const std::string& m) {
  std::cerr << "nalar-loadgen: " << m << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_options(argc, argv);
  if (!parsed.is_ok()) {
    if (parsed.status().message().empty()) {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << kUsage;
    return fail(parsed.status().message());
  }
  const Options& o = *parsed;

  std::vector<InputTensor> inputs;
  for (size_t i = 0; i < o.inputs.size(); ++i) {
    auto t = generate_input(o.inputs[i], o.seed + i);
    if (!t.is_ok()) return fail(t.status().message());
    inputs.push_back(std::move(t).value());
  }
  HttpBody body;
  if (!o.body_file.empty()) {
    std::ifstream f(o.body_file, std::ios::binary);
    if (!f) return fail("cannot read --body " + o.body_file);
    std::stringstream ss;
    ss << f.rdbuf();
    body.bytes = ss.str();
    body.header_length = static_cast<size_t>(o.header_length);
    if (body.header_length > body.bytes.size())
      return fail("--header-length is larger than the body");
    if (body.header_length > 0) body.content_type = "application/octet-stream";
  } else if (o.format == "binary") {
    body = encode_binary_body(inputs, o.binary_output);
  } else {
    body = encode_json_body(inputs);
  }
  if (!o.dump_body.empty()) {
    std::ofstream f(o.dump_body, std::ios::binary);
    f.write(body.bytes.data(), static_cast<std::streamsize>(body.bytes.size()));
    if (!f) return fail("cannot write " + o.dump_body);
    std::cout << body.header_length << "\n";
    return 0;
  }

  LoadPlan plan;
  plan.concurrency = o.concurrency;
  plan.rate = o.rate;
  plan.threads = o.threads;
  plan.seed = o.seed;
  plan.start = Clock::now() + std::chrono::milliseconds(20);
  plan.window_begin = plan.start + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(o.warmup_s));
  plan.window_end = plan.window_begin + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(o.duration_s));
  Recorder total(plan.window_begin, plan.window_end);
  std::string label = o.label;

  if (o.protocol == "grpc") {
    if (label.empty()) label = "grpc " + o.model + " c=" + std::to_string(o.concurrency);
    auto req = encode_grpc_request(o.model, o.version, inputs);
    run_grpc_driver(o.host + ":" + std::to_string(o.port), req, plan, o.channels, total);
  } else {
    std::string path = o.path;
    if (path.empty()) {
      path = "/v2/models/" + o.model;
      if (!o.version.empty()) path += "/versions/" + o.version;
      path += "/infer";
    }
    if (label.empty()) label = "http " + path + " c=" + std::to_string(o.concurrency);
    HttpTarget target{o.host, o.port,
                      build_http_request(o.host + ":" + std::to_string(o.port), path, body)};
    std::vector<Recorder> recs;
    for (int t = 0; t < o.threads; ++t) recs.emplace_back(plan.window_begin, plan.window_end);
    std::vector<std::thread> threads;
    for (int t = 0; t < o.threads; ++t) {
      // Connections and rate split evenly; the first threads take the remainder.
      const int conns = o.concurrency / o.threads + (t < o.concurrency % o.threads ? 1 : 0);
      const double rate = o.rate * conns / o.concurrency;
      threads.emplace_back([&, t, conns, rate] {
        run_http_driver(target, plan, conns, rate, o.seed * 7919 + static_cast<uint64_t>(t),
                        recs[static_cast<size_t>(t)]);
      });
    }
    for (auto& th : threads) th.join();
    for (auto& r : recs) total.merge(std::move(r));
  }
  Summary s = summarize(total);
  std::cout << (o.json ? format_json(s, label) + "\n" : format_text(s, label));
  return s.requests > 0 ? 0 : 1;
}
