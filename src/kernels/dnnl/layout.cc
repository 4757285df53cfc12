// com.nalar NhwcToNchw and NchwToNhwc: the edges of the NHWC chains that layout propagation
// (src/graph/layout_propagation.cc) builds. Both keep the logical [N, C, H, W] shape and only
// reorder the bytes, through oneDNN's reorder (float32, rank 4).
#include <map>
#include <memory>
#include <mutex>

#include "kernels/dnnl/dnnl_context.h"
#include "kernels/kernel.h"

namespace nalar {
namespace {

class LayoutKernel : public Kernel {
 public:
  explicit LayoutKernel(bool to_nhwc) : to_nhwc_(to_nhwc) {}

  Status compute(KernelContext& ctx) const override {
    const char* op = to_nhwc_ ? "NchwToNhwc" : "NhwcToNchw";
    const Tensor* x = ctx.input(0);
    if (!x) return invalid_argument(std::string(op) + ": missing input");
    if (x->dtype() != DataType::kFloat || x->rank() != 4)
      return invalid_argument(std::string(op) + ": expects a rank-4 float tensor, got " +
                              x->describe());
    Tensor& y = ctx.output(0);
    y = Tensor::empty(x->dtype(), x->shape());
    if (y.size() == 0) return Status::ok();
    return dnnl_util::guard(op, [&]() -> Status {
      auto prim = get(x->shape());
      dnnl_util::execute(prim->reorder, {{DNNL_ARG_FROM, dnnl_util::wrap(prim->src, x->raw())},
                                         {DNNL_ARG_TO, dnnl_util::wrap(prim->dst, y.raw())}});
      return Status::ok();
    });
  }

 private:
  struct Prim {
    dnnl::reorder reorder;
    dnnl::memory::desc src, dst;
  };

  std::shared_ptr<const Prim> get(const Shape& shape) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(shape);
    if (it != cache_.end()) return it->second;
    using dnnl::memory;
    const memory::dims d = dnnl_util::to_dims(shape);
    memory::desc plain(d, memory::data_type::f32, memory::format_tag::abcd);
    memory::desc nhwc(d, memory::data_type::f32, memory::format_tag::acdb);
    auto p = std::make_shared<Prim>();
    p->src = to_nhwc_ ? plain : nhwc;
    p->dst = to_nhwc_ ? nhwc : plain;
    const dnnl::engine& eng = dnnl_util::engine();
    p->reorder = dnnl::reorder(
        dnnl::reorder::primitive_desc(eng, p->src, eng, p->dst, dnnl_util::user_scratch_attr()));
    if (cache_.size() >= dnnl_util::kMaxShapesPerKernel) cache_.clear();  // bound memory
    cache_.emplace(shape, p);
    return p;
  }

  bool to_nhwc_;
  mutable std::mutex mu_;
  mutable std::map<Shape, std::shared_ptr<const Prim>> cache_;
};

struct NhwcToNchwKernel : LayoutKernel {
  NhwcToNchwKernel() : LayoutKernel(false) {}
};
struct NchwToNhwcKernel : LayoutKernel {
  NchwToNhwcKernel() : LayoutKernel(true) {}
};

}  // namespace

NALAR_REGISTER_KERNEL("com.nalar", "NhwcToNchw", 1, kMaxOpset, NhwcToNchwKernel);
NALAR_REGISTER_KERNEL("com.nalar", "NchwToNhwc", 1, kMaxOpset, NchwToNhwcKernel);

}  // namespace nalar
