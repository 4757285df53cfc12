#include "pipeline/image_stage.h"

#include "pipeline/image/image_prep.h"

namespace nalar::pipeline {

Result<Tensor> prepare_image_batch(std::span<const Example> examples, const ImageConfig& config) {
  const int64_t n = static_cast<int64_t>(examples.size());
  const int64_t c = config.color == ColorMode::kGray ? 1 : 3;
  const Shape shape = config.layout == Layout::kNCHW ? Shape{n, c, config.height, config.width}
                                                     : Shape{n, config.height, config.width, c};
  Tensor t = Tensor::empty(config.dtype, shape);
  const size_t stride =
      static_cast<size_t>(image_example_elements(config)) * dtype_size(config.dtype);
  char* dst = static_cast<char*>(t.raw());
  for (int64_t i = 0; i < n; ++i) {
    Status st = prepare_image(examples[static_cast<size_t>(i)].bytes, config,
                              dst + static_cast<size_t>(i) * stride);
    if (!st.is_ok()) return st.with_context("example " + std::to_string(i));
  }
  return t;
}

}  // namespace nalar::pipeline
