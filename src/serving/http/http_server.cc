#include "serving/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/json.h"
#include "serving/log.h"

namespace nalar::serving::http {

namespace {

constexpr uint64_t kListenId = 0;
constexpr uint64_t kEventId = ~uint64_t{0};
constexpr size_t kReadChunk = 64 * 1024;

// The queue whose event loop runs on this thread: pushes from it need no wake-up, since the
// loop drains completions after every round of events.
thread_local const CompletionQueue* tls_loop_queue = nullptr;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string error_body(const std::string& message) {
  json::Writer w;
  w.begin_object().key("error").string(message).end_object();
  return w.take();
}

}  // namespace

struct HttpServer::Loop {
  int epoll_fd = -1;
  std::shared_ptr<CompletionQueue> completions = std::make_shared<CompletionQueue>();
  std::thread thread;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;
  uint64_t next_id = 1;
};

struct HttpServer::Conn {
  Loop* loop = nullptr;
  int fd = -1;
  uint64_t id = 0;
  std::string in;
  std::string out;
  size_t out_off = 0;
  bool busy = false;               // a request is with a handler
  bool close_after_write = false;  // close once `out` is flushed
  bool continue_sent = false;
  size_t need = 0;  // headers parsed: do not re-parse until this many bytes are buffered
  int64_t last_active_ms = 0;
  uint32_t events = 0;
};

void CompletionQueue::push(Done d) {
  std::lock_guard<std::mutex> lock(mu);
  if (closed) return;
  done.push_back(std::move(d));
  // Only the first completion since the loop last drained needs to wake it.
  if (done.size() == 1 && tls_loop_queue != this) {
    uint64_t one = 1;
    ssize_t n = ::write(event_fd, &one, sizeof one);
    (void)n;
  }
}

Responder::~Responder() {
  if (!sent_.load()) {
    HttpResponse r;
    r.status = 500;
    r.body = error_body("internal error: the request was dropped without an answer");
    send(std::move(r));
  }
}

void Responder::send(HttpResponse response) {
  if (sent_.exchange(true)) return;
  const bool close = !keep_alive_ || queue_->stopping.load();
  queue_->push({conn_id_, serialize_response(response, close), close});
}

std::string serialize_response(const HttpResponse& r, bool close) {
  std::string s;
  s.reserve(r.body.size() + 256);
  s += "HTTP/1.1 " + std::to_string(r.status) + " " + status_reason(r.status) + "\r\n";
  if (!r.body.empty() || r.status != 200) s += "Content-Type: " + r.content_type + "\r\n";
  s += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [k, v] : r.headers) s += k + ": " + v + "\r\n";
  if (close) s += "Connection: close\r\n";
  s += "\r\n";
  s += r.body;
  return s;
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { stop(0); }

Status HttpServer::start() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return internal_error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options_.port));
  if (::inet_pton(AF_INET, options_.host.c_str(), &addr.sin_addr) != 1)
    return invalid_argument("invalid listen address '" + options_.host + "'");
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return Status(StatusCode::kUnavailable, "cannot bind " + options_.host + ":" +
                                                std::to_string(options_.port) + ": " +
                                                std::strerror(errno));
  if (::listen(listen_fd_, 1024) != 0)
    return internal_error(std::string("listen: ") + std::strerror(errno));
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);

  int n_loops = options_.io_threads;
  if (n_loops <= 0) n_loops = static_cast<int>(std::min(4u, std::thread::hardware_concurrency()));
  n_loops = std::max(1, n_loops);
  for (int i = 0; i < n_loops; ++i) {
    auto l = std::make_unique<Loop>();
    l->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    l->completions->event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epoll_fd < 0 || l->completions->event_fd < 0)
      return internal_error(std::string("epoll/eventfd: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kEventId;
    ::epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, l->completions->event_fd, &ev);
    if (i == 0) {
      ev.data.u64 = kListenId;
      ::epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, listen_fd_, &ev);
    }
    loops_.push_back(std::move(l));
  }

  for (int i = 0; i < std::max(1, options_.worker_threads); ++i)
    workers_.emplace_back([this] { worker(); });
  for (auto& l : loops_) l->thread = std::thread([this, lp = l.get()] { loop(*lp); });
  return Status::ok();
}

void HttpServer::stop(int drain_timeout_ms) {
  if (loops_.empty() || !loops_[0]->thread.joinable()) return;
  drain_deadline_ms_.store(now_ms() + drain_timeout_ms);
  for (auto& l : loops_) {
    l->completions->stopping.store(true);
    uint64_t one = 1;
    ssize_t n = ::write(l->completions->event_fd, &one, sizeof one);
    (void)n;
  }
  for (auto& l : loops_) l->thread.join();
  {
    std::lock_guard<std::mutex> lock(task_mu_);
    tasks_closed_ = true;
  }
  task_cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  for (auto& l : loops_) {
    {
      std::lock_guard<std::mutex> lock(l->completions->mu);
      l->completions->closed = true;
      ::close(l->completions->event_fd);
      l->completions->event_fd = -1;
      for (int fd : l->completions->adopted) ::close(fd);  // dealt out after its loop ended
      l->completions->adopted.clear();
    }
    ::close(l->epoll_fd);
    l->epoll_fd = -1;
  }
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

void HttpServer::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(task_mu_);
    tasks_.push_back(std::move(task));
  }
  task_cv_.notify_one();
}

void HttpServer::worker() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(task_mu_);
      task_cv_.wait(lock, [this] { return tasks_closed_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

void HttpServer::loop(Loop& l) {
  tls_loop_queue = l.completions.get();
  const bool accepts = &l == loops_[0].get();
  std::vector<epoll_event> events(256);
  int64_t last_sweep = now_ms();
  while (true) {
    int n = ::epoll_wait(l.epoll_fd, events.data(), static_cast<int>(events.size()), 200);
    if (n < 0 && errno != EINTR) {
      log_error(std::string("epoll_wait: ") + std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[static_cast<size_t>(i)].data.u64;
      const uint32_t ev = events[static_cast<size_t>(i)].events;
      if (id == kListenId) {
        accept_all(l);
      } else if (id == kEventId) {
        uint64_t v;
        while (::read(l.completions->event_fd, &v, sizeof v) > 0) {
        }
      } else {
        auto it = l.conns.find(id);
        if (it == l.conns.end()) continue;
        if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(*it->second);
        it = l.conns.find(id);
        if (it != l.conns.end() && (ev & EPOLLOUT)) on_writable(*it->second);
      }
    }
    drain_completions(l);

    const int64_t now = now_ms();
    if (accepts && accept_paused_until_ms_ > 0 && now >= accept_paused_until_ms_ &&
        listen_fd_ >= 0 && !l.completions->stopping.load()) {
      accept_paused_until_ms_ = 0;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kListenId;
      ::epoll_ctl(l.epoll_fd, EPOLL_CTL_ADD, listen_fd_, &ev);
    }
    if (l.completions->stopping.load()) {
      if (accepts && listen_fd_ >= 0) {
        ::epoll_ctl(l.epoll_fd, EPOLL_CTL_DEL, listen_fd_, nullptr);
        ::close(listen_fd_);
        listen_fd_ = -1;
      }
      std::vector<uint64_t> idle;
      for (auto& [id, c] : l.conns)
        if (!c->busy && c->out_off >= c->out.size()) idle.push_back(id);
      for (uint64_t id : idle) close_conn(l, id);
      if (l.conns.empty() || now >= drain_deadline_ms_.load()) break;
    } else if (now - last_sweep >= 1000) {
      last_sweep = now;
      std::vector<uint64_t> idle;
      for (auto& [id, c] : l.conns)
        if (!c->busy && now - c->last_active_ms > options_.idle_timeout_s * 1000LL)
          idle.push_back(id);
      for (uint64_t id : idle) close_conn(l, id);
    }
  }
  std::vector<uint64_t> all;
  for (auto& [id, c] : l.conns) all.push_back(id);
  for (uint64_t id : all) close_conn(l, id);
}

void HttpServer::accept_all(Loop& l) {
  while (true) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The listener stays readable: without a pause this would spin. Retry in 100 ms.
        log_warning("accept: out of file descriptors or memory; pausing accepts for 100 ms");
        ::epoll_ctl(l.epoll_fd, EPOLL_CTL_DEL, listen_fd_, nullptr);
        accept_paused_until_ms_ = now_ms() + 100;
      }
      return;  // EAGAIN or an error: try again on the next event
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Dealt out in turn: every loop gets its share of the connections.
    Loop& to = *loops_[next_loop_++ % loops_.size()];
    if (&to == &l) {
      adopt(l, fd);
      continue;
    }
    std::lock_guard<std::mutex> lock(to.completions->mu);
    if (to.completions->closed) {
      ::close(fd);
      continue;
    }
    to.completions->adopted.push_back(fd);
    uint64_t v = 1;
    ssize_t n = ::write(to.completions->event_fd, &v, sizeof v);
    (void)n;
  }
}

void HttpServer::adopt(Loop& l, int fd) {
  auto c = std::make_unique<Conn>();
  c->loop = &l;
  c->fd = fd;
  c->id = l.next_id++;
  c->last_active_ms = now_ms();
  c->events = EPOLLIN;
  epoll_event ev{};
  ev.events = c->events;
  ev.data.u64 = c->id;
  ::epoll_ctl(l.epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  l.conns[c->id] = std::move(c);
}

void HttpServer::close_conn(Loop& l, uint64_t id) {
  auto it = l.conns.find(id);
  if (it == l.conns.end()) return;
  ::epoll_ctl(l.epoll_fd, EPOLL_CTL_DEL, it->second->fd, nullptr);
  ::close(it->second->fd);
  l.conns.erase(it);
}

void HttpServer::update_interest(Conn& c) {
  uint32_t want = 0;
  // Stop reading while a request is in flight and the buffer already holds a full next one:
  // a client cannot make the server buffer without bound.
  const size_t cap = options_.max_body_bytes + kMaxHeaderBytes + kReadChunk;
  if (!c.close_after_write && c.in.size() < cap) want |= EPOLLIN;
  if (c.out_off < c.out.size()) want |= EPOLLOUT;
  if (want == c.events) return;
  c.events = want;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c.id;
  ::epoll_ctl(c.loop->epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
}

void HttpServer::on_readable(Conn& c) {
  const uint64_t id = c.id;
  char buf[kReadChunk];
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      c.last_active_ms = now_ms();
      if (static_cast<size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    close_conn(*c.loop, id);  // peer closed or failed: a pending answer is dropped
    return;
  }
  process_input(c);
  flush_or_update(c);
}

// Writes what is pending (which may close the connection), else refreshes the epoll interest.
void HttpServer::flush_or_update(Conn& c) {
  if (c.out_off < c.out.size()) {
    on_writable(c);  // may destroy c
  } else {
    update_interest(c);
  }
}

void HttpServer::queue_error(Conn& c, int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = error_body(message);
  c.out += serialize_response(r, true);
  c.close_after_write = true;
  c.in.clear();
}

void HttpServer::process_input(Conn& c) {
  while (!c.busy && !c.close_after_write && !c.in.empty()) {
    if (c.need > 0 && c.in.size() < c.need) break;
    HttpRequest req;
    ParseResult r = parse_request(c.in, options_.max_body_bytes, &req);
    if (r.state == ParseState::kError) {
      queue_error(c, r.status, r.error);
      break;
    }
    if (r.state == ParseState::kIncomplete) {
      if (r.headers_done) {
        c.need = r.total_needed;
        if (r.expect_continue && !c.continue_sent) {
          c.out += "HTTP/1.1 100 Continue\r\n\r\n";
          c.continue_sent = true;
        }
      }
      break;
    }
    c.in.erase(0, r.consumed);
    c.need = 0;
    c.continue_sent = false;
    c.busy = true;
    const bool keep_alive = req.keep_alive && !c.loop->completions->stopping.load();
    auto responder = std::make_shared<Responder>(c.loop->completions, c.id, keep_alive);
    if (options_.run_inline && options_.run_inline(req)) {
      run_handler(std::move(req), std::move(responder));
    } else {
      post([this, req = std::move(req), responder]() mutable {
        run_handler(std::move(req), std::move(responder));
      });
    }
  }
}

void HttpServer::run_handler(HttpRequest&& req, std::shared_ptr<Responder> responder) {
  try {
    handler_(std::move(req), responder);
  } catch (const std::exception& e) {  // e.g. bad_alloc: answer, keep serving
    HttpResponse r;
    r.status = 500;
    r.body = error_body(std::string("internal error: ") + e.what());
    responder->send(std::move(r));
  }
}

void HttpServer::on_writable(Conn& c) {
  const uint64_t id = c.id;
  while (c.out_off < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      c.last_active_ms = now_ms();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      update_interest(c);
      return;
    }
    close_conn(*c.loop, id);
    return;
  }
  c.out.clear();
  c.out_off = 0;
  if (c.close_after_write && !c.busy) {
    close_conn(*c.loop, id);
    return;
  }
  update_interest(c);
}

void HttpServer::drain_completions(Loop& l) {
  // Until empty: a pipelined request started below may be answered on this thread at once,
  // and such an answer does not wake the loop.
  std::vector<CompletionQueue::Done> done;
  std::vector<int> adopted;
  while (true) {
    done.clear();
    adopted.clear();
    {
      std::lock_guard<std::mutex> lock(l.completions->mu);
      done.swap(l.completions->done);
      adopted.swap(l.completions->adopted);
    }
    for (int fd : adopted) adopt(l, fd);
    if (done.empty()) return;
    drain(l, done);
  }
}

void HttpServer::drain(Loop& l, std::vector<CompletionQueue::Done>& done) {
  for (auto& d : done) {
    auto it = l.conns.find(d.conn_id);
    if (it == l.conns.end()) continue;  // the client went away
    Conn& c = *it->second;
    c.busy = false;
    c.out += d.bytes;
    if (d.close) c.close_after_write = true;
    c.last_active_ms = now_ms();
    if (!c.close_after_write) process_input(c);  // a pipelined request may be waiting
    flush_or_update(c);
  }
}

}  // namespace nalar::serving::http
