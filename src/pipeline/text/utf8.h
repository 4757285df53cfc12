// UTF-8 decoding with strict validation (no overlongs, surrogates or code points past U+10FFFF)
// and encoding, for the tokenisers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nalar/status.h"

namespace nalar::pipeline {

// The code points of `text`, or an error naming the byte offset of the first invalid sequence.
Result<std::u32string> decode_utf8(std::string_view text);

// OK, or the error decode_utf8 would give.
Status validate_utf8(std::string_view text);

// Length in bytes of the valid UTF-8 sequence at the start of `text`, 0 when it is invalid
// (or `text` is empty).
size_t utf8_sequence_length(std::string_view text);

void append_utf8(char32_t cp, std::string* out);
std::string encode_utf8(std::u32string_view cps);

}  // namespace nalar::pipeline
