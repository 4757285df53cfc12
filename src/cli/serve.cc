// nalar serve --model-repository DIR [--http-port 8000] [--grpc-port 8001] [--metrics-port 8002]
//             [--model-control-mode none|poll|explicit] [--load-model M]...
//             [--repository-poll-secs N] [--http-address A] [--http-thread-count N]
//             [--http-max-input-size BYTES] [--threads N] [--grpc-address A]
// Triton's flag names. SIGTERM/SIGINT: stop accepting, finish in-flight requests, exit 0.
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "serving/allocator.h"
#include "serving/grpc/grpc_server.h"
#include "serving/http/http_server.h"
#include "serving/http/kserve_http.h"
#include "serving/http/metrics.h"
#include "serving/log.h"
#include "serving/repository.h"
#include "serving/scheduler.h"

namespace nalar::cli {

namespace {

const char* kHelp =
    "usage: nalar serve --model-repository DIR [--http-port 8000] [--grpc-port 8001]\n"
    "                   [--metrics-port 8002] [--model-control-mode none|poll|explicit]\n"
    "                   [--load-model NAME]... [--repository-poll-secs 15]\n"
    "                   [--http-address 0.0.0.0] [--http-thread-count 4]\n"
    "                   [--http-max-input-size 67108864] [--threads N]\n"
    "                   [--allow-metrics true|false] [--grpc-address 0.0.0.0]\n"
    "Serves the Triton-layout model repository DIR over KServe v2 REST (HTTP/1.1)\n"
    "and gRPC (inference.GRPCInferenceService and grpc.health.v1; --grpc-port 0 turns\n"
    "it off; requests up to --http-max-input-size bytes).\n"
    "Model control: none (load all, no changes), poll (reload on change every\n"
    "--repository-poll-secs), explicit (only --load-model, then the load/unload API;\n"
    "--load-model '*' loads all). SIGTERM or SIGINT drains in-flight requests and exits 0.\n"
    "Prometheus metrics (Triton's names) at GET /metrics on --metrics-port.\n"
    "--http-port 0 picks a free port (logged).\n"
    "--model-config-name NAME: each model reads configs/NAME.pbtxt where it exists,\n"
    "else config.pbtxt (Triton's custom model configurations).\n";

int fail(const std::string& message) {
  std::cerr << "nalar serve: " << message << "\n";
  return 1;
}

}  // namespace

int serve_main(int argc, char** argv) {
  auto args = Args::parse(
      argc, argv,
      {"--model-repository", "--http-port", "--grpc-port", "--metrics-port", "--model-control-mode",
       "--load-model", "--repository-poll-secs", "--http-address", "--http-thread-count",
       "--http-max-input-size", "--threads", "--grpc-address", "--allow-metrics",
       "--model-config-name"},
      {"--help"});
  if (!args.is_ok()) return fail(args.status().message());
  if (args->has("--help")) {
    std::cout << kHelp;
    return 0;
  }
  if (!args->has("--model-repository") || !args->positionals().empty()) {
    std::cerr << kHelp;
    return 2;
  }
  auto http_port = args->get_int("--http-port", 8000, 0);
  auto grpc_port = args->get_int("--grpc-port", 8001, 0);
  auto metrics_port = args->get_int("--metrics-port", 8002, 0);
  auto poll_secs = args->get_int("--repository-poll-secs", 15, 1);
  auto http_threads = args->get_int("--http-thread-count", 4, 1);
  auto max_input = args->get_int("--http-max-input-size", 64 << 20, 1);
  auto threads = args->get_int("--threads", 0, 1);
  for (const auto* r :
       {&http_port, &grpc_port, &metrics_port, &poll_secs, &http_threads, &max_input, &threads})
    if (!r->is_ok()) return fail(r->status().message());
  if (*http_port > 65535) return fail("--http-port must be at most 65535");
  if (*grpc_port > 65535) return fail("--grpc-port must be at most 65535");
  auto mode = serving::parse_model_control_mode(args->get("--model-control-mode", "none"));
  if (!mode.is_ok()) return fail(mode.status().message());
  if (*mode != serving::ModelControlMode::kExplicit && args->has("--load-model"))
    return fail("--load-model needs --model-control-mode=explicit");

  // Signals are taken synchronously by this thread; every thread started below inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  serving::limit_malloc_arenas();
  serving::RepositoryOptions ro;
  ro.root = args->get("--model-repository");
  ro.mode = *mode;
  ro.startup_models = args->all("--load-model");
  ro.session_options.num_threads = *threads;
  ro.config_name = args->get("--model-config-name", "");
  if (ro.config_name.find_first_of(" \t/\\") != std::string::npos || ro.config_name == "." ||
      ro.config_name == "..")
    return fail("--model-config-name '" + ro.config_name +
                "' must be a plain file name without spaces or slashes");
  serving::ModelRepository repo(ro);

  std::atomic<bool> ready{false};
  serving::http::KServeHttpFrontend frontend(&repo, &ready);
  serving::http::HttpServerOptions ho;
  ho.host = args->get("--http-address", "0.0.0.0");
  ho.port = *http_port;
  ho.worker_threads = *http_threads;
  ho.max_body_bytes = static_cast<size_t>(*max_input);
  ho.run_inline = serving::http::KServeHttpFrontend::runs_inline;
  serving::http::HttpServer server(ho, [&frontend](serving::http::HttpRequest&& req,
                                                   std::shared_ptr<serving::http::Responder> out) {
    serving::Scheduler::CallerRunsScope caller_runs;  // cheap unbatched models run right here
    frontend.handle(std::move(req), std::move(out));
  });
  Status st = server.start();
  if (!st.is_ok()) return fail(st.message());
  serving::log_info("HTTP (KServe v2) listening on " + ho.host + ":" +
                    std::to_string(server.port()));
  std::unique_ptr<serving::kserve_grpc::GrpcServer> grpc;
  if (*grpc_port > 0) {
    serving::kserve_grpc::GrpcServerOptions go;
    go.host = args->get("--grpc-address", "0.0.0.0");
    go.port = *grpc_port;
    go.max_message_bytes = static_cast<size_t>(*max_input);
    grpc = std::make_unique<serving::kserve_grpc::GrpcServer>(&repo, &ready, go);
    st = grpc->start();
    if (!st.is_ok()) {
      server.stop(0);
      return fail(st.message());
    }
    serving::log_info("gRPC (KServe v2) listening on " + go.host + ":" +
                      std::to_string(grpc->port()));
  }
  const std::string allow_metrics = args->get("--allow-metrics", "true");
  if (allow_metrics != "true" && allow_metrics != "false") {
    server.stop(0);
    return fail("--allow-metrics must be true or false");
  }
  std::unique_ptr<serving::http::HttpServer> metrics;
  if (allow_metrics == "true") {
    serving::http::HttpServerOptions mo = ho;
    mo.port = *metrics_port;
    mo.worker_threads = 1;
    mo.max_body_bytes = 1 << 16;
    metrics = std::make_unique<serving::http::HttpServer>(
        mo,
        [&repo](serving::http::HttpRequest&& req, std::shared_ptr<serving::http::Responder> out) {
          serving::http::HttpResponse r;
          if (req.path != "/metrics") {
            r.status = 404;
            r.body = "{\"error\":\"not found\"}";
          } else {
            r.content_type = "text/plain; version=0.0.4";
            r.body = serving::http::prometheus_metrics(repo);
          }
          out->send(std::move(r));
        });
    st = metrics->start();
    if (!st.is_ok()) {
      server.stop(0);
      return fail("metrics: " + st.message());
    }
    serving::log_info("metrics listening on " + mo.host + ":" + std::to_string(metrics->port()));
  }

  st = repo.load_startup();
  if (!st.is_ok()) {
    server.stop(0);
    if (grpc) grpc->stop(0);
    if (metrics) metrics->stop(0);
    return fail(st.message());
  }
  ready.store(true);
  if (grpc) grpc->set_serving(true);
  serving::log_info("server ready");

  // Wait for a signal; in poll mode wake up to rescan the repository.
  while (true) {
    timespec ts{};
    ts.tv_sec = *mode == serving::ModelControlMode::kPoll ? *poll_secs : 3600;
    int sig = sigtimedwait(&sigs, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      serving::log_info(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                        ": draining");
      break;
    }
    if (sig < 0 && errno == EAGAIN && *mode == serving::ModelControlMode::kPoll) repo.poll();
  }
  ready.store(false);
  // Both front-ends stop accepting at once and drain their in-flight requests.
  std::thread grpc_stop([&grpc] {
    if (grpc) grpc->stop(30000);
  });
  server.stop(30000);  // finishes in-flight requests, answers them, closes connections
  grpc_stop.join();
  if (metrics) metrics->stop(1000);
  repo.unload_all();
  serving::log_info("stopped");
  return 0;
}

}  // namespace nalar::cli
