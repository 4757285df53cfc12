// Comparison-friendly view of element values: half types widen to float, everything else is
// compared as itself (so int64 keeps full precision).
#pragma once

#include <type_traits>

#include "nalar/dtype.h"

namespace nalar {

template <class T>
inline auto comparable(const T& v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>)
    return static_cast<float>(v);
  else
    return v;
}

// A strict weak order that places NaN above every number (as numpy's sort does), so sorting
// never sees an inconsistent comparator.
template <class V>
inline bool total_less(V a, V b) {
  if constexpr (std::is_floating_point_v<V>) {
    if (a != a) return false;
    if (b != b) return true;
  }
  return a < b;
}

}  // namespace nalar
