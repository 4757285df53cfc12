// Einsum: parse the equation into labelled operands, take diagonals of repeated labels, sum away
// labels nobody needs, then contract operands pairwise as batched matrix products
// (transpose to [batch, m, k] x [batch, k, n]) and transpose the result into output order.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "core/dispatch.h"
#include "kernels/common.h"
#include "kernels/einsum_parse.h"
#include "kernels/kernel.h"

namespace nalar {

namespace {

int letter_label(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

// ASCII order of labels for the implicit output ('A' < 'a').
int ascii_of(int label) { return label < 26 ? 'a' + label : 'A' + (label - 26); }

struct Term {
  std::vector<int> letters_before;  // labels before "..."
  std::vector<int> letters_after;   // labels after "..." (all labels when no ellipsis)
  bool has_ellipsis = false;
};

Result<Term> parse_term(const std::string& s) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (t.has_ellipsis || s.compare(i, 3, "...") != 0)
        return invalid_argument("Einsum: malformed ellipsis in term '" + s + "'");
      t.has_ellipsis = true;
      t.letters_before.swap(t.letters_after);
      i += 2;
      continue;
    }
    const int l = letter_label(s[i]);
    if (l < 0) return invalid_argument(std::string("Einsum: invalid character '") + s[i] + "'");
    t.letters_after.push_back(l);
  }
  return t;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts(1);
  for (char c : s) {
    if (c == sep)
      parts.emplace_back();
    else
      parts.back() += c;
  }
  return parts;
}

}  // namespace

Result<EinsumEquation> parse_einsum(const std::string& equation,
                                    const std::vector<int64_t>& ranks) {
  std::string eq;
  for (char c : equation)
    if (c != ' ' && c != '\t' && c != '\n') eq += c;
  const size_t arrow = eq.find("->");
  const bool explicit_out = arrow != std::string::npos;
  const std::string lhs = explicit_out ? eq.substr(0, arrow) : eq;
  std::vector<std::string> in_terms = split(lhs, ',');
  if (in_terms.size() != ranks.size())
    return invalid_argument("Einsum: equation '" + equation + "' names " +
                            std::to_string(in_terms.size()) + " operands but " +
                            std::to_string(ranks.size()) + " inputs were given");
  EinsumEquation out;
  std::vector<Term> terms;
  for (size_t i = 0; i < in_terms.size(); ++i) {
    NALAR_ASSIGN_OR_RETURN(Term t, parse_term(in_terms[i]));
    const int64_t letters = static_cast<int64_t>(t.letters_before.size() + t.letters_after.size());
    if (t.has_ellipsis ? letters > ranks[i] : letters != ranks[i])
      return invalid_argument("Einsum: term '" + in_terms[i] + "' does not match operand " +
                              std::to_string(i) + " of rank " + std::to_string(ranks[i]));
    if (t.has_ellipsis)
      out.ellipsis_rank = std::max<int>(out.ellipsis_rank, static_cast<int>(ranks[i] - letters));
    terms.push_back(std::move(t));
  }
  std::vector<int> uses(kEinsumEllipsisBase, 0);
  for (size_t i = 0; i < terms.size(); ++i) {
    const Term& t = terms[i];
    std::vector<int>& labels = out.inputs.emplace_back(t.letters_before);
    if (t.has_ellipsis) {
      const int e = static_cast<int>(ranks[i]) -
                    static_cast<int>(t.letters_before.size() + t.letters_after.size());
      for (int j = out.ellipsis_rank - e; j < out.ellipsis_rank; ++j)
        labels.push_back(kEinsumEllipsisBase + j);
    }
    labels.insert(labels.end(), t.letters_after.begin(), t.letters_after.end());
    for (int l : t.letters_before) ++uses[l];
    for (int l : t.letters_after) ++uses[l];
  }
  if (explicit_out) {
    NALAR_ASSIGN_OR_RETURN(Term t, parse_term(eq.substr(arrow + 2)));
    out.output = t.letters_before;
    if (t.has_ellipsis)
      for (int j = 0; j < out.ellipsis_rank; ++j) out.output.push_back(kEinsumEllipsisBase + j);
    out.output.insert(out.output.end(), t.letters_after.begin(), t.letters_after.end());
    std::set<int> seen;
    for (int l : out.output) {
      if (!seen.insert(l).second)
        return invalid_argument("Einsum: output label repeated in '" + equation + "'");
      if (l < kEinsumEllipsisBase && uses[l] == 0)
        return invalid_argument("Einsum: output label not found in any input of '" + equation +
                                "'");
    }
  } else {
    for (int j = 0; j < out.ellipsis_rank; ++j) out.output.push_back(kEinsumEllipsisBase + j);
    std::vector<int> once;
    for (int l = 0; l < kEinsumEllipsisBase; ++l)
      if (uses[l] == 1) once.push_back(l);
    std::sort(once.begin(), once.end(), [](int a, int b) { return ascii_of(a) < ascii_of(b); });
    out.output.insert(out.output.end(), once.begin(), once.end());
  }
  return out;
}

namespace {

template <class W>
struct Operand {
  std::vector<W> data;
  std::vector<int> labels;
  Shape dims;

  bool has(int l) const { return std::find(labels.begin(), labels.end(), l) != labels.end(); }
};

// Returns `a` with dimensions reordered to `order` (a permutation of a.labels).
template <class W>
Operand<W> permute(const Operand<W>& a, const std::vector<int>& order) {
  if (order == a.labels) return a;
  const size_t r = order.size();
  std::vector<int64_t> in_strides = strides_of(a.dims), src_stride(r);
  Operand<W> out;
  out.labels = order;
  out.dims.resize(r);
  for (size_t i = 0; i < r; ++i) {
    const size_t j = static_cast<size_t>(std::find(a.labels.begin(), a.labels.end(), order[i]) -
                                         a.labels.begin());
    out.dims[i] = a.dims[j];
    src_stride[i] = in_strides[j];
  }
  const int64_t total = shape_size(out.dims);
  out.data.resize(static_cast<size_t>(total));
  std::vector<int64_t> idx(r, 0);
  int64_t src = 0;
  for (int64_t k = 0; k < total; ++k) {
    out.data[k] = a.data[src];
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < out.dims[d]) {
        src += src_stride[d];
        break;
      }
      src -= src_stride[d] * (out.dims[d] - 1);
      idx[d] = 0;
    }
  }
  return out;
}

// Collapses repeated labels onto their diagonal.
template <class W>
Result<Operand<W>> diagonal(const Operand<W>& a) {
  std::vector<int> uniq;
  for (int l : a.labels)
    if (std::find(uniq.begin(), uniq.end(), l) == uniq.end()) uniq.push_back(l);
  if (uniq.size() == a.labels.size()) return a;
  std::vector<int64_t> in_strides = strides_of(a.dims);
  Operand<W> out;
  out.labels = uniq;
  std::vector<int64_t> stride(uniq.size(), 0);
  out.dims.assign(uniq.size(), -1);
  for (size_t j = 0; j < a.labels.size(); ++j) {
    const size_t u =
        static_cast<size_t>(std::find(uniq.begin(), uniq.end(), a.labels[j]) - uniq.begin());
    if (out.dims[u] >= 0 && out.dims[u] != a.dims[j])
      return invalid_argument("Einsum: repeated label has different sizes in one operand");
    out.dims[u] = a.dims[j];
    stride[u] += in_strides[j];
  }
  const int64_t total = shape_size(out.dims);
  out.data.resize(static_cast<size_t>(total));
  std::vector<int64_t> idx(uniq.size(), 0);
  for (int64_t k = 0; k < total; ++k) {
    int64_t src = 0;
    for (size_t d = 0; d < uniq.size(); ++d) src += idx[d] * stride[d];
    out.data[k] = a.data[src];
    for (size_t d = uniq.size(); d-- > 0;) {
      if (++idx[d] < out.dims[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// Sums over every label of `a` not in `keep`.
template <class W>
Operand<W> reduce(const Operand<W>& a, const std::set<int>& keep) {
  std::vector<int> kept, dropped;
  for (int l : a.labels) (keep.count(l) ? kept : dropped).push_back(l);
  if (dropped.empty()) return a;
  std::vector<int> order = kept;
  order.insert(order.end(), dropped.begin(), dropped.end());
  Operand<W> p = permute(a, order);
  Operand<W> out;
  out.labels = kept;
  out.dims.assign(p.dims.begin(), p.dims.begin() + static_cast<int64_t>(kept.size()));
  const int64_t n = shape_size(out.dims);
  const int64_t inner = n == 0 ? 0 : static_cast<int64_t>(p.data.size()) / std::max<int64_t>(n, 1);
  out.data.assign(static_cast<size_t>(n), W(0));
  for (int64_t i = 0; i < n; ++i) {
    W s = W(0);
    for (int64_t j = 0; j < inner; ++j) s += p.data[i * inner + j];
    out.data[i] = s;
  }
  return out;
}

// Repeats size-1 dims of `a` to the sizes in `want` (label -> size).
template <class W>
Operand<W> expand(const Operand<W>& a, const std::map<int, int64_t>& want) {
  Operand<W> out = a;
  bool change = false;
  for (size_t i = 0; i < a.labels.size(); ++i) {
    auto it = want.find(a.labels[i]);
    if (it != want.end() && it->second != a.dims[i]) {
      out.dims[i] = it->second;
      change = true;
    }
  }
  if (!change) return a;
  std::vector<int64_t> in_strides = strides_of(a.dims);
  for (size_t i = 0; i < a.labels.size(); ++i)
    if (a.dims[i] != out.dims[i]) in_strides[i] = 0;
  const int64_t total = shape_size(out.dims);
  out.data.assign(static_cast<size_t>(total), W(0));
  std::vector<int64_t> idx(out.dims.size(), 0);
  for (int64_t k = 0; k < total; ++k) {
    int64_t src = 0;
    for (size_t d = 0; d < idx.size(); ++d) src += idx[d] * in_strides[d];
    out.data[k] = a.data[src];
    for (size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < out.dims[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

template <class W>
int64_t size_of(const Operand<W>& a, const std::vector<int>& labels) {
  int64_t s = 1;
  for (int l : labels)
    s *= a.dims[static_cast<size_t>(std::find(a.labels.begin(), a.labels.end(), l) -
                                    a.labels.begin())];
  return s;
}

// Contracts two operands, keeping the labels in `keep`.
template <class W>
Operand<W> contract(Operand<W> a, Operand<W> b, const std::set<int>& keep) {
  std::set<int> keep_a = keep, keep_b = keep;
  keep_a.insert(b.labels.begin(), b.labels.end());
  keep_b.insert(a.labels.begin(), a.labels.end());
  a = reduce(a, keep_a);
  b = reduce(b, keep_b);
  // Broadcast shared labels of size 1 against the other operand's size.
  std::map<int, int64_t> want;
  for (size_t i = 0; i < a.labels.size(); ++i)
    for (size_t j = 0; j < b.labels.size(); ++j)
      if (a.labels[i] == b.labels[j] && a.dims[i] != b.dims[j])
        want[a.labels[i]] = std::max(a.dims[i], b.dims[j]);
  a = expand(a, want);
  b = expand(b, want);
  std::vector<int> batch, sum, a_only, b_only;
  for (int l : a.labels) {
    if (b.has(l))
      (keep.count(l) ? batch : sum).push_back(l);
    else
      a_only.push_back(l);
  }
  for (int l : b.labels)
    if (!a.has(l)) b_only.push_back(l);
  std::vector<int> order_a = batch, order_b = batch;
  order_a.insert(order_a.end(), a_only.begin(), a_only.end());
  order_a.insert(order_a.end(), sum.begin(), sum.end());
  order_b.insert(order_b.end(), sum.begin(), sum.end());
  order_b.insert(order_b.end(), b_only.begin(), b_only.end());
  Operand<W> pa = permute(a, order_a), pb = permute(b, order_b);
  const int64_t nb = size_of(pa, batch), m = size_of(pa, a_only), k = size_of(pa, sum),
                n = size_of(pb, b_only);
  Operand<W> out;
  out.labels = batch;
  out.labels.insert(out.labels.end(), a_only.begin(), a_only.end());
  out.labels.insert(out.labels.end(), b_only.begin(), b_only.end());
  for (int l : out.labels) {
    const Operand<W>& src = pa.has(l) ? pa : pb;
    out.dims.push_back(src.dims[static_cast<size_t>(
        std::find(src.labels.begin(), src.labels.end(), l) - src.labels.begin())]);
  }
  out.data.assign(static_cast<size_t>(nb * m * n), W(0));
  const W* A = pa.data.data();
  const W* B = pb.data.data();
  W* C = out.data.data();
  parallel_for(nb * m, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t bt = r / std::max<int64_t>(m, 1);
      const W* arow = A + r * k;
      const W* bmat = B + bt * k * n;
      W* crow = C + r * n;
      for (int64_t kk = 0; kk < k; ++kk) {
        const W av = arow[kk];
        const W* brow = bmat + kk * n;
        for (int64_t j = 0; j < n; ++j) crow[j] += av * brow[j];
      }
    }
  });
  return out;
}

template <class T>
using WorkType =
    std::conditional_t<std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>, float, T>;

class EinsumKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    equation_ = cfg.node.get_string("equation", "");
    if (equation_.empty()) return invalid_argument("Einsum: missing 'equation' attribute");
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const size_t num = ctx.num_inputs();
    if (num == 0) return invalid_argument("Einsum: needs at least one input");
    std::vector<int64_t> ranks;
    for (size_t i = 0; i < num; ++i) {
      if (!ctx.input(i)) return invalid_argument("Einsum: missing input " + std::to_string(i));
      if (ctx.input(i)->dtype() != ctx.input(0)->dtype())
        return invalid_argument("Einsum: all inputs must have the same element type");
      ranks.push_back(ctx.input(i)->rank());
    }
    NALAR_ASSIGN_OR_RETURN(EinsumEquation eq, parse_einsum(equation_, ranks));
    // Size of every label; size-1 dims broadcast.
    std::map<int, int64_t> label_size;
    for (size_t i = 0; i < num; ++i)
      for (size_t d = 0; d < eq.inputs[i].size(); ++d) {
        const int l = eq.inputs[i][d];
        const int64_t s = ctx.input(i)->dim(static_cast<int64_t>(d));
        auto [it, fresh] = label_size.emplace(l, s);
        if (!fresh && it->second != s) {
          if (it->second == 1)
            it->second = s;
          else if (s != 1)
            return invalid_argument("Einsum: label sizes " + std::to_string(it->second) + " and " +
                                    std::to_string(s) + " do not match in '" + equation_ + "'");
        }
      }
    const DataType dt = ctx.input(0)->dtype();
    return dispatch_numeric(dt, "Einsum", [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      using W = WorkType<T>;
      std::vector<Operand<W>> ops;
      for (size_t i = 0; i < num; ++i) {
        const Tensor* x = ctx.input(i);
        Operand<W> op;
        op.labels = eq.inputs[i];
        op.dims = x->shape();
        op.data.resize(static_cast<size_t>(x->size()));
        const T* p = x->data<T>();
        for (int64_t j = 0; j < x->size(); ++j) op.data[j] = static_cast<W>(p[j]);
        NALAR_ASSIGN_OR_RETURN(op, diagonal(op));
        ops.push_back(std::move(op));
      }
      const std::set<int> out_labels(eq.output.begin(), eq.output.end());
      // Sum early over labels only one operand uses and the output does not.
      for (size_t i = 0; i < ops.size(); ++i) {
        std::set<int> keep = out_labels;
        for (size_t j = 0; j < ops.size(); ++j)
          if (j != i) keep.insert(ops[j].labels.begin(), ops[j].labels.end());
        ops[i] = reduce(ops[i], keep);
      }
      Operand<W> cur = std::move(ops[0]);
      for (size_t i = 1; i < ops.size(); ++i) {
        std::set<int> keep = out_labels;
        for (size_t j = i + 1; j < ops.size(); ++j)
          keep.insert(ops[j].labels.begin(), ops[j].labels.end());
        cur = contract(std::move(cur), std::move(ops[i]), keep);
      }
      cur = reduce(cur, out_labels);
      std::map<int, int64_t> want;
      for (int l : eq.output) want[l] = label_size[l];
      cur = expand(cur, want);
      cur = permute(cur, eq.output);
      Shape out_shape;
      for (int l : eq.output) out_shape.push_back(label_size[l]);
      Tensor y = Tensor::create(dt, out_shape);
      T* o = y.data<T>();
      for (size_t j = 0; j < cur.data.size(); ++j) o[j] = static_cast<T>(cur.data[j]);
      ctx.output(0) = std::move(y);
      return Status::ok();
    });
  }

 private:
  std::string equation_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Einsum", 12, kMaxOpset, EinsumKernel);

}  // namespace nalar
