// Scan. Opset 9+: inputs are N states then M scan inputs, each scanned along its own axis and
// direction; scan outputs are stacked along scan_output_axes (reversed per
// scan_output_directions). Opset 8: every input has a leading batch axis, scan inputs are scanned
// along axis 1 for sequence_lens[b] steps (optional first input), "directions" gives the scan
// input directions, and scan outputs are [batch, seq, ...] with unused steps zero.
#include <algorithm>
#include <memory>

#include "kernels/common.h"
#include "kernels/control_flow/cf_util.h"
#include "kernels/kernel.h"
#include "runtime/plan.h"

namespace nalar {
namespace {

class ScanKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Attribute* body = cfg.node.find("body");
    if (!body || !body->g) return invalid_argument("Scan: attribute body is required");
    body_graph_ = body->g;
    opset8_ = cfg.opset < 9;
    num_scan_inputs_ = cfg.node.get_int("num_scan_inputs", -1);
    if (num_scan_inputs_ < 1)
      return invalid_argument("Scan: attribute num_scan_inputs must be positive");
    if (opset8_) {
      in_dirs_ = cfg.node.get_ints("directions");
    } else {
      in_dirs_ = cfg.node.get_ints("scan_input_directions");
      out_dirs_ = cfg.node.get_ints("scan_output_directions");
      in_axes_ = cfg.node.get_ints("scan_input_axes");
      out_axes_ = cfg.node.get_ints("scan_output_axes");
    }
    auto check_len = [&](const std::vector<int64_t>& v, const char* name) -> Status {
      if (!v.empty() && static_cast<int64_t>(v.size()) != num_scan_inputs_)
        return invalid_argument(std::string("Scan: ") + name + " must have num_scan_inputs (" +
                                std::to_string(num_scan_inputs_) + ") entries");
      return Status::ok();
    };
    NALAR_RETURN_IF_ERROR(check_len(in_dirs_, opset8_ ? "directions" : "scan_input_directions"));
    NALAR_RETURN_IF_ERROR(check_len(in_axes_, "scan_input_axes"));
    NALAR_ASSIGN_OR_RETURN(body_, cfg.compile_subgraph(*body->g));
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const size_t first = opset8_ ? 1 : 0;  // opset 8 starts with sequence_lens
    const size_t m = static_cast<size_t>(num_scan_inputs_);
    if (ctx.num_inputs() < first + m)
      return invalid_argument("Scan: fewer inputs than num_scan_inputs");
    const size_t n = ctx.num_inputs() - first - m;
    if (ctx.num_outputs() < n) return invalid_argument("Scan: fewer outputs than states");
    const size_t k = ctx.num_outputs() - n;
    if (body_->input_names().size() != n + m || body_->output_names().size() != n + k)
      return invalid_argument("Scan: body has " + std::to_string(body_->input_names().size()) +
                              " inputs and " + std::to_string(body_->output_names().size()) +
                              " outputs, expected " + std::to_string(n + m) + " and " +
                              std::to_string(n + k));
    if (!out_dirs_.empty() && out_dirs_.size() != k)
      return invalid_argument("Scan: scan_output_directions must have one entry per scan output");
    if (!out_axes_.empty() && out_axes_.size() != k)
      return invalid_argument("Scan: scan_output_axes must have one entry per scan output");
    std::vector<const Tensor*> ins(first + n + m);
    for (size_t i = first; i < ins.size(); ++i) {
      ins[i] = ctx.input(i);
      if (!ins[i]) return invalid_argument("Scan: input " + std::to_string(i) + " is missing");
    }
    if (opset8_) return compute_batched(ctx, ins, n, m, k);

    std::vector<Tensor> states(n), scan_in(m);
    for (size_t i = 0; i < n; ++i) states[i] = *ins[i];
    for (size_t j = 0; j < m; ++j) scan_in[j] = *ins[n + j];
    std::vector<int64_t> axes(m, 0);
    for (size_t j = 0; j < m; ++j)
      if (!in_axes_.empty()) {
        NALAR_ASSIGN_OR_RETURN(axes[j], normalize_axis(in_axes_[j], scan_in[j].rank(), "Scan"));
      }
    std::vector<std::vector<Tensor>> parts;
    int64_t len = 0;
    NALAR_RETURN_IF_ERROR(scan_once(ctx, scan_in, axes, &states, &parts, &len));
    for (size_t i = 0; i < n; ++i) ctx.output(i) = std::move(states[i]);
    for (size_t o = 0; o < k; ++o) {
      const bool reverse = !out_dirs_.empty() && out_dirs_[o] != 0;
      const int64_t raw_axis = out_axes_.empty() ? 0 : out_axes_[o];
      if (parts[o].empty()) {
        ctx.output(n + o) = cf::empty_like_info(info_of(n + o), raw_axis);
        continue;
      }
      NALAR_RETURN_IF_ERROR(cf::check_same(parts[o], "Scan", "scan output " + std::to_string(o)));
      const Tensor& p0 = parts[o][0];
      NALAR_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(raw_axis, p0.rank() + 1, "Scan"));
      ctx.output(n + o) = cf::stack(parts[o], p0.dtype(), p0.shape(), axis, len, reverse);
    }
    return Status::ok();
  }

 private:
  const TensorInfo* info_of(size_t body_output) const {
    return body_output < body_graph_->outputs.size() ? &body_graph_->outputs[body_output] : nullptr;
  }

  // Runs the body over all steps of `scan_in` (each scanned along axes[j]). `states` are updated
  // in place; parts[o] receives the per-step values of scan output o in step order.
  Status scan_once(KernelContext& ctx, const std::vector<Tensor>& scan_in,
                   const std::vector<int64_t>& axes, std::vector<Tensor>* states,
                   std::vector<std::vector<Tensor>>* parts, int64_t* len_out,
                   int64_t limit = -1) const {
    const size_t n = states->size(), m = scan_in.size();
    const size_t k = body_->output_names().size() - n;
    int64_t len = -1;
    for (size_t j = 0; j < m; ++j) {
      if (scan_in[j].rank() < 1)
        return invalid_argument("Scan: scan input " + std::to_string(j) + " must have rank >= 1");
      const int64_t l = scan_in[j].dim(axes[j]);
      if (len >= 0 && l != len)
        return invalid_argument("Scan: scan inputs have different sequence lengths (" +
                                std::to_string(len) + " and " + std::to_string(l) + ")");
      len = l;
    }
    *len_out = len;
    // A short sequence (opset 8 sequence_lens) is read backwards from its own last element.
    const int64_t steps = limit >= 0 ? std::min(limit, len) : len;
    parts->assign(k, {});
    std::vector<Tensor> body_in(n + m);
    for (int64_t s = 0; s < steps; ++s) {
      for (size_t i = 0; i < n; ++i) body_in[i] = (*states)[i];
      for (size_t j = 0; j < m; ++j) {
        const bool reverse = !in_dirs_.empty() && in_dirs_[j] != 0;
        body_in[n + j] = cf::take(scan_in[j], axes[j], reverse ? steps - 1 - s : s);
      }
      NALAR_ASSIGN_OR_RETURN(std::vector<Tensor> outs,
                             body_->run(body_in, ctx.scope(), ctx.num_threads()));
      for (size_t i = 0; i < n; ++i) (*states)[i] = std::move(outs[i]);
      for (size_t o = 0; o < k; ++o) (*parts)[o].push_back(std::move(outs[n + o]));
    }
    return Status::ok();
  }

  // Opset 8: one scan per batch entry, results stacked along the batch axis.
  Status compute_batched(KernelContext& ctx, const std::vector<const Tensor*>& ins, size_t n,
                         size_t m, size_t k) const {
    int64_t batch = -1;
    for (size_t i = 1; i < ins.size(); ++i) {
      const int64_t min_rank = i >= 1 + n ? 2 : 1;
      if (ins[i]->rank() < min_rank)
        return invalid_argument("Scan: input " + std::to_string(i) +
                                " must have rank >= " + std::to_string(min_rank) +
                                " (batch axis first), got " + ins[i]->describe());
      if (batch >= 0 && ins[i]->dim(0) != batch)
        return invalid_argument("Scan: inputs disagree on the batch size");
      batch = ins[i]->dim(0);
    }
    std::vector<int64_t> lens;
    if (const Tensor* sl = ctx.input(0)) {
      NALAR_ASSIGN_OR_RETURN(lens, read_int64s(*sl, "sequence_lens"));
      if (static_cast<int64_t>(lens.size()) != batch)
        return invalid_argument("Scan: sequence_lens must have one entry per batch entry");
    }
    const int64_t max_len = ins[1 + n]->dim(1);
    std::vector<std::vector<Tensor>> final_states(n), outputs(k);
    const std::vector<int64_t> axes(m, 0);
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<Tensor> states(n), scan_in(m);
      for (size_t i = 0; i < n; ++i) states[i] = cf::take(*ins[1 + i], 0, b);
      for (size_t j = 0; j < m; ++j) scan_in[j] = cf::take(*ins[1 + n + j], 0, b);
      int64_t limit = -1;
      if (!lens.empty()) {
        limit = lens[static_cast<size_t>(b)];
        if (limit < 0 || limit > max_len)
          return invalid_argument("Scan: sequence_lens value " + std::to_string(limit) +
                                  " is outside [0, " + std::to_string(max_len) + "]");
      }
      std::vector<std::vector<Tensor>> parts;
      int64_t len = 0;
      NALAR_RETURN_IF_ERROR(scan_once(ctx, scan_in, axes, &states, &parts, &len, limit));
      for (size_t i = 0; i < n; ++i) final_states[i].push_back(std::move(states[i]));
      for (size_t o = 0; o < k; ++o) {
        if (parts[o].empty()) {  // no steps for this entry: zeros, shaped after the others
          outputs[o].emplace_back();
          continue;
        }
        NALAR_RETURN_IF_ERROR(cf::check_same(parts[o], "Scan", "scan output " + std::to_string(o)));
        const Tensor& p0 = parts[o][0];
        outputs[o].push_back(cf::stack(parts[o], p0.dtype(), p0.shape(), 0, len, false));
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (batch == 0) {
        ctx.output(i) = *ins[1 + i];
        continue;
      }
      NALAR_RETURN_IF_ERROR(cf::check_same(final_states[i], "Scan", "final state"));
      const Tensor& p0 = final_states[i][0];
      ctx.output(i) = cf::stack(final_states[i], p0.dtype(), p0.shape(), 0, batch, false);
    }
    for (size_t o = 0; o < k; ++o) {
      if (batch == 0) {
        ctx.output(n + o) = cf::empty_like_info(info_of(n + o), 0);
        continue;
      }
      auto& per_batch = outputs[o];
      auto known = std::find_if(per_batch.begin(), per_batch.end(),
                                [](const Tensor& t) { return t.defined(); });
      Shape like_shape;
      DataType like_dtype;
      if (known != per_batch.end()) {
        like_shape = known->shape();
        like_dtype = known->dtype();
      } else {
        const Tensor e = cf::empty_like_info(info_of(n + o), 0);
        like_shape = e.shape();
        like_shape[0] = max_len;
        like_dtype = e.dtype();
      }
      for (auto& t : per_batch)
        if (!t.defined()) t = Tensor::create(like_dtype, like_shape);
      NALAR_RETURN_IF_ERROR(cf::check_same(per_batch, "Scan", "scan output " + std::to_string(o)));
      const Tensor& p0 = per_batch[0];
      ctx.output(n + o) = cf::stack(outputs[o], p0.dtype(), p0.shape(), 0, batch, false);
    }
    return Status::ok();
  }

  std::shared_ptr<Graph> body_graph_;
  std::shared_ptr<const Plan> body_;
  bool opset8_ = false;
  int64_t num_scan_inputs_ = 0;
  std::vector<int64_t> in_dirs_, out_dirs_, in_axes_, out_axes_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Scan", 8, kMaxOpset, ScanKernel);

}  // namespace nalar
