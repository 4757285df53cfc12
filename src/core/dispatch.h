// Runs a generic lambda with the C++ type of a runtime DataType:
//   dispatch_numeric(t.dtype(), [&](auto tag) { using T = typename decltype(tag)::type; ... });
// Each dispatcher returns the Status of the lambda, or an "unsupported dtype" error.
#pragma once

#include <string>

#include "nalar/dtype.h"
#include "nalar/status.h"

namespace nalar {

template <class T>
struct TypeTag {
  using type = T;
};

inline Status unsupported_dtype(const char* op, DataType t) {
  return unimplemented(std::string(op) + ": element type " + dtype_name(t) + " is not supported");
}

#define NALAR_DTYPE_CASE(ENUM, TYPE) \
  case DataType::ENUM:               \
    return fn(TypeTag<TYPE>{});

// float, double, float16, bfloat16
template <class Fn>
Status dispatch_float(DataType t, const char* op, Fn&& fn) {
  switch (t) {
    NALAR_DTYPE_CASE(kFloat, float)
    NALAR_DTYPE_CASE(kDouble, double)
    NALAR_DTYPE_CASE(kFloat16, Float16)
    NALAR_DTYPE_CASE(kBFloat16, BFloat16)
    default: return unsupported_dtype(op, t);
  }
}

// every signed and unsigned integer type
template <class Fn>
Status dispatch_integer(DataType t, const char* op, Fn&& fn) {
  switch (t) {
    NALAR_DTYPE_CASE(kInt8, int8_t)
    NALAR_DTYPE_CASE(kInt16, int16_t)
    NALAR_DTYPE_CASE(kInt32, int32_t)
    NALAR_DTYPE_CASE(kInt64, int64_t)
    NALAR_DTYPE_CASE(kUint8, uint8_t)
    NALAR_DTYPE_CASE(kUint16, uint16_t)
    NALAR_DTYPE_CASE(kUint32, uint32_t)
    NALAR_DTYPE_CASE(kUint64, uint64_t)
    default: return unsupported_dtype(op, t);
  }
}

// floats and integers (no bool, string, complex)
template <class Fn>
Status dispatch_numeric(DataType t, const char* op, Fn&& fn) {
  if (dtype_is_float(t)) return dispatch_float(t, op, fn);
  return dispatch_integer(t, op, fn);
}

// numeric plus bool
template <class Fn>
Status dispatch_numeric_bool(DataType t, const char* op, Fn&& fn) {
  if (t == DataType::kBool) return fn(TypeTag<bool>{});
  return dispatch_numeric(t, op, fn);
}

// every element type, strings and complex included
template <class Fn>
Status dispatch_all(DataType t, const char* op, Fn&& fn) {
  switch (t) {
    NALAR_DTYPE_CASE(kString, std::string)
    NALAR_DTYPE_CASE(kBool, bool)
    NALAR_DTYPE_CASE(kComplex64, std::complex<float>)
    NALAR_DTYPE_CASE(kComplex128, std::complex<double>)
    default: return dispatch_numeric(t, op, fn);
  }
}

#undef NALAR_DTYPE_CASE

}  // namespace nalar
