#include "pipeline/image_stage.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "pipeline/image/image_prep.h"

namespace nalar::pipeline {

Result<Tensor> prepare_image_batch(std::span<const Example> examples, const ImageConfig& config,
                                   int threads) {
  const int64_t n = static_cast<int64_t>(examples.size());
  const int64_t c = config.color == ColorMode::kGray ? 1 : 3;
  const Shape shape = config.layout == Layout::kNCHW ? Shape{n, c, config.height, config.width}
                                                     : Shape{n, config.height, config.width, c};
  Tensor t = Tensor::empty(config.dtype, shape);
  const size_t stride =
      static_cast<size_t>(image_example_elements(config)) * dtype_size(config.dtype);
  char* dst = static_cast<char*>(t.raw());
  // Each example writes its own slice, so examples are independent; workers take the next one
  // from a shared counter, which balances images of different sizes. Examples are claimed in
  // order, so after a failure every earlier example has been tried and the first failure is
  // the one reported; later ones are skipped.
  std::vector<Status> status(static_cast<size_t>(n));
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (int64_t i = next.fetch_add(1); i < n && !failed.load(std::memory_order_relaxed);
         i = next.fetch_add(1)) {
      Status& st = status[static_cast<size_t>(i)];
      st = prepare_image(examples[static_cast<size_t>(i)].bytes, config,
                         dst + static_cast<size_t>(i) * stride);
      if (!st.is_ok()) failed.store(true, std::memory_order_relaxed);
    }
  };
  const int64_t helpers = std::min<int64_t>(std::max(threads, 1), n) - 1;
  {
    std::vector<std::jthread> pool;
    pool.reserve(static_cast<size_t>(helpers));
    for (int64_t h = 0; h < helpers; ++h) pool.emplace_back(work);
    work();
  }  // joins the helpers
  for (int64_t i = 0; i < n; ++i)
    if (!status[static_cast<size_t>(i)].is_ok())
      return status[static_cast<size_t>(i)].with_context("example " + std::to_string(i));
  return t;
}

}  // namespace nalar::pipeline
