// A small HTTP/1.1 server: a few epoll threads (I/O loops) each own their connections (read,
// frame, write); the first also accepts and deals new connections out in turn. Handlers run on a
// worker pool (or inline on the I/O loop, see run_inline) and may answer later from any thread
// through their Responder. Keep-alive and pipelining (one request in flight per connection),
// Content-Length bodies, 100-continue, slow clients cost only buffer space.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nalar/status.h"
#include "serving/http/http_parser.h"

namespace nalar::serving::http {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Where finished responses wait for the event loop; outlives the server if a handler does.
struct CompletionQueue {
  struct Done {
    uint64_t conn_id;
    std::string bytes;
    bool close;
  };
  std::mutex mu;
  std::vector<Done> done;
  std::vector<int> adopted;  // accepted sockets handed to this loop by the accepting one
  int event_fd = -1;
  bool closed = false;
  std::atomic<bool> stopping{false};
  void push(Done d);
};

// Answers one request, once, from any thread. Dropping it unanswered sends a 500.
class Responder {
 public:
  Responder(std::shared_ptr<CompletionQueue> queue, uint64_t conn_id, bool keep_alive)
      : queue_(std::move(queue)), conn_id_(conn_id), keep_alive_(keep_alive) {}
  ~Responder();
  void send(HttpResponse response);

 private:
  std::shared_ptr<CompletionQueue> queue_;
  uint64_t conn_id_;
  bool keep_alive_;
  std::atomic<bool> sent_{false};
};

using Handler = std::function<void(HttpRequest&&, std::shared_ptr<Responder>)>;

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  int port = 8000;  // 0: any free port (see HttpServer::port())
  size_t max_body_bytes = 64u << 20;
  int worker_threads = 4;
  int io_threads = 0;        // I/O loops; 0: one per core, at most 4
  int idle_timeout_s = 120;  // connections with nothing in flight are closed after this
  // Requests this accepts run their handler on the I/O thread itself, which saves a hand-off to
  // a worker (a wake-up and two context switches, most of a tiny request's cost). Only for
  // handlers that do not block: e.g. parse a small body and queue an inference.
  std::function<bool(const HttpRequest&)> run_inline;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status start();
  int port() const { return port_; }
  // Stops accepting, lets in-flight requests finish and their responses go out (up to
  // `drain_timeout_ms`), then closes every connection and joins the threads.
  void stop(int drain_timeout_ms = 30000);

 private:
  struct Conn;
  struct Loop;
  void loop(Loop& l);
  void accept_all(Loop& l);
  void adopt(Loop& l, int fd);
  void on_readable(Conn& c);
  void on_writable(Conn& c);
  void process_input(Conn& c);
  void update_interest(Conn& c);
  void flush_or_update(Conn& c);
  void close_conn(Loop& l, uint64_t id);
  void queue_error(Conn& c, int status, const std::string& message);
  void post(std::function<void()> task);
  void run_handler(HttpRequest&& req, std::shared_ptr<Responder> responder);
  void drain_completions(Loop& l);
  void drain(Loop& l, std::vector<CompletionQueue::Done>& done);
  void worker();

  HttpServerOptions options_;
  Handler handler_;
  int port_ = 0;
  int listen_fd_ = -1;  // polled by loops_[0] only
  std::vector<std::unique_ptr<Loop>> loops_;
  size_t next_loop_ = 0;  // where the next accepted connection goes (loops_[0]'s thread only)
  std::vector<std::thread> workers_;
  std::atomic<int64_t> drain_deadline_ms_{0};
  int64_t accept_paused_until_ms_ = 0;  // out of descriptors: stop polling the listener a while

  std::mutex task_mu_;
  std::condition_variable task_cv_;
  std::deque<std::function<void()>> tasks_;
  bool tasks_closed_ = false;
};

// Serialises a response; `close` adds "Connection: close".
std::string serialize_response(const HttpResponse& r, bool close);

}  // namespace nalar::serving::http
