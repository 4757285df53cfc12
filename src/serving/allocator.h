// Process-wide allocator settings for a long-running server.
#pragma once

namespace nalar::serving {

// Caps glibc's malloc arenas at the core count. By default glibc creates up to 8 per core, one
// per thread that meets contention; every load starts new executor threads, and freed model
// weights stranded across many arenas made RSS climb ~60% over 1,000 load/unload cycles. With
// the cap it stays flat. Call once, before the server's threads start.
void limit_malloc_arenas();

}  // namespace nalar::serving
