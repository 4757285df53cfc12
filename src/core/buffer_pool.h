// A process-wide cache of large tensor buffers. glibc serves big allocations with mmap and
// returns them with munmap, so every run of a batch-32 CNN faulted in (and the kernel zeroed)
// hundreds of MB of fresh pages. Inference allocates the same sizes run after run, so freed
// large buffers are kept and handed out again (best fit); the cache is bounded.
#pragma once

#include <cstddef>

namespace nalar::buffer_pool {

// Buffers below this size go straight to the allocator (its own free lists serve them well).
inline constexpr size_t kMinPooledBytes = size_t{1} << 20;

// The size allocated for a fresh request of `bytes` (64-byte aligned; large requests rounded
// up to 64 KiB classes). A reused buffer may be larger.
size_t rounded_size(size_t bytes);
// 64-byte-aligned memory of rounded_size(bytes); nullptr when out of memory.
void* allocate(size_t bytes);
// Returns memory from allocate(bytes) (same `bytes`); large buffers go to the cache.
void release(void* p, size_t bytes);
// Frees every cached buffer (tests; memory pressure).
void clear();
// Bytes currently cached (not in use).
size_t cached_bytes();

}  // namespace nalar::buffer_pool
