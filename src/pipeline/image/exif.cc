#include "pipeline/image/exif.h"

#include <cstdint>

namespace nalar::pipeline {
namespace {

struct TiffReader {
  std::string_view bytes;
  bool little_endian;

  bool u16(size_t at, uint32_t* v) const {
    if (at > bytes.size() || bytes.size() - at < 2) return false;
    auto b0 = static_cast<uint8_t>(bytes[at]), b1 = static_cast<uint8_t>(bytes[at + 1]);
    *v = little_endian ? (b0 | (b1 << 8)) : ((b0 << 8) | b1);
    return true;
  }
  bool u32(size_t at, uint32_t* v) const {
    uint32_t a, b;
    if (!u16(at, &a) || !u16(at + 2, &b)) return false;
    *v = little_endian ? (a | (b << 16)) : ((a << 16) | b);
    return true;
  }
};

constexpr uint32_t kOrientationTag = 0x0112;
constexpr uint32_t kTypeShort = 3, kTypeLong = 4;

}  // namespace

int exif_orientation(std::string_view tiff) {
  if (tiff.size() < 8) return 1;
  TiffReader r{tiff, false};
  if (tiff.substr(0, 4) == std::string_view("II*\0", 4)) {
    r.little_endian = true;
  } else if (tiff.substr(0, 4) != std::string_view("MM\0*", 4)) {
    return 1;
  }
  uint32_t ifd0, count;
  if (!r.u32(4, &ifd0) || !r.u16(ifd0, &count)) return 1;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t entry = static_cast<size_t>(ifd0) + 2 + static_cast<size_t>(i) * 12;
    uint32_t tag, type, n, value;
    if (!r.u16(entry, &tag) || !r.u16(entry + 2, &type) || !r.u32(entry + 4, &n)) return 1;
    if (tag != kOrientationTag) continue;
    if (n < 1) return 1;
    // One SHORT (or LONG) fits in the entry's own 4-byte value field.
    if (type == kTypeShort) {
      if (!r.u16(entry + 8, &value)) return 1;
    } else if (type == kTypeLong) {
      if (!r.u32(entry + 8, &value)) return 1;
    } else {
      return 1;
    }
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

int jpeg_exif_orientation(std::string_view jpeg) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(jpeg[i]); };
  if (jpeg.size() < 4 || byte(0) != 0xFF || byte(1) != 0xD8) return 1;
  size_t pos = 2;
  while (pos + 4 <= jpeg.size()) {
    if (byte(pos) != 0xFF) return 1;
    const uint8_t marker = byte(pos + 1);
    if (marker == 0xFF) {  // fill byte before a marker
      ++pos;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return 1;              // start of scan / end of image
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // markers without a length
      pos += 2;
      continue;
    }
    const size_t length = (static_cast<size_t>(byte(pos + 2)) << 8) | byte(pos + 3);
    if (length < 2 || pos + 2 + length > jpeg.size()) return 1;
    const std::string_view payload = jpeg.substr(pos + 4, length - 2);
    if (marker == 0xE1 && payload.size() >= 6 &&
        payload.substr(0, 6) == std::string_view("Exif\0\0", 6)) {
      return exif_orientation(payload.substr(6));
    }
    pos += 2 + length;
  }
  return 1;
}

}  // namespace nalar::pipeline
