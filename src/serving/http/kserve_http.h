// The KServe v2 REST endpoints (plus Triton's repository, config, statistics and binary tensor
// extensions) on top of the model repository. Every error answers {"error": "..."} with the
// status Triton uses: 400 bad request, 404 unknown model/version/path, 413 body too large,
// 503 unavailable (queue full, draining), 500 internal.
#pragma once

#include <atomic>
#include <memory>

#include "serving/http/http_server.h"
#include "serving/repository.h"

namespace nalar::serving::http {

inline constexpr const char* kServerName = "nalar";
inline constexpr const char* kServerVersion = "0.1.0";

class KServeHttpFrontend {
 public:
  // `ready` is the server-level readiness (startup done, not draining).
  KServeHttpFrontend(ModelRepository* repository, const std::atomic<bool>* ready)
      : repo_(repository), ready_(ready) {}

  void handle(HttpRequest&& request, std::shared_ptr<Responder> responder);
  // Small inference requests: parsing and queueing them never blocks, so the HTTP server may run
  // them on its I/O thread (HttpServerOptions::run_inline).
  static bool runs_inline(const HttpRequest& request);

 private:
  ModelRepository* repo_;
  const std::atomic<bool>* ready_;
};

int http_status_for(const Status& status);

}  // namespace nalar::serving::http
