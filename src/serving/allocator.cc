#include "serving/allocator.h"

#include <malloc.h>

#include <algorithm>
#include <thread>

namespace nalar::serving {

void limit_malloc_arenas() {
  const int cores = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  mallopt(M_ARENA_MAX, cores);
}

}  // namespace nalar::serving
