// Process-wide oneDNN state shared by every oneDNN-backed kernel: one CPU engine, a stream per
// thread, per-thread scratch buffers, and helpers to run primitives with a user scratchpad.
#pragma once

#include <cstddef>
#include <exception>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>

#include "nalar/status.h"
#include "nalar/tensor.h"

namespace nalar::dnnl_util {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// Compiled primitives a kernel keeps per input-shape signature before it starts over (inputs
// with ever new shapes must not grow memory without bound; entries in use stay alive).
inline constexpr size_t kMaxShapesPerKernel = 64;

// The one CPU engine of the process.
const dnnl::engine& engine();
// A stream for the calling thread (streams are cheap but not free to create).
dnnl::stream& stream();

// Scratch memory owned by the calling thread, 64-byte aligned, grown on demand and reused by
// later calls. Slots are independent buffers so one kernel can hold several at once. Valid until
// the next scratch() call with the same slot on the same thread.
enum ScratchSlot : int {
  kScratchpad = 0,
  kSrc = 1,
  kDst = 2,
  kWeights = 3,
  kExtra = 4,
  kSlots = 5
};
void* scratch(int slot, size_t bytes);

// Attributes every primitive we create uses: the scratchpad is passed per call, so a primitive
// may run on any thread (the library scratchpad ties it to its creating thread).
dnnl::primitive_attr user_scratch_attr();

// Plain row-major memory descriptor for `shape` (rank 0 becomes {1}).
dnnl::memory::desc plain_md(const dims& shape, dt type = dt::f32);
dims to_dims(const Shape& shape);

// Wraps a pointer (no copy) as oneDNN memory.
inline dnnl::memory wrap(const dnnl::memory::desc& md, const void* ptr) {
  return dnnl::memory(md, engine(), const_cast<void*>(ptr));
}

// Runs `prim` on this thread's stream with a scratchpad sized from its primitive descriptor and
// waits for it.
void execute(const dnnl::primitive& prim, std::unordered_map<int, dnnl::memory> args);

// Reorders src memory into dst memory (both already bound to buffers).
void reorder(const dnnl::memory& src, const dnnl::memory& dst);

// Runs fn(), turning oneDNN and std exceptions into a Status naming `op`.
template <class Fn>
Status guard(const char* op, Fn&& fn) {
  try {
    return fn();
  } catch (const dnnl::error& e) {
    return internal_error(std::string(op) + ": oneDNN error: " + e.what());
  } catch (const std::exception& e) {
    return internal_error(std::string(op) + ": " + e.what());
  }
}

}  // namespace nalar::dnnl_util
