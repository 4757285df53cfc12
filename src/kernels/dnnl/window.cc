#include "kernels/dnnl/window.h"

#include <algorithm>

namespace nalar {

WindowAttrs WindowAttrs::read(const Node& node) {
  WindowAttrs a;
  a.kernel = node.get_ints("kernel_shape");
  a.strides = node.get_ints("strides");
  a.dilations = node.get_ints("dilations");
  a.pads = node.get_ints("pads");
  a.auto_pad = node.get_string("auto_pad", "NOTSET");
  if (a.auto_pad.empty()) a.auto_pad = "NOTSET";
  a.ceil_mode = node.get_int("ceil_mode", 0) != 0;
  return a;
}

Result<Window> resolve_window(const WindowAttrs& a, const std::vector<int64_t>& in,
                              const std::vector<int64_t>& kernel, const char* op) {
  const size_t r = in.size();
  auto bad = [&](const std::string& what) {
    return invalid_argument(std::string(op) + ": " + what);
  };
  if (kernel.size() != r) return bad("kernel_shape has the wrong rank");
  if (!a.strides.empty() && a.strides.size() != r) return bad("strides has the wrong rank");
  if (!a.dilations.empty() && a.dilations.size() != r) return bad("dilations has the wrong rank");
  if (!a.pads.empty() && a.pads.size() != 2 * r)
    return bad("pads must have 2 * spatial rank values");
  Window w;
  w.in = in;
  w.kernel = kernel;
  w.strides = a.strides.empty() ? std::vector<int64_t>(r, 1) : a.strides;
  w.dilations = a.dilations.empty() ? std::vector<int64_t>(r, 1) : a.dilations;
  w.pad_begin.assign(r, 0);
  w.pad_end.assign(r, 0);
  w.out.assign(r, 0);
  // Bounds keep every product below int64 overflow.
  constexpr int64_t kLimit = int64_t{1} << 31;
  for (size_t i = 0; i < r; ++i) {
    if (w.kernel[i] <= 0 || w.strides[i] <= 0 || w.dilations[i] <= 0)
      return bad("kernel, strides and dilations must be positive");
    if (w.kernel[i] > kLimit || w.strides[i] > kLimit || w.dilations[i] > kLimit)
      return bad("kernel, strides or dilations too large");
    if (w.in[i] < 0) return bad("negative input dimension");
  }
  for (int64_t p : a.pads)
    if (p > kLimit) return bad("pads too large");
  const bool same = a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER";
  if (!same && a.auto_pad != "NOTSET" && a.auto_pad != "VALID")
    return bad("unknown auto_pad '" + a.auto_pad + "'");
  for (size_t i = 0; i < r; ++i) {
    const int64_t ext = w.extent(i), s = w.strides[i];
    if (same) {
      w.out[i] = (w.in[i] + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (w.out[i] - 1) * s + ext - w.in[i]);
      if (a.auto_pad == "SAME_UPPER") {
        w.pad_begin[i] = total / 2;
      } else {
        w.pad_begin[i] = total - total / 2;
      }
      w.pad_end[i] = total - w.pad_begin[i];
      continue;
    }
    if (a.auto_pad == "NOTSET" && !a.pads.empty()) {
      w.pad_begin[i] = a.pads[i];
      w.pad_end[i] = a.pads[i + r];
      if (w.pad_begin[i] < 0 || w.pad_end[i] < 0) return bad("negative pads");
    }
    const int64_t span = w.in[i] + w.pad_begin[i] + w.pad_end[i] - ext;
    if (span < 0) return bad("the window is larger than the padded input");
    if (a.ceil_mode) {
      w.out[i] = (span + s - 1) / s + 1;
      // The last window must start inside the input or the left padding (PyTorch, ORT).
      if ((w.out[i] - 1) * s >= w.in[i] + w.pad_begin[i]) --w.out[i];
    } else {
      w.out[i] = span / s + 1;
    }
  }
  w.pad_end_eff.resize(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t needed = (w.out[i] - 1) * w.strides[i] + w.extent(i) - w.in[i] - w.pad_begin[i];
    w.pad_end_eff[i] = std::max(w.pad_end[i], needed);
  }
  return w;
}

}  // namespace nalar
