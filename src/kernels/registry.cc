#include <map>
#include <mutex>

#include "kernels/kernel.h"

namespace nalar {

namespace {

struct Entry {
  KernelKey key;
  KernelFactory factory;
};

// Function-local so registration from static initialisers in any order is safe.
std::multimap<std::pair<std::string, std::string>, Entry>& table() {
  static std::multimap<std::pair<std::string, std::string>, Entry> t;
  return t;
}

}  // namespace

void register_kernel(const KernelKey& key, KernelFactory factory) {
  table().emplace(std::make_pair(key.domain, key.op_type), Entry{key, std::move(factory)});
}

const KernelFactory* find_kernel(const std::string& domain, const std::string& op_type,
                                 int64_t opset) {
  auto [begin, end] = table().equal_range(std::make_pair(domain, op_type));
  const Entry* lowest = nullptr;
  for (auto it = begin; it != end; ++it) {
    const Entry& e = it->second;
    if (opset >= e.key.since && opset <= e.key.until) return &e.factory;
    if (!lowest || e.key.since < lowest->key.since) lowest = &e;
  }
  // Models importing an opset older than any kernel's range run on the oldest kernel: every
  // registered kernel's semantics match the first opset it names, and older ones mostly agree.
  if (lowest && opset < lowest->key.since) return &lowest->factory;
  return nullptr;
}

std::vector<KernelKey> registered_kernels() {
  std::vector<KernelKey> keys;
  for (const auto& [k, e] : table()) keys.push_back(e.key);
  return keys;
}

}  // namespace nalar
