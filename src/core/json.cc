#include "core/json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace nalar::json {

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void append_utf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// Shared scanning primitives over one text; positions are byte offsets.
struct Scanner {
  std::string_view s;
  size_t pos = 0;
  std::string error;

  bool fail(const std::string& m) {
    if (error.empty()) error = m + " at offset " + std::to_string(pos);
    return false;
  }
  void ws() {
    while (pos < s.size() && is_ws(s[pos])) ++pos;
  }
  bool literal(std::string_view word) {
    if (s.substr(pos, word.size()) != word) return fail("invalid literal");
    pos += word.size();
    return true;
  }
  bool hex4(uint32_t* v) {
    if (pos + 4 > s.size()) return fail("truncated \\u escape");
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s[pos++];
      *v <<= 4;
      if (c >= '0' && c <= '9')
        *v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        *v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        *v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return fail("bad hex digit in \\u escape");
    }
    return true;
  }
  // At an opening quote; decodes into *out (may be null to only validate).
  bool string(std::string* out) {
    ++pos;
    while (true) {
      size_t start = pos;
      while (pos < s.size() && s[pos] != '"' && s[pos] != '\\' &&
             static_cast<unsigned char>(s[pos]) >= 0x20)
        ++pos;
      if (out) out->append(s.data() + start, pos - start);
      if (pos >= s.size()) return fail("unterminated string");
      char c = s[pos];
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c != '\\') return fail("control character in string");
      if (++pos >= s.size()) return fail("unterminated escape");
      char e = s[pos++];
      char lit = 0;
      switch (e) {
        case '"':
          lit = '"';
          break;
        case '\\':
          lit = '\\';
          break;
        case '/':
          lit = '/';
          break;
        case 'b':
          lit = '\b';
          break;
        case 'f':
          lit = '\f';
          break;
        case 'n':
          lit = '\n';
          break;
        case 'r':
          lit = '\r';
          break;
        case 't':
          lit = '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(&cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {  // high surrogate: a low one must follow
            uint32_t lo = 0;
            if (pos + 2 > s.size() || s[pos] != '\\' || s[pos + 1] != 'u')
              return fail("lone surrogate in \\u escape");
            pos += 2;
            if (!hex4(&lo)) return false;
            if (lo < 0xdc00 || lo >= 0xe000) return fail("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            return fail("lone surrogate in \\u escape");
          }
          if (out) append_utf8(out, cp);
          continue;
        }
        default:
          return fail("bad escape");
      }
      if (out) out->push_back(lit);
    }
  }
  // A number literal (or NaN / Infinity / -Infinity); returns its text.
  bool number(std::string_view* lit) {
    size_t start = pos;
    if (s.substr(pos, 3) == "NaN") {
      pos += 3;
    } else if (s.substr(pos, 8) == "Infinity") {
      pos += 8;
    } else if (s.substr(pos, 9) == "-Infinity") {
      pos += 9;
    } else {
      if (pos < s.size() && s[pos] == '-') ++pos;
      size_t digits = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
      if (pos == digits) return fail("invalid number");
      if (s[digits] == '0' && pos - digits > 1) return fail("leading zero in number");
      if (pos < s.size() && s[pos] == '.') {
        size_t f = ++pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        if (pos == f) return fail("invalid number");
      }
      if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
        ++pos;
        if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) ++pos;
        size_t f = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        if (pos == f) return fail("invalid number");
      }
    }
    *lit = s.substr(start, pos - start);
    return true;
  }
  // Validates any value without building it.
  bool skip(int depth, int max_depth) {
    ws();
    if (pos >= s.size()) return fail("unexpected end of JSON");
    char c = s[pos];
    if (c == '"') return string(nullptr);
    if (c == '{' || c == '[') {
      if (depth >= max_depth) return fail("JSON nested too deeply");
      char close = c == '{' ? '}' : ']';
      ++pos;
      ws();
      if (pos < s.size() && s[pos] == close) {
        ++pos;
        return true;
      }
      while (true) {
        if (c == '{') {
          ws();
          if (pos >= s.size() || s[pos] != '"') return fail("expected object key");
          if (!string(nullptr)) return false;
          ws();
          if (pos >= s.size() || s[pos] != ':') return fail("expected ':'");
          ++pos;
        }
        if (!skip(depth + 1, max_depth)) return false;
        ws();
        if (pos >= s.size()) return fail("unexpected end of JSON");
        if (s[pos] == ',') {
          ++pos;
          continue;
        }
        if (s[pos] == close) {
          ++pos;
          return true;
        }
        return fail("expected ',' or closing bracket");
      }
    }
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    std::string_view lit;
    return number(&lit);
  }
};

struct Parser {
  Scanner sc;
  const ParseOptions& opt;

  bool value(Value* v, int depth) {
    sc.ws();
    if (sc.pos >= sc.s.size()) return sc.fail("unexpected end of JSON");
    char c = sc.s[sc.pos];
    if (c == '"') {
      v->type = Type::kString;
      return sc.string(&v->str);
    }
    if (c == '{') {
      if (depth >= opt.max_depth) return sc.fail("JSON nested too deeply");
      v->type = Type::kObject;
      ++sc.pos;
      sc.ws();
      if (sc.pos < sc.s.size() && sc.s[sc.pos] == '}') {
        ++sc.pos;
        return true;
      }
      while (true) {
        sc.ws();
        if (sc.pos >= sc.s.size() || sc.s[sc.pos] != '"') return sc.fail("expected object key");
        std::string key;
        if (!sc.string(&key)) return false;
        sc.ws();
        if (sc.pos >= sc.s.size() || sc.s[sc.pos] != ':') return sc.fail("expected ':'");
        ++sc.pos;
        Value member;
        bool raw = false;
        for (auto k : opt.raw_keys) raw = raw || k == key;
        if (raw) {
          sc.ws();
          size_t start = sc.pos;
          if (!sc.skip(depth + 1, opt.max_depth)) return false;
          member.type = Type::kRaw;
          member.raw = sc.s.substr(start, sc.pos - start);
        } else if (!value(&member, depth + 1)) {
          return false;
        }
        v->keys.push_back(std::move(key));
        v->values.push_back(std::move(member));
        sc.ws();
        if (sc.pos >= sc.s.size()) return sc.fail("unexpected end of JSON");
        if (sc.s[sc.pos] == ',') {
          ++sc.pos;
          continue;
        }
        if (sc.s[sc.pos] == '}') {
          ++sc.pos;
          return true;
        }
        return sc.fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      if (depth >= opt.max_depth) return sc.fail("JSON nested too deeply");
      v->type = Type::kArray;
      ++sc.pos;
      sc.ws();
      if (sc.pos < sc.s.size() && sc.s[sc.pos] == ']') {
        ++sc.pos;
        return true;
      }
      while (true) {
        v->items.emplace_back();
        if (!value(&v->items.back(), depth + 1)) return false;
        sc.ws();
        if (sc.pos >= sc.s.size()) return sc.fail("unexpected end of JSON");
        if (sc.s[sc.pos] == ',') {
          ++sc.pos;
          continue;
        }
        if (sc.s[sc.pos] == ']') {
          ++sc.pos;
          return true;
        }
        return sc.fail("expected ',' or ']'");
      }
    }
    if (c == 't' || c == 'f') {
      v->type = Type::kBool;
      v->boolean = c == 't';
      return sc.literal(c == 't' ? "true" : "false");
    }
    if (c == 'n') {
      v->type = Type::kNull;
      return sc.literal("null");
    }
    std::string_view lit;
    if (!sc.number(&lit)) return false;
    v->type = Type::kNumber;
    v->str.assign(lit);
    if (!number_to_double(lit, &v->number)) return sc.fail("invalid number");
    return true;
  }
};

}  // namespace

const char* type_name(Type t) {
  switch (t) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "bool";
    case Type::kNumber:
      return "number";
    case Type::kString:
      return "string";
    case Type::kArray:
      return "array";
    case Type::kObject:
      return "object";
    case Type::kRaw:
      return "value";
  }
  return "?";
}

bool number_to_double(std::string_view lit, double* out) {
  if (lit == "NaN") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (lit == "Infinity" || lit == "-Infinity") {
    *out = lit[0] == '-' ? -std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::infinity();
    return true;
  }
  auto r = std::from_chars(lit.data(), lit.data() + lit.size(), *out);
  if (r.ec == std::errc::result_out_of_range) {  // huge magnitude: saturate like strtod
    *out = lit[0] == '-' ? -std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::infinity();
    return true;
  }
  return r.ec == std::errc() && r.ptr == lit.data() + lit.size();
}

const Value* Value::find(std::string_view key) const {
  if (type != Type::kObject) return nullptr;
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == key) return &values[i];
  return nullptr;
}

bool Value::get_int64(int64_t* out) const {
  if (type != Type::kNumber) return false;
  auto r = std::from_chars(str.data(), str.data() + str.size(), *out);
  return r.ec == std::errc() && r.ptr == str.data() + str.size();
}

bool Value::get_uint64(uint64_t* out) const {
  if (type != Type::kNumber || str.empty() || str[0] == '-') return false;
  auto r = std::from_chars(str.data(), str.data() + str.size(), *out);
  return r.ec == std::errc() && r.ptr == str.data() + str.size();
}

Result<Value> parse(std::string_view text, const ParseOptions& options) {
  Parser p{Scanner{text, 0, {}}, options};
  Value v;
  if (!p.value(&v, 0)) return invalid_argument("malformed JSON: " + p.sc.error);
  p.sc.ws();
  if (p.sc.pos != text.size()) {
    p.sc.fail("trailing characters after JSON value");
    return invalid_argument("malformed JSON: " + p.sc.error);
  }
  return v;
}

// --- FlatScalars ---------------------------------------------------------------------------

bool FlatScalars::fail(const std::string& message) {
  status_ = invalid_argument(message + " at offset " + std::to_string(pos_));
  done_ = true;
  return false;
}

void FlatScalars::skip_ws() {
  while (pos_ < s_.size() && is_ws(s_[pos_])) ++pos_;
}

bool FlatScalars::next(Token* token) {
  if (done_) return false;
  while (true) {
    skip_ws();
    if (pos_ >= s_.size()) {
      if (depth_ != 0 || !started_) return fail("unexpected end of tensor data");
      done_ = true;
      return false;
    }
    char c = s_[pos_];
    if (started_ && depth_ == 0) return fail("trailing characters after tensor data");
    if (c == '[') {
      if (depth_ >= max_depth_) return fail("tensor data nested too deeply");
      ++depth_;
      ++pos_;
      started_ = true;
      need_value_ = true;
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ']') {  // empty array
        ++pos_;
        --depth_;
        need_value_ = false;
        if (!after_close()) return false;
      }
      continue;
    }
    if (c == ']' || c == ',') return fail("unexpected '" + std::string(1, c) + "' in tensor data");
    // A scalar.
    Scanner sc{s_, pos_, {}};
    token->type = Type::kNull;
    if (c == '"') {
      token->type = Type::kString;
      token->string.clear();
      if (!sc.string(&token->string)) return fail(sc.error);
    } else if (c == 't' || c == 'f') {
      token->type = Type::kBool;
      token->boolean = c == 't';
      if (!sc.literal(c == 't' ? "true" : "false")) return fail("invalid literal in tensor data");
    } else if (c == 'n') {
      if (!sc.literal("null")) return fail("invalid literal in tensor data");
    } else {
      token->type = Type::kNumber;
      if (!sc.number(&token->number)) return fail("invalid number in tensor data");
    }
    pos_ = sc.pos;
    started_ = true;
    need_value_ = false;
    if (!after_close()) return false;
    return true;
  }
}

// After a value: consume ',' (staying in the array) or any number of ']'.
bool FlatScalars::after_close() {
  while (depth_ > 0) {
    skip_ws();
    if (pos_ >= s_.size()) return fail("unexpected end of tensor data");
    if (s_[pos_] == ',') {
      ++pos_;
      need_value_ = true;
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ']') return fail("trailing ',' in tensor data");
      return true;
    }
    if (s_[pos_] == ']') {
      ++pos_;
      --depth_;
      continue;
    }
    return fail("expected ',' or ']' in tensor data");
  }
  return true;
}

// --- Writer --------------------------------------------------------------------------------

void append_escaped(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789abcdef";
          *out += "\\u00";
          out->push_back(hex[c >> 4]);
          out->push_back(hex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void Writer::sep() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
}

Writer& Writer::begin_object() {
  sep();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}
Writer& Writer::end_object() {
  out_.push_back('}');
  first_.pop_back();
  return *this;
}
Writer& Writer::begin_array() {
  sep();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}
Writer& Writer::end_array() {
  out_.push_back(']');
  first_.pop_back();
  return *this;
}
Writer& Writer::key(std::string_view k) {
  sep();
  append_escaped(&out_, k);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}
Writer& Writer::string(std::string_view s) {
  sep();
  append_escaped(&out_, s);
  return *this;
}
Writer& Writer::int64(int64_t v) {
  sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  return *this;
}
Writer& Writer::uint64(uint64_t v) {
  sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  return *this;
}

namespace {
template <class F>
void append_float(std::string* out, F v) {
  if (std::isnan(v)) {
    *out += "NaN";
  } else if (std::isinf(v)) {
    *out += v < 0 ? "-Infinity" : "Infinity";
  } else {
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out->append(buf, r.ptr);
  }
}
}  // namespace

Writer& Writer::float64(double v) {
  sep();
  append_float(&out_, v);
  return *this;
}
Writer& Writer::float32(float v) {
  sep();
  append_float(&out_, v);
  return *this;
}
Writer& Writer::boolean(bool v) {
  sep();
  out_ += v ? "true" : "false";
  return *this;
}
Writer& Writer::null() {
  sep();
  out_ += "null";
  return *this;
}
Writer& Writer::raw(std::string_view json) {
  sep();
  out_.append(json);
  return *this;
}

}  // namespace nalar::json
