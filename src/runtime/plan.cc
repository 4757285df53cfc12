#include "runtime/plan.h"

#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <new>
#include <set>

#include "core/buffer_pool.h"

namespace nalar {

const Tensor* Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent_) {
    int slot = s->plan_->slot_of(name);
    if (slot >= 0 && (*s->slots_)[static_cast<size_t>(slot)].defined())
      return &(*s->slots_)[static_cast<size_t>(slot)];
  }
  return nullptr;
}

int Plan::slot_of(const std::string& name) const {
  auto it = slot_by_name_.find(name);
  return it == slot_by_name_.end() ? -1 : it->second;
}

namespace {

// A step whose first two inputs are this small runs on the calling thread alone: waking an
// OpenMP team costs more than such a step's whole work (the small-model path). The choice
// depends only on those inputs' shapes (activation and weights), which every oneDNN kernel's
// primitive cache keys on, so a cached primitive always runs with the team size it was
// created under (oneDNN sizes per-thread scratch at creation).
constexpr int64_t kSerialElements0 = 1 << 14;
constexpr int64_t kSerialElements1 = 1 << 17;

std::string op_key(const Node& n, int64_t opset) {
  return "(" + (n.domain.empty() ? std::string("ai.onnx") : n.domain) + ", " + n.op_type + ", " +
         std::to_string(opset) + ")";
}

// Kahn's algorithm over the node list; ONNX requires topological order, but producers do not
// always honour it.
Result<std::vector<size_t>> topological_order(const Graph& g, const std::set<std::string>& ready) {
  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) producer[o] = i;
  std::vector<size_t> pending(g.nodes.size(), 0);
  std::vector<std::vector<size_t>> consumers(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    std::set<size_t> deps;
    for (const auto& in : g.nodes[i].inputs) {
      if (in.empty() || ready.count(in)) continue;
      auto it = producer.find(in);
      if (it != producer.end() && it->second != i) deps.insert(it->second);
    }
    pending[i] = deps.size();
    for (size_t d : deps) consumers[d].push_back(i);
  }
  std::vector<size_t> order, queue;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (pending[i] == 0) queue.push_back(i);
  for (size_t q = 0; q < queue.size(); ++q) {
    size_t i = queue[q];
    order.push_back(i);
    for (size_t c : consumers[i])
      if (--pending[c] == 0) queue.push_back(c);
  }
  if (order.size() != g.nodes.size()) return invalid_argument("graph '" + g.name + "' has a cycle");
  return order;
}

void return_free_memory() {
  // Weights freed once packed would otherwise sit in the large-buffer cache (they came from it).
  buffer_pool::clear();
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace

Result<std::shared_ptr<const Plan>> Plan::compile(const Graph& graph, const PlanOptions& options,
                                                  const std::vector<std::string>& outer_names) {
  auto plan = std::shared_ptr<Plan>(new Plan());
  NALAR_RETURN_IF_ERROR(plan->build(graph, options, outer_names));
  return std::shared_ptr<const Plan>(std::move(plan));
}

Result<std::shared_ptr<const Plan>> Plan::compile(Graph&& graph, const PlanOptions& options,
                                                  const std::vector<std::string>& outer_names) {
  auto plan = std::shared_ptr<Plan>(new Plan());
  NALAR_RETURN_IF_ERROR(plan->build(std::move(graph), options, outer_names));
  return std::shared_ptr<const Plan>(std::move(plan));
}

Status Plan::build(Graph source, const PlanOptions& options,
                   const std::vector<std::string>& outer_names) {
  graph_ = std::make_shared<Graph>(std::move(source));
  const Graph& g = *graph_;
  auto new_slot = [&](const std::string& name) {
    auto [it, inserted] = slot_by_name_.emplace(name, static_cast<int>(num_slots_));
    if (inserted) ++num_slots_;
    return it->second;
  };

  // Slots for everything this graph defines.
  for (const auto& in : g.inputs) {
    input_names_.push_back(in.name);
    input_slots_.push_back(new_slot(in.name));
  }
  for (const auto& [name, t] : g.initializers) constants_.emplace_back(new_slot(name), t);
  std::set<std::string> defined;
  for (const auto& [name, slot] : slot_by_name_) defined.insert(name);
  for (const auto& n : g.nodes)
    for (const auto& o : n.outputs)
      if (!o.empty()) {
        new_slot(o);
        defined.insert(o);
      }
  const std::set<std::string> outer(outer_names.begin(), outer_names.end());
  std::vector<std::string> visible(defined.begin(), defined.end());
  visible.insert(visible.end(), outer_names.begin(), outer_names.end());

  std::set<std::string> ready;
  for (const auto& in : g.inputs) ready.insert(in.name);
  for (const auto& [name, t] : g.initializers) ready.insert(name);
  NALAR_ASSIGN_OR_RETURN(std::vector<size_t> order, topological_order(g, ready));

  auto capture = [&](const std::string& name) -> Status {
    if (slot_by_name_.count(name)) return Status::ok();
    if (!outer.count(name))
      return invalid_argument("value '" + name + "' is used but never defined in graph '" + g.name +
                              "'");
    capture_names_.push_back(name);
    capture_slots_.push_back(new_slot(name));
    return Status::ok();
  };

  std::vector<std::string> unsupported;
  std::vector<std::vector<int>> implicit_uses;
  // Per initializer slot: uses, and uses by kernels that keep their own packed copy.
  std::map<int, std::pair<int, int>> constant_uses;
  // Readers left per initializer, to free a weight as soon as its last reader has packed it
  // (the peak then holds one weight twice, not all of them). Subgraphs may read any name, and
  // graph outputs must stay: those keep their initializers to the end.
  std::map<std::string, int> readers_left;
  bool early_release = true;
  for (const auto& n : g.nodes) {
    for (const auto& [name, attr] : n.attributes)
      if (attr.g || !attr.graphs.empty()) early_release = false;
    for (const auto& in : n.inputs)
      if (g.initializers.count(in)) ++readers_left[in];
  }
  for (const auto& out : g.outputs) readers_left.erase(out.name);
  for (const auto& in : g.inputs) readers_left.erase(in.name);
  std::set<std::string> kept_by_a_reader;
  size_t freed_bytes = 0;
  for (size_t idx : order) {
    const Node& node = g.nodes[idx];
    Step step;
    step.node = &node;
    for (const auto& [name, attr] : node.attributes)
      if (attr.g || !attr.graphs.empty()) step.has_subgraph = true;
    KernelConfig config{node, 0, {}, options.num_threads, nullptr, options.precision};
    auto op = options.opsets.find(node.domain);
    config.opset = op == options.opsets.end() ? 0 : op->second;
    for (const auto& in : node.inputs) {
      if (in.empty()) {
        step.inputs.push_back(-1);
        config.constant_inputs.push_back(nullptr);
        continue;
      }
      if (!defined.count(in)) NALAR_RETURN_IF_ERROR(capture(in).with_context(node.describe()));
      step.inputs.push_back(slot_of(in));
      auto init = g.initializers.find(in);
      bool is_graph_input = std::any_of(g.inputs.begin(), g.inputs.end(),
                                        [&](const TensorInfo& i) { return i.name == in; });
      config.constant_inputs.push_back(
          init != g.initializers.end() && !is_graph_input ? &init->second : nullptr);
    }
    for (const auto& o : node.outputs) step.outputs.push_back(o.empty() ? -1 : slot_of(o));

    std::vector<std::string> sub_captures;
    config.compile_subgraph = [&](const Graph& sub) -> Result<std::shared_ptr<const Plan>> {
      auto p = Plan::compile(sub, options, visible);
      if (p.is_ok())
        for (const auto& c : (*p)->captures()) sub_captures.push_back(c);
      return p;
    };
    const KernelFactory* factory = find_kernel(node.domain, node.op_type, config.opset);
    if (!factory) {
      std::string key = op_key(node, config.opset);
      if (std::find(unsupported.begin(), unsupported.end(), key) == unsupported.end())
        unsupported.push_back(key);
      steps_.push_back(std::move(step));
      implicit_uses.emplace_back();
      continue;
    }
    step.kernel = (*factory)();
    Status st = step.kernel->prepare(config);
    if (!st.is_ok()) {
      // A subgraph with unsupported operators reports them like the main graph does.
      if (st.code() == StatusCode::kUnimplemented &&
          st.message().rfind("unsupported operators", 0) == 0) {
        unsupported.push_back(st.message().substr(st.message().find(':') + 2));
        steps_.push_back(std::move(step));
        implicit_uses.emplace_back();
        continue;
      }
      return st.with_context(node.describe());
    }
    for (size_t i = 0; i < step.inputs.size(); ++i)
      if (config.constant_inputs[i]) {
        auto& uses = constant_uses[step.inputs[i]];
        ++uses.first;
        if (step.kernel->releases_constant_input(i))
          ++uses.second;
        else
          kept_by_a_reader.insert(node.inputs[i]);
        auto left = readers_left.find(node.inputs[i]);
        if (early_release && left != readers_left.end() && --left->second == 0 &&
            !kept_by_a_reader.count(node.inputs[i])) {
          Tensor& original = graph_->initializers[node.inputs[i]];
          freed_bytes += original.nbytes();
          original = Tensor();
          for (auto& [slot, t] : constants_)
            if (slot == step.inputs[i]) t = Tensor();
          // Freed weights are heap holes that packed copies (aligned, a little larger) do not
          // fit: return them to the system now and then, or the peak grows by their sum.
          if (freed_bytes >= (size_t{32} << 20)) {
            return_free_memory();
            freed_bytes = 0;
          }
        }
      }
    std::vector<int> implicit;
    for (const auto& c : sub_captures) {
      if (!defined.count(c)) NALAR_RETURN_IF_ERROR(capture(c));
      implicit.push_back(slot_of(c));
    }
    steps_.push_back(std::move(step));
    implicit_uses.push_back(std::move(implicit));
  }
  if (!unsupported.empty()) {
    std::string list;
    for (const auto& u : unsupported) list += (list.empty() ? "" : ", ") + u;
    return unimplemented("unsupported operators: " + list);
  }

  for (const auto& out : g.outputs) {
    if (!slot_by_name_.count(out.name)) NALAR_RETURN_IF_ERROR(capture(out.name));
    output_names_.push_back(out.name);
    output_slots_.push_back(slot_of(out.name));
  }

  // Free each value after the step that reads it last (graph outputs live to the end).
  std::vector<int> last_use(num_slots_, -1);
  for (size_t s = 0; s < steps_.size(); ++s) {
    for (int in : steps_[s].inputs)
      if (in >= 0) last_use[static_cast<size_t>(in)] = static_cast<int>(s);
    for (int in : implicit_uses[s]) last_use[static_cast<size_t>(in)] = static_cast<int>(s);
  }
  for (int o : output_slots_) last_use[static_cast<size_t>(o)] = -1;

  // Drop initializers whose every reader pre-packed them (and that nothing else can see:
  // graph outputs, subgraph captures), so the weights are not held twice.
  std::set<int> kept;
  for (int o : output_slots_) kept.insert(o);
  for (const auto& implicit : implicit_uses) kept.insert(implicit.begin(), implicit.end());
  std::vector<std::pair<int, Tensor>> constants;
  for (auto& [slot, t] : constants_) {
    auto it = constant_uses.find(slot);
    const bool release = it != constant_uses.end() && it->second.first > 0 &&
                         it->second.first == it->second.second && !kept.count(slot);
    if (!release) constants.emplace_back(slot, std::move(t));
  }
  const bool dropped_any = constants.size() != constants_.size();
  constants_ = std::move(constants);
  if (dropped_any) {
    std::set<int> live;
    for (const auto& [slot, t] : constants_) live.insert(slot);
    for (auto it = graph_->initializers.begin(); it != graph_->initializers.end();) {
      const int slot = slot_of(it->first);
      const bool dropped = constant_uses.count(slot) && !live.count(slot) && !kept.count(slot);
      it = dropped ? graph_->initializers.erase(it) : std::next(it);
    }
  }
  for (size_t slot = 0; slot < num_slots_; ++slot)
    if (last_use[slot] >= 0)
      steps_[static_cast<size_t>(last_use[slot])].release.push_back(static_cast<int>(slot));
  return Status::ok();
}

Result<std::vector<Tensor>> Plan::run(const std::vector<Tensor>& inputs, const Scope* outer,
                                      int num_threads) const {
  std::vector<Tensor> slots(num_slots_);
  for (const auto& [slot, t] : constants_) slots[static_cast<size_t>(slot)] = t;
  for (size_t i = 0; i < input_slots_.size() && i < inputs.size(); ++i)
    if (inputs[i].defined()) slots[static_cast<size_t>(input_slots_[i])] = inputs[i];
  for (size_t i = 0; i < input_slots_.size(); ++i)
    if (!slots[static_cast<size_t>(input_slots_[i])].defined())
      return invalid_argument("missing input '" + input_names_[i] + "'");
  for (size_t i = 0; i < capture_slots_.size(); ++i) {
    const Tensor* t = outer ? outer->lookup(capture_names_[i]) : nullptr;
    if (!t) return internal_error("captured value '" + capture_names_[i] + "' is not available");
    slots[static_cast<size_t>(capture_slots_[i])] = *t;
  }
  Scope scope(this, &slots, outer);
  // Steps may narrow the team to one thread; the caller gets its team size back on any exit.
  struct TeamRestore {
    int threads;
    ~TeamRestore() {
      if (threads > 1 && omp_get_max_threads() != threads) omp_set_num_threads(threads);
    }
  } restore{num_threads};

  for (const Step& step : steps_) {
    std::vector<const Tensor*> ins;
    ins.reserve(step.inputs.size());
    for (int s : step.inputs) {
      const Tensor* t = s >= 0 ? &slots[static_cast<size_t>(s)] : nullptr;
      ins.push_back(t && t->defined() ? t : nullptr);
    }
    if (num_threads > 1) {
      const bool serial = !step.has_subgraph && !ins.empty() && ins[0] &&
                          ins[0]->size() < kSerialElements0 &&
                          (ins.size() < 2 || !ins[1] || ins[1]->size() < kSerialElements1);
      const int want = serial ? 1 : num_threads;
      if (omp_get_max_threads() != want) omp_set_num_threads(want);
    }
    KernelContext ctx(std::move(ins), step.outputs.size(), num_threads, &scope);
    Status st;
    try {
      st = step.kernel->compute(ctx);
    } catch (const std::bad_alloc&) {
      st = Status(StatusCode::kResourceExhausted, "out of memory");
    } catch (const std::exception& e) {
      st = internal_error(e.what());
    }
    if (!st.is_ok()) return st.with_context(step.node->describe());
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      if (step.outputs[o] < 0) continue;
      if (!ctx.output(o).defined())
        return internal_error(step.node->describe() + ": produced no value for output '" +
                              step.node->outputs[o] + "'");
      slots[static_cast<size_t>(step.outputs[o])] = std::move(ctx.output(o));
    }
    for (int s : step.release) slots[static_cast<size_t>(s)] = Tensor();
  }

  std::vector<Tensor> outputs;
  outputs.reserve(output_slots_.size());
  for (size_t i = 0; i < output_slots_.size(); ++i) {
    const Tensor& t = slots[static_cast<size_t>(output_slots_[i])];
    if (!t.defined()) return internal_error("output '" + output_names_[i] + "' was not computed");
    outputs.push_back(t);
  }
  return outputs;
}

}  // namespace nalar
