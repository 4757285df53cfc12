// Loop: runs the body while i < M and cond holds. Body inputs: (iteration_num, cond, carried...),
// body outputs: (cond, carried..., scan...). Scan outputs are stacked along a new first axis.
#include <limits>
#include <memory>

#include "kernels/control_flow/cf_util.h"
#include "kernels/kernel.h"
#include "runtime/plan.h"

namespace nalar {
namespace {

class LoopKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Attribute* body = cfg.node.find("body");
    if (!body || !body->g) return invalid_argument("Loop: attribute body is required");
    body_graph_ = body->g;
    NALAR_ASSIGN_OR_RETURN(body_, cfg.compile_subgraph(*body->g));
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const size_t n_carried = ctx.num_inputs() >= 2 ? ctx.num_inputs() - 2 : 0;
    if (body_->input_names().size() != n_carried + 2)
      return invalid_argument("Loop: body has " + std::to_string(body_->input_names().size()) +
                              " inputs, expected " + std::to_string(n_carried + 2));
    if (ctx.num_outputs() < n_carried)
      return invalid_argument("Loop: fewer outputs than loop-carried values");
    const size_t n_scan = ctx.num_outputs() - n_carried;
    if (body_->output_names().size() != 1 + n_carried + n_scan)
      return invalid_argument("Loop: body has " + std::to_string(body_->output_names().size()) +
                              " outputs, expected " + std::to_string(1 + n_carried + n_scan));

    int64_t trip_limit = std::numeric_limits<int64_t>::max();
    if (const Tensor* m = ctx.input(0)) {
      if (m->size() != 1 || (m->dtype() != DataType::kInt64 && m->dtype() != DataType::kInt32))
        return invalid_argument("Loop: M must be a single int64, got " + m->describe());
      trip_limit = m->dtype() == DataType::kInt64 ? m->data<int64_t>()[0] : m->data<int32_t>()[0];
    }
    bool cond = true;
    const Tensor* cond_in = ctx.input(1);
    if (cond_in) NALAR_RETURN_IF_ERROR(read_cond(*cond_in, &cond));
    if (!ctx.input(0) && !cond_in)
      return invalid_argument("Loop: neither M nor cond is given (the loop would never end)");

    std::vector<Tensor> body_in(2 + n_carried);
    for (size_t i = 0; i < n_carried; ++i) {
      const Tensor* v = ctx.input(2 + i);
      if (!v)
        return invalid_argument("Loop: loop-carried input " + std::to_string(i) + " is missing");
      body_in[2 + i] = *v;
    }
    std::vector<std::vector<Tensor>> scans(n_scan);
    for (int64_t it = 0; it < trip_limit && cond; ++it) {
      body_in[0] = Tensor::scalar<int64_t>(it);
      body_in[1] = Tensor::scalar<bool>(cond);
      NALAR_ASSIGN_OR_RETURN(std::vector<Tensor> outs,
                             body_->run(body_in, ctx.scope(), ctx.num_threads()));
      // Without a cond input, the body's cond output is ignored.
      if (cond_in) NALAR_RETURN_IF_ERROR(read_cond(outs[0], &cond));
      for (size_t i = 0; i < n_carried; ++i) body_in[2 + i] = std::move(outs[1 + i]);
      for (size_t k = 0; k < n_scan; ++k) scans[k].push_back(std::move(outs[1 + n_carried + k]));
    }

    for (size_t i = 0; i < n_carried; ++i) ctx.output(i) = std::move(body_in[2 + i]);
    for (size_t k = 0; k < n_scan; ++k) {
      const auto& parts = scans[k];
      if (parts.empty()) {
        const size_t out_index = 1 + n_carried + k;
        const TensorInfo* info =
            out_index < body_graph_->outputs.size() ? &body_graph_->outputs[out_index] : nullptr;
        ctx.output(n_carried + k) = cf::empty_like_info(info, 0);
        continue;
      }
      NALAR_RETURN_IF_ERROR(cf::check_same(parts, "Loop", "scan output " + std::to_string(k)));
      ctx.output(n_carried + k) = cf::stack(parts, parts[0].dtype(), parts[0].shape(), 0,
                                            static_cast<int64_t>(parts.size()), false);
    }
    return Status::ok();
  }

 private:
  static Status read_cond(const Tensor& t, bool* cond) {
    if (t.size() != 1 || t.dtype() != DataType::kBool)
      return invalid_argument("Loop: cond must be a single bool, got " + t.describe());
    *cond = t.data<bool>()[0];
    return Status::ok();
  }

  std::shared_ptr<Graph> body_graph_;
  std::shared_ptr<const Plan> body_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "Loop", 1, kMaxOpset, LoopKernel);

}  // namespace nalar
