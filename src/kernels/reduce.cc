// ReduceSum, ReduceMean, ReduceSumSquare, ReduceL1, ReduceL2 (see reduce_impl.h).
#include "kernels/reduce_impl.h"

namespace nalar {
namespace {
using reduce_detail::ReduceKernel;
using reduce_detail::ROp;
}  // namespace

NALAR_REGISTER_KERNEL("", "ReduceSum", 1, kMaxOpset, ReduceKernel<ROp::kSum>);
NALAR_REGISTER_KERNEL("", "ReduceMean", 1, kMaxOpset, ReduceKernel<ROp::kMean>);
NALAR_REGISTER_KERNEL("", "ReduceSumSquare", 1, kMaxOpset, ReduceKernel<ROp::kSumSquare>);
NALAR_REGISTER_KERNEL("", "ReduceL1", 1, kMaxOpset, ReduceKernel<ROp::kL1>);
NALAR_REGISTER_KERNEL("", "ReduceL2", 1, kMaxOpset, ReduceKernel<ROp::kL2>);

}  // namespace nalar
