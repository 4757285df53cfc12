// EXIF orientation (TIFF tag 0x0112 in IFD0), read with bounds checks from untrusted bytes.
#pragma once

#include <string_view>

namespace nalar::pipeline {

// The orientation in a TIFF-structured EXIF block (starting at "II*\0" or "MM\0*"), 1-8; 1 when
// the block is malformed, lacks the tag or holds a value outside 1-8 (as Pillow treats it).
int exif_orientation(std::string_view tiff);

// The orientation a JPEG's first APP1 "Exif\0\0" segment declares (scanning markers up to the
// first scan), 1 when there is none.
int jpeg_exif_orientation(std::string_view jpeg);

}  // namespace nalar::pipeline
