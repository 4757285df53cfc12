// TreeEnsembleClassifier and TreeEnsembleRegressor (ai.onnx.ml 1..3).
//
// prepare() turns the parallel attribute arrays into one flat node array per ensemble, each tree
// laid out depth-first from its root. A node holds {threshold, feature, true child, false child};
// a leaf points to itself on both sides, so a walk may run a fixed number of steps (the tree's
// depth) without a data-dependent branch. Several rows walk the same tree at once to overlap their
// memory latencies. When every branch node uses the same mode and none tracks missing values, a
// specialised walk without a mode switch is used.
//
// Scores accumulate in double. Thresholds compare in float unless nodes_values_as_tensor is double
// (then in double), like ONNX Runtime. Big batches are split over rows across threads; batch 1 of
// a large ensemble is split over trees.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "kernels/common.h"
#include "kernels/ml/ml_util.h"

namespace nalar::ml {
namespace {

enum Mode : uint8_t { kLeq = 0, kLt, kGte, kGt, kEq, kNeq, kLeaf, kMixed };

Result<Mode> parse_mode(const std::string& s) {
  if (s == "BRANCH_LEQ") return kLeq;
  if (s == "BRANCH_LT") return kLt;
  if (s == "BRANCH_GTE") return kGte;
  if (s == "BRANCH_GT") return kGt;
  if (s == "BRANCH_EQ") return kEq;
  if (s == "BRANCH_NEQ") return kNeq;
  if (s == "LEAF") return kLeaf;
  return invalid_argument("unknown node mode '" + s + "'");
}

template <class TT>
struct FlatNode {
  TT value;
  int32_t feature;
  int32_t child[2];  // [0]: the false branch, [1]: the true branch (an index, not a branch)
};

template <Mode M, class TT>
inline bool branch(TT x, TT v) {
  if constexpr (M == kLeq) return x <= v;
  if constexpr (M == kLt) return x < v;
  if constexpr (M == kGte) return x >= v;
  if constexpr (M == kGt) return x > v;
  if constexpr (M == kEq) return x == v;
  if constexpr (M == kNeq) return x != v;
  return false;
}

struct LeafVote {
  int32_t target;
  double weight;
};

enum class Aggregate { kSum, kAverage, kMin, kMax };

// The compiled ensemble, shared by both operators.
template <class TT>
struct Ensemble {
  std::vector<FlatNode<TT>> nodes;
  std::vector<uint8_t> meta;          // mode | missing_tracks_true << 3, generic walk only
  std::vector<int32_t> roots, depth;  // per tree
  std::vector<uint8_t> fixed_walk;    // per tree: walk `depth` steps without testing for leaves
  std::vector<int32_t> vote_begin;    // per node: leaf votes [vote_begin[i], vote_begin[i+1])
  std::vector<LeafVote> votes;
  std::vector<double> single_vote;     // per node: the one vote's weight (when `one_vote`)
  std::vector<int32_t> single_target;  // per node: the one vote's target (when `one_vote`)
  bool one_vote = false;               // every leaf has exactly one vote
  // Some leaf does not vote for every target: record which targets got a vote per row, since a
  // target nobody voted for reads 0 without its base value (ONNX Runtime's behaviour).
  bool track_presence = false;
  Mode mode = kMixed;  // the common branch mode, or kMixed
  int64_t n_targets = 1;
  int32_t max_feature = -1;
  int64_t total_steps = 0;  // sum of depths: the work of one row

  // L rows walk `steps` levels in lock-step; the child is picked by indexing, so there is no
  // branch to mispredict and the L independent chains overlap their load latencies.
  template <Mode M, int L>
  [[gnu::always_inline]] inline void walk_fixed(int32_t root, int32_t steps, const TT* const* rows,
                                                int32_t* out) const {
    const FlatNode<TT>* nd = nodes.data();
    int32_t idx[L];
    for (int l = 0; l < L; ++l) idx[l] = root;
    for (int32_t s = 0; s < steps; ++s)
      for (int l = 0; l < L; ++l) {
        const FlatNode<TT>& n = nd[idx[l]];
        idx[l] = n.child[branch<M>(rows[l][n.feature], n.value)];
      }
    for (int l = 0; l < L; ++l) out[l] = idx[l];
  }

  // Walks tree `t` for `k` rows (pointers into X), returning the reached nodes in `out`.
  template <Mode M>
  void walk(int32_t t, const TT* const* rows, int k, int32_t* out) const {
    const FlatNode<TT>* nd = nodes.data();
    const int32_t root = roots[static_cast<size_t>(t)];
    const int32_t steps = depth[static_cast<size_t>(t)];
    if constexpr (M != kMixed) {
      if (fixed_walk[static_cast<size_t>(t)]) {
        int r = 0;
        for (; r + 8 <= k; r += 8) walk_fixed<M, 8>(root, steps, rows + r, out + r);
        for (; r + 2 <= k; r += 2) walk_fixed<M, 2>(root, steps, rows + r, out + r);
        for (; r < k; ++r) walk_fixed<M, 1>(root, steps, rows + r, out + r);
        return;
      }
      for (int r = 0; r < k; ++r) {
        int32_t a = root;
        for (;;) {
          const FlatNode<TT>& na = nd[a];
          const int32_t next = na.child[branch<M>(rows[r][na.feature], na.value)];
          if (next == a) break;
          a = next;
        }
        out[r] = a;
      }
    } else {
      for (int r = 0; r < k; ++r) {
        int32_t a = root;
        for (;;) {
          const FlatNode<TT>& na = nd[a];
          const uint8_t m = meta[static_cast<size_t>(a)];
          if ((m & 7) == kLeaf) break;
          const TT x = rows[r][na.feature];
          bool go;
          if ((m & 8) && std::isnan(static_cast<double>(x))) {
            go = true;
          } else {
            switch (m & 7) {
              case kLeq:
                go = x <= na.value;
                break;
              case kLt:
                go = x < na.value;
                break;
              case kGte:
                go = x >= na.value;
                break;
              case kGt:
                go = x > na.value;
                break;
              case kEq:
                go = x == na.value;
                break;
              default:
                go = x != na.value;
                break;
            }
          }
          a = na.child[go];
        }
        out[r] = a;
      }
    }
  }

  void walk_any(int32_t t, const TT* const* rows, int k, int32_t* out) const {
    switch (mode) {
      case kLeq:
        return walk<kLeq>(t, rows, k, out);
      case kLt:
        return walk<kLt>(t, rows, k, out);
      case kGte:
        return walk<kGte>(t, rows, k, out);
      case kGt:
        return walk<kGt>(t, rows, k, out);
      case kEq:
        return walk<kEq>(t, rows, k, out);
      case kNeq:
        return walk<kNeq>(t, rows, k, out);
      default:
        return walk<kMixed>(t, rows, k, out);
    }
  }

  // One row walks L trees [t, t + L) in lock-step: the batch-1 form of walk_fixed.
  template <Mode M, int L>
  [[gnu::always_inline]] inline void walk_trees(int32_t t, const TT* row, int32_t* out) const {
    const FlatNode<TT>* nd = nodes.data();
    int32_t idx[L];
    int32_t steps = 0;
    for (int l = 0; l < L; ++l) {
      idx[l] = roots[static_cast<size_t>(t + l)];
      steps = std::max(steps, depth[static_cast<size_t>(t + l)]);
    }
    for (int32_t s = 0; s < steps; ++s)
      for (int l = 0; l < L; ++l) {
        const FlatNode<TT>& n = nd[idx[l]];
        idx[l] = n.child[branch<M>(row[n.feature], n.value)];
      }
    for (int l = 0; l < L; ++l) out[l] = idx[l];
  }

  template <Mode M>
  void walk_row(const TT* row, int32_t t0, int32_t t1, int32_t* out) const {
    int32_t t = t0;
    if constexpr (M != kMixed) {
      for (; t + 8 <= t1; t += 8) {
        bool fixed = true;
        for (int l = 0; l < 8; ++l) fixed = fixed && fixed_walk[static_cast<size_t>(t + l)];
        if (!fixed) break;
        walk_trees<M, 8>(t, row, out + (t - t0));
      }
    }
    for (; t < t1; ++t) walk<M>(t, &row, 1, out + (t - t0));
  }

  // The leaves reached by one row in trees [t0, t1).
  void walk_row_any(const TT* row, int32_t t0, int32_t t1, int32_t* out) const {
    switch (mode) {
      case kLeq:
        return walk_row<kLeq>(row, t0, t1, out);
      case kLt:
        return walk_row<kLt>(row, t0, t1, out);
      case kGte:
        return walk_row<kGte>(row, t0, t1, out);
      case kGt:
        return walk_row<kGt>(row, t0, t1, out);
      case kEq:
        return walk_row<kEq>(row, t0, t1, out);
      case kNeq:
        return walk_row<kNeq>(row, t0, t1, out);
      default:
        return walk_row<kMixed>(row, t0, t1, out);
    }
  }

  // Adds the votes of leaf `leaf` into one row's accumulators `a` (and presence marks `seen`).
  void add_votes(size_t leaf, Aggregate agg, double* a, uint8_t* seen) const {
    for (int32_t v = vote_begin[leaf]; v < vote_begin[leaf + 1]; ++v) {
      const LeafVote& lv = votes[static_cast<size_t>(v)];
      if (seen) seen[lv.target] = 1;
      double& dst = a[lv.target];
      switch (agg) {
        case Aggregate::kSum:
        case Aggregate::kAverage:
          dst += lv.weight;
          break;
        case Aggregate::kMin:
          dst = std::min(dst, lv.weight);
          break;
        case Aggregate::kMax:
          dst = std::max(dst, lv.weight);
          break;
      }
    }
  }

  // Adds the votes of trees [t0, t1) for rows [r0, r1) of X into acc ([rows, n_targets], row r at
  // acc + (r - r0) * n_targets) under `agg` (MIN/MAX start from +-inf). `seen` (same layout, or
  // nullptr) marks the targets that got a vote.
  void accumulate(const TT* x, int64_t stride, int64_t r0, int64_t r1, int32_t t0, int32_t t1,
                  Aggregate agg, double* acc, uint8_t* seen) const {
    constexpr int kBlock = 32;
    const bool fast_sum =
        one_vote && !seen && (agg == Aggregate::kSum || agg == Aggregate::kAverage);
    int32_t reached[kBlock];
    if (r1 - r0 < 8) {
      // Few rows: each row walks several trees at once instead.
      for (int64_t r = r0; r < r1; ++r) {
        const TT* row = x + r * stride;
        double* a = acc + (r - r0) * n_targets;
        uint8_t* sr = seen ? seen + (r - r0) * n_targets : nullptr;
        for (int32_t t = t0; t < t1; t += kBlock) {
          const int32_t te = std::min<int32_t>(t1, t + kBlock);
          walk_row_any(row, t, te, reached);
          for (int32_t i = 0; i < te - t; ++i) {
            const size_t leaf = static_cast<size_t>(reached[i]);
            if (fast_sum)
              a[single_target[leaf]] += single_vote[leaf];
            else
              add_votes(static_cast<size_t>(reached[i]), agg, a, sr);
          }
        }
      }
      return;
    }
    const TT* rows[kBlock];
    for (int64_t b = r0; b < r1; b += kBlock) {
      const int k = static_cast<int>(std::min<int64_t>(kBlock, r1 - b));
      for (int i = 0; i < k; ++i) rows[i] = x + (b + i) * stride;
      double* a = acc + (b - r0) * n_targets;
      for (int32_t t = t0; t < t1; ++t) {
        walk_any(t, rows, k, reached);
        if (fast_sum) {
          for (int i = 0; i < k; ++i) {
            const size_t leaf = static_cast<size_t>(reached[i]);
            a[i * n_targets + single_target[leaf]] += single_vote[leaf];
          }
          continue;
        }
        for (int i = 0; i < k; ++i)
          add_votes(static_cast<size_t>(reached[i]), agg, a + i * n_targets,
                    seen ? seen + (b - r0 + i) * n_targets : nullptr);
      }
    }
  }
};

struct NodeKey {
  int64_t tree, node;
  bool operator<(const NodeKey& o) const { return tree != o.tree ? tree < o.tree : node < o.node; }
};

// Builds the flat ensemble from the attributes. `prefix` is "class" or "target".
template <class TT>
Status build_ensemble(const Node& node, const std::string& prefix, int64_t n_targets,
                      const std::vector<double>& values, Ensemble<TT>& e) {
  const auto tree_ids = node.get_ints("nodes_treeids");
  const auto node_ids = node.get_ints("nodes_nodeids");
  const auto feature_ids = node.get_ints("nodes_featureids");
  const auto modes = node.get_strings("nodes_modes");
  const auto true_ids = node.get_ints("nodes_truenodeids");
  const auto false_ids = node.get_ints("nodes_falsenodeids");
  const auto missing = node.get_ints("nodes_missing_value_tracks_true");
  const size_t n = tree_ids.size();
  if (n == 0) return invalid_argument("no nodes (nodes_treeids is empty)");
  if (node_ids.size() != n || feature_ids.size() != n || modes.size() != n ||
      true_ids.size() != n || false_ids.size() != n || values.size() != n)
    return invalid_argument("nodes_* attributes must all have " + std::to_string(n) + " entries");
  if (!missing.empty() && missing.size() != n)
    return invalid_argument("nodes_missing_value_tracks_true must have " + std::to_string(n) +
                            " entries");
  if (n >= static_cast<size_t>(std::numeric_limits<int32_t>::max() / 2))
    return invalid_argument("too many nodes");
  std::map<NodeKey, size_t> index;
  for (size_t i = 0; i < n; ++i)
    if (!index.emplace(NodeKey{tree_ids[i], node_ids[i]}, i).second)
      return invalid_argument("node (tree " + std::to_string(tree_ids[i]) + ", node " +
                              std::to_string(node_ids[i]) + ") is defined twice");

  std::vector<Mode> mode(n);
  for (size_t i = 0; i < n; ++i) {
    auto m = parse_mode(modes[i]);
    if (!m.is_ok()) return m.status();
    mode[i] = *m;
  }
  // Leaf votes grouped by source node.
  const auto v_tree = node.get_ints(prefix + "_treeids");
  const auto v_node = node.get_ints(prefix + "_nodeids");
  const auto v_id = node.get_ints(prefix + "_ids");
  const std::vector<double> v_w = read_doubles(node, prefix + "_weights");
  if (v_node.size() != v_tree.size() || v_id.size() != v_tree.size() || v_w.size() != v_tree.size())
    return invalid_argument(prefix + "_* attributes must all have the same length");
  std::vector<std::vector<LeafVote>> node_votes(n);
  for (size_t j = 0; j < v_tree.size(); ++j) {
    auto it = index.find(NodeKey{v_tree[j], v_node[j]});
    if (it == index.end())
      return invalid_argument(prefix + " vote " + std::to_string(j) + " names a missing node");
    if (v_id[j] < 0 || v_id[j] >= n_targets)
      return invalid_argument(prefix + "_ids[" + std::to_string(j) +
                              "] = " + std::to_string(v_id[j]) + " is out of range [0, " +
                              std::to_string(n_targets) + ")");
    node_votes[it->second].push_back(LeafVote{static_cast<int32_t>(v_id[j]), v_w[j]});
  }

  // Roots: node id 0 of each tree, else the node no other node points at.
  std::set<int64_t> trees(tree_ids.begin(), tree_ids.end());
  std::vector<char> is_child(n, 0);
  std::vector<int64_t> kid_t(n, -1), kid_f(n, -1);
  for (size_t i = 0; i < n; ++i) {
    if (mode[i] == kLeaf) continue;
    auto t = index.find(NodeKey{tree_ids[i], true_ids[i]});
    auto f = index.find(NodeKey{tree_ids[i], false_ids[i]});
    if (t == index.end() || f == index.end())
      return invalid_argument("node (tree " + std::to_string(tree_ids[i]) + ", node " +
                              std::to_string(node_ids[i]) + ") has a child that does not exist");
    kid_t[i] = static_cast<int64_t>(t->second);
    kid_f[i] = static_cast<int64_t>(f->second);
    is_child[t->second] = is_child[f->second] = 1;
  }
  std::map<int64_t, size_t> root_of;
  for (size_t i = 0; i < n; ++i)
    if (!is_child[i] && !root_of.count(tree_ids[i])) root_of[tree_ids[i]] = i;
  for (int64_t t : trees)
    if (!root_of.count(t)) return invalid_argument("tree " + std::to_string(t) + " has no root");

  // Depth-first layout; a cycle or shared child is rejected by the visited check.
  e.n_targets = n_targets;
  std::vector<char> visited(n, 0);
  std::set<Mode> branch_modes;
  bool any_missing = false;
  std::vector<int32_t> leaf_depths;
  for (const auto& [tree, root] : root_of) {
    const int32_t root_pos = static_cast<int32_t>(e.nodes.size());
    int32_t max_depth = 0;
    int64_t depth_sum = 0, leaves = 0;
    // Stack of (source node, depth, parent position, is true child).
    struct Item {
      size_t src;
      int32_t depth, parent;
      bool on_true;
    };
    std::vector<Item> stack{{root, 0, -1, false}};
    while (!stack.empty()) {
      Item it = stack.back();
      stack.pop_back();
      if (visited[it.src])
        return invalid_argument("tree " + std::to_string(tree) + " is not a tree (node " +
                                std::to_string(node_ids[it.src]) + " is reached twice)");
      visited[it.src] = 1;
      const int32_t pos = static_cast<int32_t>(e.nodes.size());
      if (it.parent >= 0) {
        if (it.on_true)
          e.nodes[static_cast<size_t>(it.parent)].child[1] = pos;
        else
          e.nodes[static_cast<size_t>(it.parent)].child[0] = pos;
      }
      FlatNode<TT> fn{};
      const size_t s = it.src;
      const bool miss = !missing.empty() && missing[s] != 0;
      if (mode[s] == kLeaf) {
        fn.value = TT(0);
        fn.feature = 0;
        fn.child[0] = fn.child[1] = pos;
        max_depth = std::max(max_depth, it.depth);
        depth_sum += it.depth;
        ++leaves;
      } else {
        if (feature_ids[s] < 0 || feature_ids[s] >= (int64_t{1} << 30))
          return invalid_argument("nodes_featureids[" + std::to_string(s) +
                                  "] = " + std::to_string(feature_ids[s]) + " is out of range");
        fn.value = static_cast<TT>(values[s]);
        fn.feature = static_cast<int32_t>(feature_ids[s]);
        fn.child[0] = fn.child[1] = -1;
        e.max_feature = std::max(e.max_feature, fn.feature);
        branch_modes.insert(mode[s]);
        any_missing = any_missing || miss;
        // Push the false child first so the true child is laid out right after its parent.
        stack.push_back({static_cast<size_t>(kid_f[s]), it.depth + 1, pos, false});
        stack.push_back({static_cast<size_t>(kid_t[s]), it.depth + 1, pos, true});
      }
      e.nodes.push_back(fn);
      e.meta.push_back(static_cast<uint8_t>(mode[s] | (miss ? 8 : 0)));
      const auto& nv = node_votes[s];
      e.vote_begin.push_back(static_cast<int32_t>(e.votes.size()));
      e.votes.insert(e.votes.end(), nv.begin(), nv.end());
    }
    e.roots.push_back(root_pos);
    e.depth.push_back(max_depth);
    // Walk a fixed number of steps when the tree is close to balanced; otherwise stop at leaves.
    const double avg = leaves ? static_cast<double>(depth_sum) / static_cast<double>(leaves) : 0;
    e.fixed_walk.push_back(max_depth <= avg * 1.25 + 1 ? 1 : 0);
    e.total_steps += max_depth;
  }
  // Every node must hang from its tree's root: otherwise the tree has a cycle or several roots.
  for (size_t i = 0; i < n; ++i)
    if (!visited[i])
      return invalid_argument("node (tree " + std::to_string(tree_ids[i]) + ", node " +
                              std::to_string(node_ids[i]) +
                              ") is not reachable from its tree's root (a cycle or a second root)");
  e.vote_begin.push_back(static_cast<int32_t>(e.votes.size()));
  e.mode = (branch_modes.size() == 1 && !any_missing) ? *branch_modes.begin()
           : branch_modes.empty()                     ? kLeq
                                                      : kMixed;
  e.one_vote = true;
  e.single_vote.assign(e.nodes.size(), 0.0);
  e.single_target.assign(e.nodes.size(), 0);
  std::vector<char> voted(static_cast<size_t>(n_targets));
  for (size_t i = 0; i < e.nodes.size(); ++i) {
    const int32_t b = e.vote_begin[i], c = e.vote_begin[i + 1];
    if (e.meta[i] % 8 == kLeaf) {
      if (c - b != 1) e.one_vote = false;
      std::fill(voted.begin(), voted.end(), 0);
      for (int32_t v = b; v < c; ++v)
        voted[static_cast<size_t>(e.votes[static_cast<size_t>(v)].target)] = 1;
      if (std::find(voted.begin(), voted.end(), 0) != voted.end()) e.track_presence = true;
    }
    for (int32_t v = b; v < c; ++v) e.single_vote[i] += e.votes[static_cast<size_t>(v)].weight;
    if (c > b) e.single_target[i] = e.votes[static_cast<size_t>(b)].target;
  }
  return Status::ok();
}

// Runs the ensemble over X into scores [N, n_targets] (raw aggregated, before base values).
template <class TT>
Status run_ensemble(const Ensemble<TT>& e, const Tensor& xt, Aggregate agg, bool want_presence,
                    const char* op, std::vector<double>& scores, std::vector<uint8_t>& seen,
                    int64_t& n_rows) {
  std::vector<TT> holder;
  int64_t n = 0, c = 0;
  auto xr = input_as<TT>(xt, holder, n, c, op);
  if (!xr.is_ok()) return xr.status();
  const TT* x = *xr;
  if (e.max_feature >= c)
    return invalid_argument(std::string(op) + ": the trees read feature " +
                            std::to_string(e.max_feature) + " but X has " + std::to_string(c) +
                            " columns");
  n_rows = n;
  const int64_t nt = e.n_targets;
  const double init = agg == Aggregate::kMin   ? std::numeric_limits<double>::infinity()
                      : agg == Aggregate::kMax ? -std::numeric_limits<double>::infinity()
                                               : 0.0;
  scores.assign(static_cast<size_t>(n * nt), init);
  seen.assign(want_presence && e.track_presence ? static_cast<size_t>(n * nt) : 0, 0);
  const int32_t n_trees = static_cast<int32_t>(e.roots.size());
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t work_per_row = std::max<int64_t>(1, e.total_steps);
  // About 4096 node steps (a few microseconds) justify waking another thread.
  constexpr int64_t kMinStepsPerThread = 4096;
  if (n < threads && threads > 1 && work_per_row >= 2 * kMinStepsPerThread && n_trees > 1) {
    // Few rows, many trees: each thread takes a slice of the trees, then the slices merge.
    const int chunks =
        static_cast<int>(std::min<int64_t>({threads, work_per_row / kMinStepsPerThread, n_trees}));
    std::vector<std::vector<double>> part(static_cast<size_t>(chunks));
    std::vector<std::vector<uint8_t>> part_seen(static_cast<size_t>(chunks));
#pragma omp parallel for num_threads(chunks) schedule(static)
    for (int ch = 0; ch < chunks; ++ch) {
      auto& p = part[static_cast<size_t>(ch)];
      p.assign(static_cast<size_t>(n * nt), init);
      auto& ps = part_seen[static_cast<size_t>(ch)];
      ps.assign(seen.size(), 0);
      const int32_t t0 = static_cast<int32_t>(int64_t{n_trees} * ch / chunks);
      const int32_t t1 = static_cast<int32_t>(int64_t{n_trees} * (ch + 1) / chunks);
      e.accumulate(x, c, 0, n, t0, t1, agg, p.data(), ps.empty() ? nullptr : ps.data());
    }
    for (const auto& ps : part_seen)
      for (size_t i = 0; i < seen.size(); ++i) seen[i] |= ps[i];
    for (const auto& p : part)
      for (size_t i = 0; i < scores.size(); ++i) {
        switch (agg) {
          case Aggregate::kMin:
            scores[i] = std::min(scores[i], p[i]);
            break;
          case Aggregate::kMax:
            scores[i] = std::max(scores[i], p[i]);
            break;
          default:
            scores[i] += p[i];
            break;
        }
      }
    return Status::ok();
  }
  const int64_t grain = std::max<int64_t>(1, kMinStepsPerThread / work_per_row);
  parallel_for(n, grain, [&](int64_t r0, int64_t r1) {
    e.accumulate(x, c, r0, r1, 0, n_trees, agg, scores.data() + r0 * nt,
                 seen.empty() ? nullptr : seen.data() + r0 * nt);
  });
  return Status::ok();
}

// Picks float or double thresholds from the attributes, like the spec's *_as_tensor rule.
struct Thresholds {
  std::vector<double> values;
  bool as_double = false;
};

Thresholds read_thresholds(const Node& node) {
  Thresholds t;
  t.values = read_doubles(node, "nodes_values", nullptr, &t.as_double);
  return t;
}

class TreeEnsembleRegressorKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Node& node = cfg.node;
    n_targets_ = node.get_int("n_targets", 1);
    if (n_targets_ <= 0 || n_targets_ > (int64_t{1} << 24))
      return invalid_argument("TreeEnsembleRegressor: n_targets must be positive");
    auto pt =
        parse_post_transform(node.get_string("post_transform", "NONE"), "TreeEnsembleRegressor");
    if (!pt.is_ok()) return pt.status();
    post_ = *pt;
    const std::string agg = node.get_string("aggregate_function", "SUM");
    if (agg == "SUM")
      agg_ = Aggregate::kSum;
    else if (agg == "AVERAGE")
      agg_ = Aggregate::kAverage;
    else if (agg == "MIN")
      agg_ = Aggregate::kMin;
    else if (agg == "MAX")
      agg_ = Aggregate::kMax;
    else
      return invalid_argument("TreeEnsembleRegressor: unknown aggregate_function '" + agg + "'");
    base_ = read_doubles(node, "base_values");
    if (!base_.empty() && static_cast<int64_t>(base_.size()) != n_targets_)
      return invalid_argument("TreeEnsembleRegressor: base_values has " +
                              std::to_string(base_.size()) + " entries for " +
                              std::to_string(n_targets_) + " targets");
    Thresholds th = read_thresholds(node);
    double_ = th.as_double;
    Status st = double_ ? build_ensemble(node, "target", n_targets_, th.values, d_)
                        : build_ensemble(node, "target", n_targets_, th.values, f_);
    return st.with_context("TreeEnsembleRegressor");
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("TreeEnsembleRegressor: missing input X");
    std::vector<double> s;
    std::vector<uint8_t> seen;
    int64_t n = 0;
    Status st = double_ ? run_ensemble(d_, *x, agg_, true, "TreeEnsembleRegressor", s, seen, n)
                        : run_ensemble(f_, *x, agg_, true, "TreeEnsembleRegressor", s, seen, n);
    NALAR_RETURN_IF_ERROR(st);
    const double n_trees = static_cast<double>(double_ ? d_.roots.size() : f_.roots.size());
    Tensor y = Tensor::create(DataType::kFloat, {n, n_targets_});
    float* out = y.data<float>();
    for (int64_t r = 0; r < n; ++r) {
      double* row = s.data() + r * n_targets_;
      for (int64_t j = 0; j < n_targets_; ++j) {
        double v = row[j];
        if (!seen.empty() && !seen[static_cast<size_t>(r * n_targets_ + j)]) {
          row[j] = 0;  // no tree voted for this target: 0, base value not added (as ORT)
          continue;
        }
        if (agg_ == Aggregate::kAverage) v /= n_trees;
        if (!base_.empty()) v += base_[static_cast<size_t>(j)];
        row[j] = v;
      }
      apply_post_transform(post_, row, n_targets_);
      for (int64_t j = 0; j < n_targets_; ++j) out[r * n_targets_ + j] = static_cast<float>(row[j]);
    }
    ctx.output(0) = y;
    return Status::ok();
  }

 private:
  int64_t n_targets_ = 1;
  PostTransform post_ = PostTransform::kNone;
  Aggregate agg_ = Aggregate::kSum;
  std::vector<double> base_;
  bool double_ = false;
  Ensemble<float> f_;
  Ensemble<double> d_;
};

class TreeEnsembleClassifierKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Node& node = cfg.node;
    const char* op = "TreeEnsembleClassifier";
    auto labels = read_class_labels(node, "classlabels_int64s", op);
    if (!labels.is_ok()) return labels.status();
    labels_ = *labels;
    n_classes_ = labels_.size();
    if (n_classes_ == 0) return invalid_argument("TreeEnsembleClassifier: no class labels");
    auto pt = parse_post_transform(node.get_string("post_transform", "NONE"), op);
    if (!pt.is_ok()) return pt.status();
    post_ = *pt;
    base_ = read_doubles(node, "base_values");
    Thresholds th = read_thresholds(node);
    double_ = th.as_double;
    Status st = double_ ? build_ensemble(node, "class", n_classes_, th.values, d_)
                        : build_ensemble(node, "class", n_classes_, th.values, f_);
    NALAR_RETURN_IF_ERROR(st.with_context(op));
    // Which classes ever get a vote; one voted class out of two is the single-score binary case.
    const auto ids = node.get_ints("class_ids");
    const std::vector<double> w = read_doubles(node, "class_weights");
    used_.assign(static_cast<size_t>(n_classes_), 0);
    for (int64_t id : ids) used_[static_cast<size_t>(id)] = 1;
    all_positive_ = std::all_of(w.begin(), w.end(), [](double v) { return v >= 0; });
    const int64_t n_used = std::count(used_.begin(), used_.end(), 1);
    binary_ = n_classes_ == 2 && n_used == 1;
    if (binary_) binary_class_ = used_[0] ? 0 : 1;
    if (!binary_ && !base_.empty() && static_cast<int64_t>(base_.size()) != n_classes_)
      return invalid_argument("TreeEnsembleClassifier: base_values has " +
                              std::to_string(base_.size()) + " entries for " +
                              std::to_string(n_classes_) + " classes");
    if (binary_ && base_.size() > 2)
      return invalid_argument("TreeEnsembleClassifier: too many base_values for two classes");
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument("TreeEnsembleClassifier: missing input X");
    std::vector<double> s;
    std::vector<uint8_t> seen;
    int64_t n = 0;
    // Which classes got votes only matters for the argmax when no base values make them all score.
    const bool presence = !binary_ && base_.empty();
    Status st =
        double_
            ? run_ensemble(d_, *x, Aggregate::kSum, presence, "TreeEnsembleClassifier", s, seen, n)
            : run_ensemble(f_, *x, Aggregate::kSum, presence, "TreeEnsembleClassifier", s, seen, n);
    NALAR_RETURN_IF_ERROR(st);
    const int64_t c = n_classes_;
    std::vector<int64_t> label(static_cast<size_t>(n));
    Tensor z = Tensor::create(DataType::kFloat, {n, c});
    float* out = z.data<float>();
    for (int64_t r = 0; r < n; ++r) {
      double* row = s.data() + r * c;
      if (binary_) {
        // One score for the positive class; the other column is derived from it.
        double v = row[binary_class_];
        if (base_.size() == 1) v += base_[0];
        if (base_.size() == 2) v += base_[1];
        // As ONNX Runtime: with all weights >= 0 the score is a probability (threshold 0.5),
        // otherwise a margin (threshold 0), whatever the post transform. SOFTMAX variants do not
        // apply to one score. (ORT writes [probit, 0] for PROBIT; Nalar writes [1 - p, p].)
        label[static_cast<size_t>(r)] = v > (all_positive_ ? 0.5 : 0.0) ? 1 : 0;
        double p0, p1;
        if (post_ == PostTransform::kLogistic) {
          p1 = sigmoid(v);
          p0 = sigmoid(-v);
        } else if (post_ == PostTransform::kProbit) {
          p1 = probit(v);
          p0 = 1 - p1;
        } else {
          p1 = v;
          p0 = all_positive_ ? 1 - v : -v;
        }
        out[r * c] = static_cast<float>(p0);
        out[r * c + 1] = static_cast<float>(p1);
        continue;
      }
      if (!base_.empty())
        for (int64_t j = 0; j < c; ++j) row[j] += base_[static_cast<size_t>(j)];
      // Argmax over classes that scored (got a vote in this row, or have base values); first
      // wins ties.
      int64_t best = -1;
      for (int64_t j = 0; j < c; ++j) {
        const bool voted = seen.empty() ? used_[static_cast<size_t>(j)] != 0
                                        : seen[static_cast<size_t>(r * c + j)] != 0;
        if (!voted && base_.empty()) continue;
        if (best < 0 || row[j] > row[best]) best = j;
      }
      label[static_cast<size_t>(r)] = best < 0 ? 0 : best;
      apply_post_transform(post_, row, c);
      for (int64_t j = 0; j < c; ++j) out[r * c + j] = static_cast<float>(row[j]);
    }
    ctx.output(0) = labels_.make(label, {n});
    if (ctx.num_outputs() > 1) ctx.output(1) = z;
    return Status::ok();
  }

 private:
  ClassLabels labels_;
  int64_t n_classes_ = 0;
  PostTransform post_ = PostTransform::kNone;
  std::vector<double> base_;
  std::vector<char> used_;
  bool all_positive_ = true;
  bool binary_ = false;
  int64_t binary_class_ = 0;
  bool double_ = false;
  Ensemble<float> f_;
  Ensemble<double> d_;
};

}  // namespace

NALAR_REGISTER_KERNEL(kDomain, "TreeEnsembleRegressor", 1, kMaxOpset, TreeEnsembleRegressorKernel);
NALAR_REGISTER_KERNEL(kDomain, "TreeEnsembleClassifier", 1, kMaxOpset,
                      TreeEnsembleClassifierKernel);

}  // namespace nalar::ml
