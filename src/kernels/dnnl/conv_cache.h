// A compiled convolution-like oneDNN primitive for one input-shape signature, with its layout
// reorders and (for constant weights) the weights packed once into the primitive's format.
// Used by Conv and ConvTranspose.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/dnnl/dnnl_context.h"

namespace nalar {

struct ConvPrimitive {
  dnnl::primitive prim;
  dnnl::memory::desc src_user, src_md, wei_user, wei_md, bias_md, dst_md, dst_user;
  bool reorder_src = false, reorder_wei = false, reorder_dst = false;
  dnnl::reorder src_reorder, wei_reorder, dst_reorder;
  dnnl::memory packed_wei;  // set when the weights were constant and got packed
  bool has_bias = false;
  bool has_sum = false;   // a sum post-op: dst is pre-filled with the residual Z
  bool post_act = false;  // the caller applies the activation after run()
  dnnl::reorder sum_reorder;

  // Fills the layout fields from the primitive descriptor of a (de)convolution and packs
  // `const_weights` when not null.
  template <class PD>
  void init(const PD& pd, const dnnl::memory::desc& src_u, const dnnl::memory::desc& wei_u,
            const dnnl::memory::desc& dst_u, const void* const_weights);

  // Runs on plain row-major src/weights/bias/dst buffers; `sum` (dst-shaped) when has_sum.
  void run(const void* src, const void* wei, const void* bias, void* dst,
           const void* sum = nullptr) const;
};

// Thread-safe map from a shape signature to its compiled primitive. It also holds the packed
// constant weights shared by every signature (batch sizes, image sizes) whose primitive accepts
// their layout, so a dynamic batch does not multiply the weights' memory.
class ConvPrimitiveCache {
 public:
  // make(dnnl::memory& shared_weights) builds the primitive for a new key; it runs under the
  // cache's lock and may read or set the shared packed weights.
  template <class Make>
  std::shared_ptr<const ConvPrimitive> get(const std::vector<int64_t>& key, Make&& make) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) return it->second;
    std::shared_ptr<const ConvPrimitive> p = make(shared_weights_);
    if (map_.size() >= dnnl_util::kMaxShapesPerKernel) map_.clear();  // bound memory
    map_.emplace(key, p);
    return p;
  }

 private:
  mutable std::mutex mu_;
  mutable std::map<std::vector<int64_t>, std::shared_ptr<const ConvPrimitive>> map_;
  mutable dnnl::memory shared_weights_;
};

// Builds a primitive descriptor, reusing already packed weights when the primitive accepts
// their layout with an optimised implementation; otherwise lets oneDNN choose (format any).
// make_pd(weights_md) returns the primitive descriptor. Returns true when `shared` fits.
template <class PD, class MakePD>
bool make_with_shared_weights(MakePD&& make_pd, const dnnl::memory& shared,
                              const dnnl::memory::desc& any_weights, PD* pd) {
  if (shared) {
    try {
      PD cand = make_pd(shared.get_desc());
      if (std::string(cand.impl_info_str()).rfind("ref", 0) != 0) {
        *pd = cand;
        return true;
      }
    } catch (const dnnl::error&) {
      // the layout does not suit this shape: pack again below
    }
  }
  *pd = make_pd(any_weights);
  return false;
}

template <class PD>
void ConvPrimitive::init(const PD& pd, const dnnl::memory::desc& src_u,
                         const dnnl::memory::desc& wei_u, const dnnl::memory::desc& dst_u,
                         const void* const_weights) {
  using namespace dnnl_util;
  const dnnl::engine& eng = engine();
  prim = dnnl::primitive(pd);
  src_user = src_u;
  wei_user = wei_u;
  dst_user = dst_u;
  src_md = pd.src_desc();
  wei_md = pd.weights_desc();
  dst_md = pd.dst_desc();
  reorder_src = src_md != src_user;
  reorder_wei = wei_md != wei_user;
  reorder_dst = dst_md != dst_user;
  dnnl::primitive_attr attr = user_scratch_attr();
  if (reorder_src)
    src_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, src_user, eng, src_md, attr));
  if (reorder_dst) {
    dst_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, dst_md, eng, dst_user, attr));
    sum_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, dst_user, eng, dst_md, attr));
  }
  if (const_weights) {
    packed_wei = dnnl::memory(wei_md, eng);
    dnnl_util::reorder(wrap(wei_user, const_weights), packed_wei);
  } else if (reorder_wei) {
    wei_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, wei_user, eng, wei_md, attr));
  }
}

}  // namespace nalar
