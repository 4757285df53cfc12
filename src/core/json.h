// A small JSON reader and writer (REST requests, pipeline.json, batch JSON Lines). The reader
// builds a DOM, except for object members named in ParseOptions::raw_keys (tensor "data"), whose
// text is only checked and kept as a view, to be decoded straight into a tensor by FlatScalars.
// Untrusted input: every failure is a Status, depth is bounded, nothing is assumed about sizes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nalar/status.h"

namespace nalar::json {

enum class Type { kNull, kBool, kNumber, kString, kArray, kObject, kRaw };

struct Value {
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string str;       // kString: the decoded string; kNumber: the literal as written
  std::string_view raw;  // kRaw: the member's JSON text (a view into the parsed text)
  std::vector<Value> items;
  // kObject members in order: keys[i] names values[i] (two vectors: Value is incomplete here).
  std::vector<std::string> keys;
  std::vector<Value> values;

  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }
  bool is_string() const { return type == Type::kString; }
  bool is_number() const { return type == Type::kNumber; }
  bool is_bool() const { return type == Type::kBool; }
  const Value* find(std::string_view key) const;  // nullptr when absent or not an object
  // Integral numbers only (no fraction/exponent beyond range); false otherwise.
  bool get_int64(int64_t* out) const;
  bool get_uint64(uint64_t* out) const;
};

struct ParseOptions {
  int max_depth = 64;
  std::vector<std::string_view> raw_keys;
};

Result<Value> parse(std::string_view text, const ParseOptions& options = {});

const char* type_name(Type t);

// Walks the scalars of a (possibly nested) JSON array, or a lone scalar, in row-major order.
class FlatScalars {
 public:
  struct Token {
    Type type = Type::kNull;  // kNumber, kString, kBool or kNull
    std::string_view number;  // kNumber: the literal
    std::string string;       // kString: decoded
    bool boolean = false;
  };
  explicit FlatScalars(std::string_view text, int max_depth = 64)
      : s_(text), max_depth_(max_depth) {}
  // Returns true with the next scalar, false at the end or on error (then status() says why).
  bool next(Token* token);
  const Status& status() const { return status_; }

 private:
  bool fail(const std::string& message);
  void skip_ws();
  bool after_close();
  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
  int max_depth_;
  bool started_ = false;
  bool done_ = false;
  bool need_value_ = false;  // after '[' or ','
  Status status_;
};

// Parses a JSON number literal into a double ("NaN", "Infinity", "-Infinity" accepted).
bool number_to_double(std::string_view literal, double* out);

// Appends JSON text with commas placed automatically.
class Writer {
 public:
  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  Writer& key(std::string_view k);
  Writer& string(std::string_view s);
  Writer& int64(int64_t v);
  Writer& uint64(uint64_t v);
  Writer& float64(double v);
  Writer& float32(float v);  // shortest text that reads back as the same float
  Writer& boolean(bool v);
  Writer& null();
  Writer& raw(std::string_view json);  // a complete value already in JSON form
  std::string& str() { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void sep();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

void append_escaped(std::string* out, std::string_view s);

}  // namespace nalar::json
