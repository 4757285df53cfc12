#include "batch/npy_stream.h"

#include <cstring>
#include <filesystem>
#include <fstream>

namespace nalar::batch {

int64_t NpyHeader::row_bytes() const {
  return shape_size(row_shape()) * static_cast<int64_t>(dtype_size(dtype));
}

std::string npy_descr(DataType dtype) {
  switch (dtype) {
    case DataType::kFloat:
      return "<f4";
    case DataType::kDouble:
      return "<f8";
    case DataType::kFloat16:
      return "<f2";
    case DataType::kInt8:
      return "|i1";
    case DataType::kInt16:
      return "<i2";
    case DataType::kInt32:
      return "<i4";
    case DataType::kInt64:
      return "<i8";
    case DataType::kUint8:
      return "|u1";
    case DataType::kUint16:
      return "<u2";
    case DataType::kUint32:
      return "<u4";
    case DataType::kUint64:
      return "<u8";
    case DataType::kBool:
      return "|b1";
    default:
      return "";
  }
}

std::string npy_header_bytes(DataType dtype, const Shape& shape) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += std::to_string(shape[i]) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // (n,) keeps its comma for rank 1
  if (!dims.empty() && shape.size() == 1) dims.resize(dims.size() - 1);
  std::string dict =
      "{'descr': '" + npy_descr(dtype) + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  return out + dict;
}

namespace {

// The text after `'key':` in the header dict, or npos.
size_t value_of(const std::string& h, const char* key) {
  size_t p = h.find(std::string("'") + key + "'");
  if (p == std::string::npos) return p;
  p = h.find(':', p);
  if (p == std::string::npos) return p;
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  return p;
}

}  // namespace

Result<NpyHeader> read_npy_header(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return not_found("cannot open '" + path + "'");
  char pre[12] = {};
  f.read(pre, 10);
  if (f.gcount() != 10 || std::memcmp(pre, "\x93NUMPY", 6) != 0)
    return invalid_argument("'" + path + "' is not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(pre[6]);
  int64_t header_len = 0, prefix = 10;
  if (major == 1) {
    header_len = static_cast<unsigned char>(pre[8]) | (static_cast<unsigned char>(pre[9]) << 8);
  } else if (major == 2 || major == 3) {
    f.read(pre + 10, 2);
    if (f.gcount() != 2) return invalid_argument("'" + path + "': truncated .npy header");
    header_len = 0;
    for (int i = 3; i >= 0; --i)
      header_len = (header_len << 8) | static_cast<unsigned char>(pre[8 + i]);
    prefix = 12;
  } else {
    return invalid_argument("'" + path + "': unsupported .npy version " + std::to_string(major));
  }
  if (header_len <= 0 || header_len > (1 << 20))
    return invalid_argument("'" + path + "': implausible .npy header length");
  std::string h(static_cast<size_t>(header_len), '\0');
  f.read(h.data(), header_len);
  if (f.gcount() != header_len) return invalid_argument("'" + path + "': truncated .npy header");

  NpyHeader out;
  out.data_offset = prefix + header_len;
  size_t p = value_of(h, "descr");
  if (p == std::string::npos || p >= h.size() || h[p] != '\'')
    return invalid_argument("'" + path + "': .npy header lacks 'descr'");
  size_t q = h.find('\'', p + 1);
  if (q == std::string::npos) return invalid_argument("'" + path + "': malformed 'descr'");
  const std::string descr = h.substr(p + 1, q - p - 1);
  for (DataType t : {DataType::kFloat, DataType::kDouble, DataType::kFloat16, DataType::kInt8,
                     DataType::kInt16, DataType::kInt32, DataType::kInt64, DataType::kUint8,
                     DataType::kUint16, DataType::kUint32, DataType::kUint64, DataType::kBool}) {
    std::string d = npy_descr(t);
    if (descr == d || (d[0] == '|' && descr == "<" + d.substr(1))) out.dtype = t;
  }
  if (out.dtype == DataType::kUndefined)
    return invalid_argument("'" + path + "': .npy dtype '" + descr +
                            "' is not supported for batch rows (little-endian numbers or bool)");
  p = value_of(h, "fortran_order");
  if (p == std::string::npos) return invalid_argument("'" + path + "': header lacks fortran_order");
  if (h.compare(p, 4, "True") == 0)
    return invalid_argument("'" + path +
                            "': Fortran-order arrays cannot be streamed by rows; "
                            "save with np.ascontiguousarray");
  p = value_of(h, "shape");
  if (p == std::string::npos || p >= h.size() || h[p] != '(')
    return invalid_argument("'" + path + "': .npy header lacks 'shape'");
  size_t close = h.find(')', p);
  if (close == std::string::npos) return invalid_argument("'" + path + "': malformed 'shape'");
  int64_t count = 1;
  for (size_t i = p + 1; i < close;) {
    while (i < close && (h[i] == ' ' || h[i] == ',')) ++i;
    if (i >= close) break;
    if (h[i] < '0' || h[i] > '9') return invalid_argument("'" + path + "': malformed 'shape'");
    int64_t d = 0;
    while (i < close && h[i] >= '0' && h[i] <= '9') {
      if (d > (int64_t{1} << 40)) return invalid_argument("'" + path + "': dimension too large");
      d = d * 10 + (h[i++] - '0');
    }
    out.shape.push_back(d);
    if (d != 0 && count > (int64_t{1} << 50) / d)
      return invalid_argument("'" + path + "': shape too large");
    count *= d;
  }
  const int64_t need = out.data_offset + count * static_cast<int64_t>(dtype_size(out.dtype));
  std::error_code ec;
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  if (ec || size < need)
    return invalid_argument("'" + path + "': truncated: the shape needs " + std::to_string(need) +
                            " bytes, the file has " + std::to_string(size));
  return out;
}

}  // namespace nalar::batch
