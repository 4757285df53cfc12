// Process-wide allocator settings for a long-running server.
#pragma once

namespace nalar::serving {

// Caps glibc's malloc arenas at the core count. By default glibc creates up to 8 per core, one
// per thread that meets contention; every load starts new executor threads, and freed model
// weights stranded across many arenas made RSS climb ~60% over 1,000 load/unload cycles. With
// the cap it stays flat. Also fixes the mmap threshold at 1 MiB (see allocator.cc). Call once,
// before the server's threads start.
void limit_malloc_arenas();

// Hands memory that was just freed back to the OS: the engine's cache of large tensor buffers is
// dropped and glibc's arenas are trimmed (it keeps freed chunks, and raises the mmap threshold
// after large frees, so weights land in the arenas).
void release_freed_memory();

// A member that calls release_freed_memory() when its owner is destroyed. Declared first in a
// class, it runs after every other member is gone: an unloaded model version is freed by
// whichever thread drops the last reference (an in-flight request may outlive the unload), and
// a trim before that moment would miss its memory (RSS swung 33 -> 45 MB between cycles).
struct ReleaseMemoryOnDestroy {
  ReleaseMemoryOnDestroy() = default;
  ReleaseMemoryOnDestroy(const ReleaseMemoryOnDestroy&) = delete;
  ReleaseMemoryOnDestroy& operator=(const ReleaseMemoryOnDestroy&) = delete;
  ~ReleaseMemoryOnDestroy() { release_freed_memory(); }
};

}  // namespace nalar::serving
