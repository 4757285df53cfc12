#include "core/npy.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace nalar {

namespace {

struct Descr {
  DataType dtype;
  size_t item_size;  // bytes per element in the file
};

Result<Descr> parse_descr(const std::string& d, const std::string& source) {
  if (d.size() < 3) return invalid_argument(source + ": unsupported dtype '" + d + "'");
  const char order = d[0];
  const char kind = d[1];
  size_t size = 0;
  try {
    size = std::stoul(d.substr(2));
  } catch (const std::exception&) {
    return invalid_argument(source + ": malformed dtype '" + d + "'");
  }
  if (order == '>' && size > 1)
    return invalid_argument(source + ": big-endian dtype '" + d +
                            "' is not supported; save it little-endian (astype('<...'))");
  auto make = [&](DataType t) -> Result<Descr> { return Descr{t, size}; };
  switch (kind) {
    case 'f':
      if (size == 2) return make(DataType::kFloat16);
      if (size == 4) return make(DataType::kFloat);
      if (size == 8) return make(DataType::kDouble);
      break;
    case 'i':
      if (size == 1) return make(DataType::kInt8);
      if (size == 2) return make(DataType::kInt16);
      if (size == 4) return make(DataType::kInt32);
      if (size == 8) return make(DataType::kInt64);
      break;
    case 'u':
      if (size == 1) return make(DataType::kUint8);
      if (size == 2) return make(DataType::kUint16);
      if (size == 4) return make(DataType::kUint32);
      if (size == 8) return make(DataType::kUint64);
      break;
    case 'b':
      if (size == 1) return make(DataType::kBool);
      break;
    case 'c':
      if (size == 8) return make(DataType::kComplex64);
      if (size == 16) return make(DataType::kComplex128);
      break;
    case 'U':
      if (size > 0 && size < (1u << 20)) return Descr{DataType::kString, size * 4};
      break;
  }
  return invalid_argument(source + ": unsupported dtype '" + d + "'");
}

// Finds `'key': ` in the header dict and returns the position after it.
size_t find_key(const std::string& header, const std::string& key) {
  size_t p = header.find("'" + key + "'");
  if (p == std::string::npos) return p;
  p = header.find(':', p);
  return p == std::string::npos ? p : p + 1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::vector<uint32_t> utf8_to_codepoints(const std::string& s) {
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; k < len && i + static_cast<size_t>(k) < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3f);
    cps.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return cps;
}

// Reorders elements from Fortran (column-major) to C (row-major) order.
Tensor fortran_to_c(const Tensor& f) {
  Tensor c = Tensor::create(f.dtype(), f.shape());
  const size_t es = dtype_size(f.dtype());
  const size_t rank = f.shape().size();
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < f.size(); ++i) {
    // idx is the multi-index of C-order element i; its Fortran offset uses reversed strides.
    int64_t off = 0, stride = 1;
    for (size_t d = 0; d < rank; ++d) {
      off += idx[d] * stride;
      stride *= f.shape()[d];
    }
    if (f.dtype() == DataType::kString)
      c.data<std::string>()[i] = f.data<std::string>()[off];
    else
      std::memcpy(static_cast<char*>(c.raw()) + i * es, static_cast<const char*>(f.raw()) + off * es,
                  es);
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < f.shape()[d]) break;
      idx[d] = 0;
    }
  }
  return c;
}

}  // namespace

Result<Tensor> parse_npy(const std::string& bytes, const std::string& source) {
  static const char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0)
    return invalid_argument(source + ": not a .npy file (missing the \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return invalid_argument(source + ": truncated .npy header");
    uint32_t len;
    std::memcpy(&len, bytes.data() + 8, 4);
    header_len = len;
    header_start = 12;
  } else {
    return invalid_argument(source + ": unsupported .npy format version " + std::to_string(major));
  }
  if (header_start + header_len > bytes.size())
    return invalid_argument(source + ": truncated .npy header");
  const std::string header = bytes.substr(header_start, header_len);

  size_t p = find_key(header, "descr");
  if (p == std::string::npos) return invalid_argument(source + ": .npy header lacks 'descr'");
  size_t q1 = header.find('\'', p), q2 = q1 == std::string::npos ? q1 : header.find('\'', q1 + 1);
  if (q2 == std::string::npos) return invalid_argument(source + ": malformed 'descr' in header");
  NALAR_ASSIGN_OR_RETURN(Descr descr, parse_descr(header.substr(q1 + 1, q2 - q1 - 1), source));

  p = find_key(header, "fortran_order");
  if (p == std::string::npos) return invalid_argument(source + ": .npy header lacks 'fortran_order'");
  const size_t value = header.find_first_not_of(' ', p);
  const bool fortran = value != std::string::npos && header.compare(value, 4, "True") == 0;

  p = find_key(header, "shape");
  size_t open = p == std::string::npos ? p : header.find('(', p);
  size_t close = open == std::string::npos ? open : header.find(')', open);
  if (close == std::string::npos) return invalid_argument(source + ": malformed 'shape' in header");
  Shape shape;
  int64_t count = 1, nonzero = 1;
  std::string dims = header.substr(open + 1, close - open - 1);
  std::stringstream ss(dims);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t b = item.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    int64_t d = 0;
    try {
      size_t used = 0;
      d = std::stoll(item.substr(b), &used);
      if (item.find_first_not_of(" \tL", b + used) != std::string::npos) throw std::invalid_argument("");
    } catch (const std::exception&) {
      return invalid_argument(source + ": malformed dimension '" + item + "' in shape");
    }
    if (d < 0) return invalid_argument(source + ": negative dimension in shape");
    // Zero dims still must not hide an overflowing product of the others.
    if (d > 0 && nonzero > std::numeric_limits<int64_t>::max() / d / 16)
      return invalid_argument(source + ": shape is too large");
    if (d > 0) nonzero *= d;
    count *= d;
    shape.push_back(d);
  }
  const size_t data_start = header_start + header_len;
  const size_t need = static_cast<size_t>(count) * descr.item_size;
  if (bytes.size() - data_start < need)
    return invalid_argument(source + ": truncated data: shape " + shape_to_string(shape) + " needs " +
                            std::to_string(need) + " bytes, file has " +
                            std::to_string(bytes.size() - data_start));
  if (bytes.size() - data_start > need)
    return invalid_argument(source + ": " + std::to_string(bytes.size() - data_start - need) +
                            " bytes of trailing data after the array");

  Tensor t = Tensor::create(descr.dtype, fortran ? Shape(shape.rbegin(), shape.rend()) : shape);
  const char* src = bytes.data() + data_start;
  if (descr.dtype == DataType::kString) {
    const size_t width = descr.item_size / 4;
    for (int64_t i = 0; i < count; ++i) {
      std::string s;
      for (size_t k = 0; k < width; ++k) {
        uint32_t cp;
        std::memcpy(&cp, src + (static_cast<size_t>(i) * width + k) * 4, 4);
        if (cp == 0) break;
        append_utf8(s, cp);
      }
      t.data<std::string>()[i] = std::move(s);
    }
  } else if (descr.dtype == DataType::kBool) {
    for (int64_t i = 0; i < count; ++i) t.data<bool>()[i] = src[i] != 0;
  } else if (need) {
    std::memcpy(t.raw(), src, need);
  }
  if (!fortran) return t;
  // The bytes were read as the reversed shape in C order; view them as the real shape.
  Tensor f = t.reshaped(shape);
  return fortran_to_c(f);
}

Result<Tensor> read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_npy(ss.str(), path);
}

std::string serialize_npy(const Tensor& tensor) {
  Tensor t = tensor;
  if (t.dtype() == DataType::kBFloat16) {
    Tensor f = Tensor::create(DataType::kFloat, t.shape());
    for (int64_t i = 0; i < t.size(); ++i) f.data<float>()[i] = t.data<BFloat16>()[i];
    t = f;
  }
  std::string descr;
  size_t string_width = 1;
  switch (t.dtype()) {
    case DataType::kFloat: descr = "<f4"; break;
    case DataType::kDouble: descr = "<f8"; break;
    case DataType::kFloat16: descr = "<f2"; break;
    case DataType::kInt8: descr = "|i1"; break;
    case DataType::kInt16: descr = "<i2"; break;
    case DataType::kInt32: descr = "<i4"; break;
    case DataType::kInt64: descr = "<i8"; break;
    case DataType::kUint8: descr = "|u1"; break;
    case DataType::kUint16: descr = "<u2"; break;
    case DataType::kUint32: descr = "<u4"; break;
    case DataType::kUint64: descr = "<u8"; break;
    case DataType::kBool: descr = "|b1"; break;
    case DataType::kComplex64: descr = "<c8"; break;
    case DataType::kComplex128: descr = "<c16"; break;
    case DataType::kString:
      for (int64_t i = 0; i < t.size(); ++i)
        string_width = std::max(string_width, utf8_to_codepoints(t.data<std::string>()[i]).size());
      descr = "<U" + std::to_string(string_width);
      break;
    default: descr = "|V1"; break;
  }
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i)
    shape += std::to_string(t.shape()[i]) + (t.shape().size() == 1 ? "," : (i + 1 < t.shape().size() ? ", " : ""));
  shape += ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  if (t.dtype() == DataType::kString) {
    for (int64_t i = 0; i < t.size(); ++i) {
      std::vector<uint32_t> cps = utf8_to_codepoints(t.data<std::string>()[i]);
      cps.resize(string_width, 0);
      out.append(reinterpret_cast<const char*>(cps.data()), cps.size() * 4);
    }
  } else {
    out.append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  return out;
}

Status write_npy(const std::string& path, const Tensor& tensor) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return not_found(path + ": cannot open for writing");
  const std::string bytes = serialize_npy(tensor);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return internal_error(path + ": write failed");
  return Status::ok();
}

}  // namespace nalar
