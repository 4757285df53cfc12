// If: runs then_branch or else_branch (both compiled at prepare) and returns its outputs.
#include <memory>

#include "kernels/kernel.h"
#include "runtime/plan.h"

namespace nalar {
namespace {

class IfKernel : public Kernel {
 public:
  Status prepare(const KernelConfig& cfg) override {
    const Attribute* then_attr = cfg.node.find("then_branch");
    const Attribute* else_attr = cfg.node.find("else_branch");
    if (!then_attr || !then_attr->g || !else_attr || !else_attr->g)
      return invalid_argument("If: attributes then_branch and else_branch are required");
    NALAR_ASSIGN_OR_RETURN(then_, cfg.compile_subgraph(*then_attr->g));
    NALAR_ASSIGN_OR_RETURN(else_, cfg.compile_subgraph(*else_attr->g));
    return Status::ok();
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* cond = ctx.input(0);
    if (!cond) return invalid_argument("If: missing input 'cond'");
    if (cond->dtype() != DataType::kBool || cond->size() != 1)
      return invalid_argument("If: cond must be a single bool, got " + cond->describe());
    const bool take_then = cond->data<bool>()[0];
    const Plan& branch = take_then ? *then_ : *else_;
    NALAR_ASSIGN_OR_RETURN(std::vector<Tensor> outs,
                           branch.run({}, ctx.scope(), ctx.num_threads()));
    if (outs.size() < ctx.num_outputs())
      return invalid_argument(std::string("If: ") + (take_then ? "then" : "else") +
                              "_branch produces " + std::to_string(outs.size()) +
                              " outputs, the node expects " + std::to_string(ctx.num_outputs()));
    for (size_t i = 0; i < ctx.num_outputs(); ++i) ctx.output(i) = std::move(outs[i]);
    return Status::ok();
  }

 private:
  std::shared_ptr<const Plan> then_, else_;
};

}  // namespace

NALAR_REGISTER_KERNEL("", "If", 1, kMaxOpset, IfKernel);

}  // namespace nalar
