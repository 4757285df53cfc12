// Feature plumbing of ai.onnx.ml: ArrayFeatureExtractor, FeatureVectorizer and ZipMap.
//
// ZipMap turns a [N, C] probability tensor into a sequence of N maps {label: probability}. Nalar's
// values are tensors only, so Nalar's ZipMap returns its input unchanged: the float tensor [N, C]
// whose column j belongs to classlabels_*[j]. Clients that read ZipMap's output get the same
// numbers as a plain tensor (like skl2onnx's zipmap=False).
#include <cstring>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/ml/ml_util.h"

namespace nalar::ml {
namespace {

// ArrayFeatureExtractor: Z[..., k] = X[..., Y[k]] (a rank-1 X counts as one row).
class ArrayFeatureExtractorKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    const Tensor* y = ctx.input(1);
    if (!x || !y) return invalid_argument("ArrayFeatureExtractor: needs inputs X and Y");
    auto idx = read_int64s(*y, "ArrayFeatureExtractor: Y");
    if (!idx.is_ok()) return idx.status();
    if (x->rank() == 0) return invalid_argument("ArrayFeatureExtractor: X must have rank >= 1");
    const int64_t c = x->dim(x->rank() - 1);
    for (int64_t v : *idx)
      if (v < 0 || v >= c)
        return invalid_argument("ArrayFeatureExtractor: index " + std::to_string(v) +
                                " is out of range for " + std::to_string(c) + " features");
    const int64_t k = static_cast<int64_t>(idx->size());
    Shape shape = x->shape();
    if (shape.size() == 1) shape.insert(shape.begin(), 1);
    shape.back() = k;
    const int64_t rows = c ? x->size() / c : 0;
    return dispatch_all(x->dtype(), "ArrayFeatureExtractor", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      Tensor z = Tensor::create(x->dtype(), shape);
      const T* in = x->data<T>();
      T* out = z.data<T>();
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < k; ++j) out[r * k + j] = in[r * c + (*idx)[static_cast<size_t>(j)]];
      ctx.output(0) = z;
      return Status::ok();
    });
  }
};

// FeatureVectorizer: concatenates the inputs' feature columns ([N, C_i] or [N]) into a float
// [N, sum(inputdimensions)]; an input narrower than its declared dimension is zero-padded.
class FeatureVectorizerKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    dims_ = cfg.node.get_ints("inputdimensions");
    for (int64_t d : dims_)
      if (d < 0) return invalid_argument("FeatureVectorizer: negative inputdimensions");
    return Status::ok();
  }
  Status compute(KernelContext& ctx) const override {
    if (ctx.num_inputs() == 0 || !ctx.input(0))
      return invalid_argument("FeatureVectorizer: needs at least one input");
    if (dims_.size() != ctx.num_inputs())
      return invalid_argument("FeatureVectorizer: " + std::to_string(ctx.num_inputs()) +
                              " inputs but " + std::to_string(dims_.size()) + " inputdimensions");
    const Tensor* first = ctx.input(0);
    const int64_t n = first->rank() <= 1 ? 1 : first->dim(0);
    int64_t total = 0;
    for (int64_t d : dims_) total += d;
    Tensor y = Tensor::create(DataType::kFloat, {n, total});
    float* out = y.data<float>();
    int64_t col = 0;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor* x = ctx.input(i);
      if (!x)
        return invalid_argument("FeatureVectorizer: input " + std::to_string(i) + " is missing");
      const int64_t rows = x->rank() <= 1 ? 1 : x->dim(0);
      if (rows != n)
        return invalid_argument("FeatureVectorizer: input " + std::to_string(i) + " has " +
                                std::to_string(rows) + " rows, expected " + std::to_string(n));
      const int64_t c = n ? x->size() / n : 0;
      const int64_t d = dims_[i];
      NALAR_RETURN_IF_ERROR(
          dispatch_numeric(x->dtype(), "FeatureVectorizer", [&](auto tag) -> Status {
            using T = typename decltype(tag)::type;
            const T* in = x->data<T>();
            for (int64_t r = 0; r < n; ++r)
              for (int64_t j = 0; j < std::min(c, d); ++j)
                out[r * total + col + j] = static_cast<float>(in[r * c + j]);
            return Status::ok();
          }));
      col += d;
    }
    ctx.output(0) = y;
    return Status::ok();
  }

 private:
  std::vector<int64_t> dims_;
};

// ZipMap: see the file comment; the probabilities pass through as a float tensor.
class ZipMapKernel : public Kernel {
 public:
  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("ZipMap: missing input X");
    if (x->dtype() != DataType::kFloat) return unsupported_dtype("ZipMap", x->dtype());
    ctx.output(0) = *x;
    return Status::ok();
  }
};

}  // namespace

NALAR_REGISTER_KERNEL(kDomain, "ArrayFeatureExtractor", 1, kMaxOpset, ArrayFeatureExtractorKernel);
NALAR_REGISTER_KERNEL(kDomain, "FeatureVectorizer", 1, kMaxOpset, FeatureVectorizerKernel);
NALAR_REGISTER_KERNEL(kDomain, "ZipMap", 1, kMaxOpset, ZipMapKernel);

}  // namespace nalar::ml
