#include "kernels/dnnl/dnnl_context.h"

#include <cstdlib>
#include <memory>

namespace nalar::dnnl_util {

const dnnl::engine& engine() {
  static const dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

namespace {
struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
struct ScratchBuffers {
  std::unique_ptr<void, FreeDeleter> data[kSlots];
  size_t size[kSlots] = {};
};
}  // namespace

void* scratch(int slot, size_t bytes) {
  thread_local ScratchBuffers buffers;
  if (bytes == 0) bytes = 64;
  if (buffers.size[slot] < bytes) {
    // Round up so slowly growing requests do not reallocate every time.
    size_t n = (bytes + bytes / 4 + 63) / 64 * 64;
    buffers.data[slot].reset(std::aligned_alloc(64, n));
    if (!buffers.data[slot]) throw std::bad_alloc();
    buffers.size[slot] = n;
  }
  return buffers.data[slot].get();
}

dnnl::primitive_attr user_scratch_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dims to_dims(const Shape& shape) {
  dims d(shape.begin(), shape.end());
  if (d.empty()) d.push_back(1);
  return d;
}

dnnl::memory::desc plain_md(const dims& shape, dt type) {
  dims d = shape.empty() ? dims{1} : shape;
  dims strides(d.size());
  int64_t s = 1;
  for (size_t i = d.size(); i-- > 0;) {
    strides[i] = s;
    s *= d[i];
  }
  return dnnl::memory::desc(d, type, strides);
}

void execute(const dnnl::primitive& prim, std::unordered_map<int, dnnl::memory> args) {
  const_dnnl_primitive_desc_t cpd = nullptr;
  dnnl::error::wrap_c_api(dnnl_primitive_get_primitive_desc(prim.get(), &cpd),
                          "could not get a primitive descriptor");
  const dnnl_memory_desc_t* smd = dnnl_primitive_desc_query_md(cpd, dnnl_query_scratchpad_md, 0);
  if (smd) {
    dnnl::memory::desc md(*smd);
    size_t bytes = md.get_size();
    if (bytes > 0) args.emplace(DNNL_ARG_SCRATCHPAD, wrap(md, scratch(kScratchpad, bytes)));
  }
  dnnl::stream& s = stream();
  prim.execute(s, args);
  s.wait();
}

void reorder(const dnnl::memory& src, const dnnl::memory& dst) {
  // Reorder primitives are cached by oneDNN's global primitive cache, so this is cheap after
  // the first call for a given pair of descriptors.
  dnnl::reorder::primitive_desc pd(engine(), src.get_desc(), engine(), dst.get_desc(),
                                   user_scratch_attr());
  dnnl::reorder prim(pd);
  execute(prim, {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
}

}  // namespace nalar::dnnl_util
