#include "nalar/session.h"

#include <malloc.h>
#include <omp.h>
#include <xmmintrin.h>

#include <algorithm>
#include <new>
#include <set>

#include "core/buffer_pool.h"
#include "graph/optimizer.h"
#include "onnx/loader.h"
#include "runtime/plan.h"

namespace nalar {

namespace {

// MXCSR bits: flush-to-zero (results) and denormals-are-zero (inputs).
constexpr unsigned kFtzDaz = 0x8040;

// The FTZ/DAZ mode (0 unknown, 1 off, 2 on) and team size last set on this caller's OpenMP
// workers, which persist between runs: a parallel region sets them only when these change.
thread_local int t_worker_ftz = 0;
thread_local int t_worker_team = 0;

void set_ftz(bool on) {
  const unsigned csr = _mm_getcsr();
  _mm_setcsr(on ? (csr | kFtzDaz) : (csr & ~kFtzDaz));
}

// Brings this caller's OpenMP workers to the wanted denormal mode. New workers inherit the
// caller's MXCSR when created, existing ones need a parallel region.
void prepare_workers(bool ftz, int threads) {
  const int mode = ftz ? 2 : 1;
  if (t_worker_ftz == mode && t_worker_team >= threads) return;
#pragma omp parallel num_threads(threads)
  set_ftz(ftz);
  t_worker_ftz = mode;
  t_worker_team = std::max(t_worker_team, threads);
}

}  // namespace

// The session's internals: the model, its compiled plan, and the validated interface.
class Runtime {
 public:
  static Result<std::unique_ptr<Runtime>> create(Model model, const SessionOptions& options) {
    auto rt = std::unique_ptr<Runtime>(new Runtime());
    rt->num_threads_ = options.num_threads > 0 ? options.num_threads : omp_get_num_procs();
    rt->flush_denormals_ = options.flush_denormals;
    // Kernels parallelise only the outermost level; nested teams would oversubscribe.
    omp_set_max_active_levels(1);
    rt->model_ = std::move(model);
    NALAR_RETURN_IF_ERROR(
        optimize_graph(rt->model_.graph, rt->model_.opsets, options.optimization_level)
            .with_context(rt->model_.source));
    const Graph& g = rt->model_.graph;
    // Graph inputs that are also initializers are optional overrides (IR < 4 style); the rest
    // are what callers must feed.
    for (const auto& in : g.inputs) {
      if (g.initializers.count(in.name)) rt->optional_inputs_.insert(in.name);
      rt->inputs_.push_back(in);
    }
    rt->outputs_ = g.outputs;
    PlanOptions plan_options;
    plan_options.num_threads = rt->num_threads_;
    plan_options.opsets = rt->model_.opsets;
    plan_options.precision = options.precision;
    // Kernels may create oneDNN primitives while planning: under the team size runs use.
    const int caller_threads = omp_get_max_threads();
    omp_set_num_threads(rt->num_threads_);
    auto plan = Plan::compile(std::move(rt->model_.graph), plan_options, {});
    omp_set_num_threads(caller_threads);
    if (!plan.is_ok()) return plan.status().with_context(rt->model_.source);
    rt->plan_ = std::move(plan).value();
    // The plan keeps what it needs (nodes, the constants kernels still read); dropping the
    // session's copy lets weights that kernels pre-packed be freed.
    rt->model_.graph = Graph();
    buffer_pool::clear();  // the originals were large buffers: keep none of them cached
#ifdef __GLIBC__
    // Hand the freed originals back to the system: they were heap blocks below glibc's (grown)
    // mmap threshold, which free() alone keeps in the process.
    malloc_trim(0);
#endif
    return rt;
  }

  Result<NamedTensors> run(const NamedTensors& named) const {
    std::vector<Tensor> feeds(inputs_.size());
    for (const auto& [name, tensor] : named) {
      size_t i = 0;
      while (i < inputs_.size() && inputs_[i].name != name) ++i;
      if (i == inputs_.size()) {
        std::string expected;
        for (const auto& in : inputs_) expected += (expected.empty() ? "'" : ", '") + in.name + "'";
        return invalid_argument("unknown input '" + name + "'; the model's inputs are " + expected);
      }
      if (feeds[i].defined()) return invalid_argument("input '" + name + "' given twice");
      NALAR_RETURN_IF_ERROR(validate(inputs_[i], tensor));
      feeds[i] = tensor;
    }
    for (size_t i = 0; i < inputs_.size(); ++i)
      if (!feeds[i].defined() && !optional_inputs_.count(inputs_[i].name))
        return invalid_argument("missing input '" + inputs_[i].name + "' (" + describe(inputs_[i]) +
                                ")");

    // The team size stays the session's: oneDNN sizes per-thread scratch when a primitive is
    // created, so running a cached primitive with more threads than that is unsafe, which
    // rules out shrinking teams while several callers run at once.
    const int threads = num_threads_;
    if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
    const unsigned saved_csr = _mm_getcsr();
    set_ftz(flush_denormals_);
    if (threads > 1) prepare_workers(flush_denormals_, threads);
    auto r = [&]() -> Result<std::vector<Tensor>> {
      try {
        return plan_->run(feeds, nullptr, threads);
      } catch (const std::bad_alloc&) {
        return Status(StatusCode::kResourceExhausted, "out of memory while running the model");
      }
    }();
    _mm_setcsr(saved_csr);  // the caller's own floating-point mode is left as it was
    if (!r.is_ok()) return r.status();
    std::vector<Tensor> outs = std::move(r).value();
    NamedTensors result;
    for (size_t i = 0; i < outs.size(); ++i) result.emplace_back(outputs_[i].name, outs[i]);
    return result;
  }

  const std::vector<TensorInfo>& inputs() const { return inputs_; }
  const std::vector<TensorInfo>& outputs() const { return outputs_; }
  int num_threads() const { return num_threads_; }

 private:
  Runtime() = default;

  static std::string describe(const TensorInfo& info) {
    std::string s = dtype_name(info.dtype);
    if (!info.has_shape) return s + " of any shape";
    s += "[";
    for (size_t i = 0; i < info.shape.size(); ++i) {
      if (i) s += ",";
      const Dim& d = info.shape[i];
      s += d.is_fixed() ? std::to_string(d.value) : (d.param.empty() ? "?" : d.param);
    }
    return s + "]";
  }

  // Checks a fed tensor against the declared type: dtype, rank and every fixed dimension.
  static Status validate(const TensorInfo& info, const Tensor& t) {
    const std::string what = "input '" + info.name + "'";
    if (!t.defined()) return invalid_argument(what + " is an empty tensor");
    if (info.dtype != DataType::kUndefined && t.dtype() != info.dtype)
      return invalid_argument(what + ": expected dtype " + dtype_name(info.dtype) + ", got " +
                              dtype_name(t.dtype()));
    if (!info.has_shape) return Status::ok();
    if (t.rank() != static_cast<int64_t>(info.shape.size()))
      return invalid_argument(what + ": expected rank " + std::to_string(info.shape.size()) + " (" +
                              describe(info) + "), got rank " + std::to_string(t.rank()) + " " +
                              shape_to_string(t.shape()));
    for (size_t d = 0; d < info.shape.size(); ++d)
      if (info.shape[d].is_fixed() && info.shape[d].value != t.dim(static_cast<int64_t>(d)))
        return invalid_argument(what + ": dimension " + std::to_string(d) + " must be " +
                                std::to_string(info.shape[d].value) + " (" + describe(info) +
                                "), got " + shape_to_string(t.shape()));
    return Status::ok();
  }

  Model model_;
  std::shared_ptr<const Plan> plan_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  std::set<std::string> optional_inputs_;
  int num_threads_ = 1;
  bool flush_denormals_ = true;
};

Session::Session(std::unique_ptr<Runtime> runtime) : runtime_(std::move(runtime)) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::load(const std::string& path,
                                               const SessionOptions& options) {
  NALAR_ASSIGN_OR_RETURN(Model model, load_model_file(path, {.infer_shapes = true}));
  NALAR_ASSIGN_OR_RETURN(auto rt, Runtime::create(std::move(model), options));
  return std::unique_ptr<Session>(new Session(std::move(rt)));
}

Result<std::unique_ptr<Session>> Session::load_from_bytes(const void* data, size_t size,
                                                          const SessionOptions& options) {
  NALAR_ASSIGN_OR_RETURN(Model model,
                         load_model_bytes(data, size, "", "<bytes>", {.infer_shapes = true}));
  NALAR_ASSIGN_OR_RETURN(auto rt, Runtime::create(std::move(model), options));
  return std::unique_ptr<Session>(new Session(std::move(rt)));
}

const std::vector<TensorInfo>& Session::inputs() const { return runtime_->inputs(); }
const std::vector<TensorInfo>& Session::outputs() const { return runtime_->outputs(); }
int Session::num_threads() const { return runtime_->num_threads(); }

Result<NamedTensors> Session::run(const NamedTensors& inputs) const {
  return runtime_->run(inputs);
}

}  // namespace nalar
