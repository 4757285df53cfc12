// ReduceMax, ReduceMin, ReduceProd, ReduceLogSum, ReduceLogSumExp (see reduce_impl.h).
#include "kernels/reduce_impl.h"

namespace nalar {
namespace {
using reduce_detail::ReduceKernel;
using reduce_detail::ROp;
}  // namespace

NALAR_REGISTER_KERNEL("", "ReduceMax", 1, kMaxOpset, ReduceKernel<ROp::kMax>);
NALAR_REGISTER_KERNEL("", "ReduceMin", 1, kMaxOpset, ReduceKernel<ROp::kMin>);
NALAR_REGISTER_KERNEL("", "ReduceProd", 1, kMaxOpset, ReduceKernel<ROp::kProd>);
NALAR_REGISTER_KERNEL("", "ReduceLogSum", 1, kMaxOpset, ReduceKernel<ROp::kLogSum>);
NALAR_REGISTER_KERNEL("", "ReduceLogSumExp", 1, kMaxOpset, ReduceKernel<ROp::kLogSumExp>);

}  // namespace nalar
