// The HTTP/1.1 load driver: one thread and one epoll set own `connections` keep-alive sockets,
// each with at most one request in flight; the same prebuilt request bytes are sent every time.
#pragma once

#include <string>

#include "loadgen/load_plan.h"
#include "loadgen/recorder.h"

namespace nalar::loadgen {

struct HttpTarget {
  std::string host;  // numeric IPv4 address
  int port = 0;
  std::string request;  // the complete request (see build_http_request)
};

// Runs until plan.window_end, then waits (up to 10 s) for the answers still in flight.
// `rate` is this thread's share of the open-loop rate (0: closed loop).
void run_http_driver(const HttpTarget& target, const LoadPlan& plan, int connections, double rate,
                     uint64_t seed, Recorder& recorder);

// Parses the head of an HTTP/1.1 response: false while incomplete. On success `head_len` is the
// length of the status line and headers (through the blank line), `content_length` the body
// size (-1 when absent), `close` whether the server closes the connection afterwards.
bool parse_response_head(const std::string& buf, size_t* head_len, int* status,
                         long* content_length, bool* close);

}  // namespace nalar::loadgen
