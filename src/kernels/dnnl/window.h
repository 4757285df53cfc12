// Sliding-window geometry shared by Conv, ConvTranspose and the pooling ops: attribute parsing
// and ONNX's padding rules (explicit pads, auto_pad SAME_UPPER/SAME_LOWER/VALID, ceil_mode).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nalar/status.h"
#include "onnx/model.h"

namespace nalar {

struct WindowAttrs {
  std::vector<int64_t> kernel;     // may be empty (Conv infers it from W)
  std::vector<int64_t> strides;    // empty = all 1
  std::vector<int64_t> dilations;  // empty = all 1
  std::vector<int64_t> pads;       // empty = all 0; else begin..., end...
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;

  static WindowAttrs read(const Node& node);
};

// The window resolved for concrete input spatial dims.
struct Window {
  std::vector<int64_t> in, kernel, strides, dilations;
  std::vector<int64_t> pad_begin, pad_end;  // as ONNX defines them (count_include_pad divisor)
  std::vector<int64_t> pad_end_eff;         // right padding that makes the output size exact
  std::vector<int64_t> out;

  size_t rank() const { return in.size(); }
  int64_t extent(size_t i) const { return (kernel[i] - 1) * dilations[i] + 1; }
};

// Forward windows (Conv, pools). `kernel` is the resolved kernel size for every spatial dim.
Result<Window> resolve_window(const WindowAttrs& a, const std::vector<int64_t>& in,
                              const std::vector<int64_t>& kernel, const char* op);

}  // namespace nalar
