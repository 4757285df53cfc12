#include "loadgen/http_driver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "loadgen/arrivals.h"

namespace nalar::loadgen {

namespace {

constexpr uint64_t kTimerId = ~uint64_t{0};
constexpr auto kDrain = std::chrono::seconds(10);

bool iequals_prefix(const char* p, const char* end, const char* word) {
  for (; *word; ++p, ++word)
    if (p >= end || (*p | 0x20) != *word) return false;
  return true;
}

struct Conn {
  int fd = -1;
  uint64_t id = 0;
  bool in_flight = false;
  bool want_out = false;
  size_t sent = 0;
  Clock::time_point intended;
  std::string in;
};

class Driver {
 public:
  Driver(const HttpTarget& target, const LoadPlan& plan, Recorder& rec)
      : target_(target), plan_(plan), rec_(rec) {}
  ~Driver() {
    for (auto& c : conns_)
      if (c->fd >= 0) ::close(c->fd);
    if (timer_fd_ >= 0) ::close(timer_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  void run(int connections, double rate, uint64_t seed);

 private:
  bool connect_conn(Conn& c);
  void fail(Conn& c, const std::string& what);
  void send_request(Conn& c, Clock::time_point intended);
  void write_more(Conn& c);
  void read_more(Conn& c);
  void set_out_interest(Conn& c, bool want);
  void finish(Conn& c, bool ok, const std::string& what);

  const HttpTarget& target_;
  const LoadPlan& plan_;
  Recorder& rec_;
  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> idle_;
  int in_flight_ = 0;
  std::vector<char> buf_ = std::vector<char>(256 * 1024);
};

bool Driver::connect_conn(Conn& c) {
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(target_.port));
  ::inet_pton(AF_INET, target_.host.c_str(), &addr.sin_addr);
  if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    return false;
  }
  int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = c.id;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev);
  c.want_out = false;
  c.in.clear();
  return true;
}

void Driver::set_out_interest(Conn& c, bool want) {
  if (c.want_out == want) return;
  c.want_out = want;
  epoll_event ev{};
  ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
  ev.data.u64 = c.id;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

// The request failed: count it, close the socket (a fresh one is opened for the next request).
void Driver::fail(Conn& c, const std::string& what) {
  if (c.fd >= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
  }
  if (c.in_flight) finish(c, false, what);
}

void Driver::finish(Conn& c, bool ok, const std::string& what) {
  const auto now = Clock::now();
  if (ok)
    rec_.success(c.intended, now);
  else
    rec_.error(c.intended, what);
  c.in_flight = false;
  --in_flight_;
  idle_.push_back(&c);
}

void Driver::send_request(Conn& c, Clock::time_point intended) {
  c.intended = intended;
  c.in_flight = true;
  ++in_flight_;
  c.sent = 0;
  if (c.fd < 0 && !connect_conn(c)) {
    finish(c, false, std::string("connect: ") + std::strerror(errno));
    return;
  }
  write_more(c);
}

void Driver::write_more(Conn& c) {
  const std::string& req = target_.request;
  while (c.sent < req.size()) {
    ssize_t n = ::send(c.fd, req.data() + c.sent, req.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_out_interest(c, true);
      return;
    } else {
      fail(c, std::string("send: ") + std::strerror(errno));
      return;
    }
  }
  set_out_interest(c, false);
}

void Driver::read_more(Conn& c) {
  while (true) {
    ssize_t n = ::recv(c.fd, buf_.data(), buf_.size(), 0);
    if (n > 0) {
      c.in.append(buf_.data(), static_cast<size_t>(n));
      if (static_cast<size_t>(n) < buf_.size()) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    fail(c,
         n == 0 ? "connection closed by the server" : std::string("recv: ") + std::strerror(errno));
    return;
  }
  size_t head = 0;
  int status = 0;
  long length = -1;
  bool close = false;
  if (!parse_response_head(c.in, &head, &status, &length, &close)) return;
  if (length < 0) {
    fail(c, "response without Content-Length");
    return;
  }
  if (c.in.size() < head + static_cast<size_t>(length)) return;
  if (!c.in_flight) {
    fail(c, "unexpected response");
    return;
  }
  if (status == 200) {
    finish(c, true, "");
  } else {
    finish(c, false,
           "HTTP " + std::to_string(status) + ": " +
               c.in.substr(head, std::min<size_t>(static_cast<size_t>(length), 300)));
  }
  c.in.erase(0, head + static_cast<size_t>(length));
  if (close) fail(c, "");
}

void Driver::run(int connections, double rate, uint64_t seed) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  const bool open = rate > 0;
  for (int i = 0; i < connections; ++i) {
    auto c = std::make_unique<Conn>();
    c->id = static_cast<uint64_t>(i);
    connect_conn(*c);  // failures show up as errors on the first request
    idle_.push_back(c.get());
    conns_.push_back(std::move(c));
  }
  PoissonArrivals arrivals(open ? rate : 1.0, plan_.start, seed);
  Clock::time_point next_arrival = arrivals.next();
  std::deque<Clock::time_point> pending;
  if (open) {
    timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTimerId;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &ev);
  }
  std::vector<epoll_event> events(256);
  while (true) {
    const auto now = Clock::now();
    const bool issuing = now < plan_.window_end;
    if (!issuing && (in_flight_ == 0 || now >= plan_.window_end + kDrain)) break;
    if (open) {
      while (next_arrival <= now && next_arrival < plan_.window_end) {
        pending.push_back(next_arrival);
        next_arrival = arrivals.next();
      }
      while (!pending.empty() && !idle_.empty()) {
        Conn* c = idle_.back();
        idle_.pop_back();
        send_request(*c, pending.front());
        pending.pop_front();
      }
      if (next_arrival < plan_.window_end) {
        itimerspec its{};
        const auto ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(next_arrival.time_since_epoch())
                .count();
        its.it_value.tv_sec = ns / 1000000000;
        its.it_value.tv_nsec = ns % 1000000000;
        ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &its, nullptr);
      }
    } else if (issuing) {
      // Only the connections idle now: one whose connect fails comes back to idle_ and waits
      // for the next turn instead of spinning here.
      std::vector<Conn*> ready;
      ready.swap(idle_);
      for (Conn* c : ready) send_request(*c, Clock::now());
    }
    const auto until = issuing ? plan_.window_end : plan_.window_end + kDrain;
    auto left_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count() + 1;
    if (!open && issuing && !idle_.empty()) left_ms = 1;  // failed connects: retry in 1 ms
    int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                         static_cast<int>(std::max<int64_t>(1, left_ms)));
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[static_cast<size_t>(i)].data.u64;
      if (id == kTimerId) {
        uint64_t v;
        ssize_t r = ::read(timer_fd_, &v, sizeof v);
        (void)r;
        continue;
      }
      Conn& c = *conns_[id];
      if (c.fd < 0) continue;
      const uint32_t ev = events[static_cast<size_t>(i)].events;
      if ((ev & EPOLLOUT) && c.in_flight) write_more(c);
      if (c.fd >= 0 && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_more(c);
    }
  }
  for (auto t : pending) rec_.error(t, "not sent before the end of the run (generator backlog)");
  for (auto& c : conns_)
    if (c->in_flight) rec_.error(c->intended, "no answer within 10 s after the run");
}

}  // namespace

bool parse_response_head(const std::string& buf, size_t* head_len, int* status,
                         long* content_length, bool* close) {
  const size_t end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  *head_len = end + 4;
  *status = 0;
  *content_length = -1;
  *close = false;
  const char* p = buf.data();
  const char* stop = p + end;
  if (end >= 12 && iequals_prefix(p, stop, "http/1.")) *status = std::atoi(p + 9);
  // Header lines: "Name: value".
  for (size_t pos = buf.find('\n'); pos != std::string::npos && pos < end;
       pos = buf.find('\n', pos + 1)) {
    const char* h = p + pos + 1;
    if (iequals_prefix(h, stop, "content-length:")) {
      *content_length = std::strtol(h + 15, nullptr, 10);
    } else if (iequals_prefix(h, stop, "connection:")) {
      const char* v = h + 11;
      while (v < stop && *v == ' ') ++v;
      *close = iequals_prefix(v, stop, "close");
    }
  }
  return true;
}

void run_http_driver(const HttpTarget& target, const LoadPlan& plan, int connections, double rate,
                     uint64_t seed, Recorder& recorder) {
  Driver d(target, plan, recorder);
  d.run(connections, rate, seed);
}

}  // namespace nalar::loadgen
