// Errors travel as values: Status for "did it work", Result<T> for "the value, or why not".
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace nalar {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller gave something malformed (bad shape, bad file, bad request)
  kNotFound,         // a named thing (file, model, input) does not exist
  kUnimplemented,    // valid ONNX that Nalar does not support yet
  kResourceExhausted,
  kUnavailable,
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context, e.g. the node or file that failed.
  Status with_context(const std::string& context) const {
    if (is_ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status not_found(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status unimplemented(std::string m) {
  return Status(StatusCode::kUnimplemented, std::move(m));
}
inline Status internal_error(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).is_ok()); }

  bool is_ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace nalar

#define NALAR_CONCAT_INNER(a, b) a##b
#define NALAR_CONCAT(a, b) NALAR_CONCAT_INNER(a, b)

#define NALAR_RETURN_IF_ERROR(expr)           \
  do {                                        \
    ::nalar::Status _nalar_st = (expr);       \
    if (!_nalar_st.is_ok()) return _nalar_st; \
  } while (0)

#define NALAR_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.is_ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

#define NALAR_ASSIGN_OR_RETURN(lhs, expr) \
  NALAR_ASSIGN_OR_RETURN_IMPL(NALAR_CONCAT(_nalar_res_, __LINE__), lhs, expr)
