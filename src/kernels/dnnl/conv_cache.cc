#include "kernels/dnnl/conv_cache.h"

#include <cstring>

namespace nalar {

void ConvPrimitive::run(const void* src, const void* wei, const void* bias, void* dst,
                        const void* sum) const {
  using namespace dnnl_util;
  dnnl::memory src_m = wrap(src_user, src);
  if (reorder_src) {
    dnnl::memory tmp = wrap(src_md, scratch(kSrc, src_md.get_size()));
    execute(src_reorder, {{DNNL_ARG_FROM, src_m}, {DNNL_ARG_TO, tmp}});
    src_m = tmp;
  }
  dnnl::memory wei_m;
  if (packed_wei) {
    wei_m = packed_wei;
  } else if (reorder_wei) {
    wei_m = wrap(wei_md, scratch(kWeights, wei_md.get_size()));
    execute(wei_reorder, {{DNNL_ARG_FROM, wrap(wei_user, wei)}, {DNNL_ARG_TO, wei_m}});
  } else {
    wei_m = wrap(wei_user, wei);
  }
  dnnl::memory dst_user_m = wrap(dst_user, dst);
  dnnl::memory dst_m = reorder_dst ? wrap(dst_md, scratch(kDst, dst_md.get_size())) : dst_user_m;
  if (has_sum) {
    if (reorder_dst)
      execute(sum_reorder, {{DNNL_ARG_FROM, wrap(dst_user, sum)}, {DNNL_ARG_TO, dst_m}});
    else
      std::memcpy(dst, sum, dst_user.get_size());
  }
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wei_m}, {DNNL_ARG_DST, dst_m}};
  if (has_bias) args.emplace(DNNL_ARG_BIAS, wrap(bias_md, bias));
  execute(prim, std::move(args));
  if (reorder_dst) execute(dst_reorder, {{DNNL_ARG_FROM, dst_m}, {DNNL_ARG_TO, dst_user_m}});
}

}  // namespace nalar
