// StringNormalizer (opset 10): drops stopwords (optionally case-insensitively) and changes case.
// Case mapping is ASCII-only, which covers the en_US locale for ASCII text.
#include <set>
#include <string>
#include <vector>

#include "kernels/common.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

std::string ascii_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string ascii_upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

class StringNormalizerKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const std::string action = cfg.node.get_string("case_change_action", "NONE");
    if (action == "LOWER")
      action_ = 1;
    else if (action == "UPPER")
      action_ = 2;
    else if (action != "NONE")
      return invalid_argument("StringNormalizer: unknown case_change_action '" + action + "'");
    case_sensitive_ = cfg.node.get_int("is_case_sensitive", 0) != 0;
    for (const std::string& w : cfg.node.get_strings("stopwords"))
      stopwords_.insert(case_sensitive_ ? w : ascii_lower(w));
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("StringNormalizer: missing input");
    if (x->dtype() != DataType::kString)
      return invalid_argument("StringNormalizer: input must be a string tensor");
    const bool two_d = x->rank() == 2;
    if (!(x->rank() == 1 || (two_d && x->dim(0) == 1)))
      return invalid_argument("StringNormalizer: input must have shape [C] or [1, C], got " +
                              shape_to_string(x->shape()));
    std::vector<std::string> kept;
    const std::string* in = x->data<std::string>();
    for (int64_t i = 0; i < x->size(); ++i) {
      if (!stopwords_.empty() && stopwords_.count(case_sensitive_ ? in[i] : ascii_lower(in[i])))
        continue;
      kept.push_back(action_ == 1 ? ascii_lower(in[i]) : action_ == 2 ? ascii_upper(in[i]) : in[i]);
    }
    if (kept.empty()) kept.emplace_back();  // the spec keeps one empty string
    const int64_t c = static_cast<int64_t>(kept.size());
    Tensor y = Tensor::create(DataType::kString, two_d ? Shape{1, c} : Shape{c});
    for (int64_t i = 0; i < c; ++i) y.data<std::string>()[i] = std::move(kept[i]);
    ctx.output(0) = std::move(y);
    return Status::ok();
  }

 private:
  int action_ = 0;  // 0 none, 1 lower, 2 upper
  bool case_sensitive_ = false;
  std::set<std::string> stopwords_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "StringNormalizer", 10, kMaxOpset, StringNormalizerKernel);

}  // namespace nalar
