// TfIdfVectorizer (opset 9): counts the n-grams of a pool in each row of tokens, with skips.
// The pool holds all 1-grams, then all 2-grams, ... (ngram_counts gives where each length
// starts); ngram_indexes maps the k-th pool n-gram to its output column.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

class TfIdfVectorizerKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Node& n = cfg.node;
    min_n_ = n.get_int("min_gram_length", 1);
    max_n_ = n.get_int("max_gram_length", 1);
    max_skip_ = n.get_int("max_skip_count", 0);
    const std::string mode = n.get_string("mode", "TF");
    if (mode == "TF")
      mode_ = 0;
    else if (mode == "IDF")
      mode_ = 1;
    else if (mode == "TFIDF")
      mode_ = 2;
    else
      return invalid_argument("TfIdfVectorizer: unknown mode '" + mode + "'");
    if (min_n_ < 1 || max_n_ < min_n_ || max_skip_ < 0)
      return invalid_argument("TfIdfVectorizer: invalid gram lengths or skip count");
    const std::vector<int64_t> counts = n.get_ints("ngram_counts");
    const std::vector<int64_t> indexes = n.get_ints("ngram_indexes");
    weights_ = n.get_floats("weights");
    use_strings_ = n.has("pool_strings");
    const std::vector<int64_t> pool_i = n.get_ints("pool_int64s");
    const std::vector<std::string> pool_s = n.get_strings("pool_strings");
    const int64_t pool_size = static_cast<int64_t>(use_strings_ ? pool_s.size() : pool_i.size());
    int64_t k = 0;  // n-gram ordinal across the pool
    for (size_t g = 0; g < counts.size(); ++g) {
      const int64_t len = static_cast<int64_t>(g) + 1;
      const int64_t begin = counts[g];
      const int64_t end = g + 1 < counts.size() ? counts[g + 1] : pool_size;
      if (begin < 0 || end > pool_size || begin > end || (end - begin) % len != 0)
        return invalid_argument("TfIdfVectorizer: ngram_counts does not partition the pool");
      for (int64_t p = begin; p < end; p += len, ++k) {
        if (k >= static_cast<int64_t>(indexes.size()))
          return invalid_argument("TfIdfVectorizer: ngram_indexes is shorter than the pool");
        const int64_t col = indexes[k];
        if (col < 0) return invalid_argument("TfIdfVectorizer: negative ngram index");
        std::vector<std::string> key;
        for (int64_t j = 0; j < len; ++j)
          key.push_back(use_strings_ ? pool_s[p + j] : std::to_string(pool_i[p + j]));
        grams_[key] = col;
        out_size_ = std::max(out_size_, col + 1);
      }
    }
    if (!weights_.empty() && static_cast<int64_t>(weights_.size()) < out_size_)
      return invalid_argument("TfIdfVectorizer: weights is shorter than the output");
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("TfIdfVectorizer: missing input");
    if (x->rank() < 1 || x->rank() > 2)
      return invalid_argument("TfIdfVectorizer: input must have shape [C] or [N, C]");
    const int64_t rows = x->rank() == 2 ? x->dim(0) : 1;
    const int64_t c = x->dim(x->rank() - 1);
    std::vector<std::string> tokens(static_cast<size_t>(x->size()));
    if (x->dtype() == DataType::kString) {
      if (!use_strings_ && !grams_.empty())
        return invalid_argument("TfIdfVectorizer: string input but an integer pool");
      for (int64_t i = 0; i < x->size(); ++i) tokens[i] = x->data<std::string>()[i];
    } else {
      NALAR_ASSIGN_OR_RETURN(auto v, read_int64s(*x, "TfIdfVectorizer"));
      for (int64_t i = 0; i < x->size(); ++i) tokens[i] = std::to_string(v[i]);
    }
    Tensor y = Tensor::create(DataType::kFloat,
                              x->rank() == 2 ? Shape{rows, out_size_} : Shape{out_size_});
    float* out = y.data<float>();
    std::vector<std::string> key;
    for (int64_t r = 0; r < rows; ++r) {
      const std::string* row = tokens.data() + r * c;
      float* orow = out + r * out_size_;
      for (int64_t start = 0; start < c; ++start) {
        for (int64_t skip = 0; skip <= max_skip_; ++skip) {
          key.clear();
          for (int64_t len = 1; len <= max_n_; ++len) {
            const int64_t pos = start + (len - 1) * (skip + 1);
            if (pos >= c) break;
            key.push_back(row[pos]);
            // A 1-gram is the same for every skip: count it once.
            if (len < min_n_ || (len == 1 && skip > 0)) continue;
            auto it = grams_.find(key);
            if (it != grams_.end()) orow[it->second] += 1.0f;
          }
        }
      }
      for (int64_t j = 0; j < out_size_; ++j) {
        const float w = weights_.empty() ? 1.0f : weights_[j];
        if (mode_ == 1)
          orow[j] = orow[j] > 0 ? w : 0.0f;
        else if (mode_ == 2)
          orow[j] *= w;
      }
    }
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  int64_t min_n_ = 1, max_n_ = 1, max_skip_ = 0;
  int mode_ = 0;  // 0 TF, 1 IDF, 2 TFIDF
  bool use_strings_ = false;
  std::vector<float> weights_;
  std::map<std::vector<std::string>, int64_t> grams_;
  int64_t out_size_ = 0;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "TfIdfVectorizer", 9, kMaxOpset, TfIdfVectorizerKernel);

}  // namespace nalar
