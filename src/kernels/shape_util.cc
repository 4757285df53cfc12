#include "kernels/shape_util.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace nalar {

Result<int64_t> checked_size(const Shape& shape, const char* op) {
  int64_t n = 1;
  bool zero = false;
  for (int64_t d : shape) {
    if (d < 0)
      return invalid_argument(std::string(op) + ": negative dimension in shape " +
                              shape_to_string(shape));
    if (d == 0) zero = true;
  }
  if (zero) return int64_t{0};
  for (int64_t d : shape) {
    if (n > kMaxTensorElements / d)
      return invalid_argument(std::string(op) + ": shape " + shape_to_string(shape) +
                              " has too many elements");
    n *= d;
  }
  return n;
}

Result<Tensor> create_checked(DataType dtype, const Shape& shape, const char* op) {
  NALAR_RETURN_IF_ERROR(checked_size(shape, op).status());
  return Tensor::create(dtype, shape);
}

namespace {

struct Dim {
  int64_t n, s, d;  // extent, source stride, destination stride
};

// Drops unit dims and merges neighbours that are contiguous in both views.
std::vector<Dim> simplify(const Shape& shape, const StridedView& sv, const StridedView& dv) {
  std::vector<Dim> out;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 1) continue;
    Dim x{shape[k], sv.strides[k], dv.strides[k]};
    if (!out.empty()) {
      Dim& p = out.back();
      if (p.s == x.s * x.n && p.d == x.d * x.n) {
        p = Dim{p.n * x.n, x.s, x.d};
        continue;
      }
    }
    out.push_back(x);
  }
  return out;
}

// Iterates the outer index space [begin, end) of `outer`, calling fn(src_off, dst_off).
template <class Fn>
void for_outer(const std::vector<Dim>& outer, int64_t sbase, int64_t dbase, int64_t begin,
               int64_t end, Fn&& fn) {
  const size_t m = outer.size();
  std::vector<int64_t> idx(m, 0);
  int64_t so = sbase, dof = dbase, rem = begin;
  for (size_t k = m; k-- > 0;) {
    idx[k] = rem % outer[k].n;
    rem /= outer[k].n;
    so += idx[k] * outer[k].s;
    dof += idx[k] * outer[k].d;
  }
  for (int64_t i = begin; i < end; ++i) {
    fn(so, dof);
    for (size_t k = m; k-- > 0;) {
      so += outer[k].s;
      dof += outer[k].d;
      if (++idx[k] < outer[k].n) break;
      so -= outer[k].s * outer[k].n;
      dof -= outer[k].d * outer[k].n;
      idx[k] = 0;
    }
  }
}

constexpr int64_t kParallelGrain = 1 << 15;  // elements per thread worth a fork
constexpr int64_t kTile = 32;

// dst[c * dst_ld + r] = src[r * src_ld + c] for an 8x8 block of 32-bit elements (bits only).
inline void transpose8x8_32(const void* src_v, int64_t src_ld, void* dst_v, int64_t dst_ld) {
  const float* src = static_cast<const float*>(src_v);
  float* dst = static_cast<float*>(dst_v);
  __m256 r[8], t[8];
  for (int k = 0; k < 8; ++k) r[k] = _mm256_loadu_ps(src + k * src_ld);
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
    t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
  }
  for (int k = 0; k < 8; k += 4) {
    r[k] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int k = 0; k < 4; ++k) {
    _mm256_storeu_ps(dst + k * dst_ld, _mm256_permute2f128_ps(r[k], r[k + 4], 0x20));
    _mm256_storeu_ps(dst + (k + 4) * dst_ld, _mm256_permute2f128_ps(r[k], r[k + 4], 0x31));
  }
}

template <class T>
void copy_impl(const T* src, T* dst, int64_t sbase, int64_t dbase, std::vector<Dim> dims) {
  if (dims.empty()) {
    dst[dbase] = src[sbase];
    return;
  }
  const Dim inner = dims.back();
  dims.pop_back();

  // A transpose: some outer dim reads contiguously while the inner one does not. Copy in square
  // tiles so both sides stay in cache.
  int tile_dim = -1;
  if (inner.s != 1 && inner.s != -1 && inner.n >= 8) {
    for (size_t k = 0; k < dims.size(); ++k)
      if ((dims[k].s == 1 || dims[k].s == -1) && dims[k].n >= 8) tile_dim = static_cast<int>(k);
  }
  if (tile_dim >= 0) {
    const Dim tj = dims[static_cast<size_t>(tile_dim)];
    dims.erase(dims.begin() + tile_dim);
    int64_t outer_n = 1;
    for (const Dim& d : dims) outer_n *= d.n;
    // Work items: (outer index, block of kTile rows of tj), so even one big matrix is shared.
    const int64_t jblocks = (tj.n + kTile - 1) / kTile;
    const int64_t work = kTile * inner.n;
    // 4-byte elements with both sides contiguous in the tile use the 8x8 AVX2 kernel.
    constexpr bool kSimd = sizeof(T) == 4 && std::is_trivially_copyable_v<T>;
    const bool simd = kSimd && tj.s == 1 && inner.d == 1;
    parallel_for(outer_n * jblocks, std::max<int64_t>(1, kParallelGrain / work),
                 [&](int64_t b, int64_t e) {
                   for (int64_t item = b; item < e; ++item) {
                     const int64_t o = item / jblocks, jb = (item % jblocks) * kTile;
                     const int64_t je = std::min(tj.n, jb + kTile);
                     for_outer(dims, sbase, dbase, o, o + 1, [&](int64_t so, int64_t dof) {
                       for (int64_t lb = 0; lb < inner.n; lb += kTile) {
                         const int64_t le = std::min(inner.n, lb + kTile);
                         int64_t j = jb;
                         if constexpr (kSimd) {
                           if (simd) {
                             for (; j + 8 <= je; j += 8) {
                               int64_t l = lb;
                               for (; l + 8 <= le; l += 8)
                                 transpose8x8_32(src + so + j + l * inner.s, inner.s,
                                                 dst + dof + j * tj.d + l, tj.d);
                               for (int64_t jj = j; jj < j + 8; ++jj)
                                 for (int64_t ll = l; ll < le; ++ll)
                                   dst[dof + jj * tj.d + ll] = src[so + jj + ll * inner.s];
                             }
                           }
                         }
                         for (; j < je; ++j) {
                           const T* s = src + so + j * tj.s;
                           T* d = dst + dof + j * tj.d;
                           for (int64_t l = lb; l < le; ++l) d[l * inner.d] = s[l * inner.s];
                         }
                       }
                     });
                   }
                 });
    return;
  }

  int64_t outer_n = 1;
  for (const Dim& d : dims) outer_n *= d.n;
  parallel_for(outer_n, std::max<int64_t>(1, kParallelGrain / inner.n), [&](int64_t b, int64_t e) {
    for_outer(dims, sbase, dbase, b, e, [&](int64_t so, int64_t dof) {
      const T* s = src + so;
      T* d = dst + dof;
      if (inner.s == 1 && inner.d == 1) {
        std::copy_n(s, inner.n, d);
      } else if (inner.s == 0 && inner.d == 1) {
        std::fill_n(d, inner.n, *s);
      } else {
        for (int64_t l = 0; l < inner.n; ++l) d[l * inner.d] = s[l * inner.s];
      }
    });
  });
}

}  // namespace

void strided_copy(const Tensor& src, const StridedView& sv, Tensor& dst, const StridedView& dv,
                  const Shape& shape) {
  for (int64_t n : shape)
    if (n == 0) return;
  std::vector<Dim> dims = simplify(shape, sv, dv);
  (void)dispatch_by_size(src.dtype(), "copy", [&](auto tag) {
    using T = typename decltype(tag)::type;
    copy_impl<T>(src.data<T>(), dst.data<T>(), sv.base, dv.base, std::move(dims));
    return Status::ok();
  });
}

void copy_block(const Tensor& src, int64_t src_off, Tensor& dst, int64_t dst_off, int64_t n) {
  if (n <= 0) return;
  if (src.dtype() == DataType::kString) {
    std::copy_n(src.data<std::string>() + src_off, n, dst.data<std::string>() + dst_off);
    return;
  }
  const size_t es = dtype_size(src.dtype());
  std::memcpy(static_cast<char*>(dst.raw()) + static_cast<size_t>(dst_off) * es,
              static_cast<const char*>(src.raw()) + static_cast<size_t>(src_off) * es,
              static_cast<size_t>(n) * es);
}

Result<std::vector<int64_t>> normalize_perm(const std::vector<int64_t>& perm, int64_t rank,
                                            const char* op) {
  if (static_cast<int64_t>(perm.size()) != rank)
    return invalid_argument(std::string(op) + ": perm has " + std::to_string(perm.size()) +
                            " entries but the input has rank " + std::to_string(rank));
  std::vector<int64_t> out(perm.size());
  std::vector<bool> seen(perm.size(), false);
  for (size_t i = 0; i < perm.size(); ++i) {
    int64_t p = perm[i] < 0 ? perm[i] + rank : perm[i];
    if (p < 0 || p >= rank || seen[static_cast<size_t>(p)])
      return invalid_argument(std::string(op) + ": perm " + shape_to_string(perm) +
                              " is not a permutation of the " + std::to_string(rank) + " axes");
    seen[static_cast<size_t>(p)] = true;
    out[i] = p;
  }
  return out;
}

Shape permuted_shape(const Shape& shape, const std::vector<int64_t>& perm) {
  Shape out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) out[i] = shape[static_cast<size_t>(perm[i])];
  return out;
}

StridedView permuted_view(const Shape& shape, const std::vector<int64_t>& perm) {
  std::vector<int64_t> st = strides_of(shape);
  StridedView v;
  v.strides.resize(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) v.strides[i] = st[static_cast<size_t>(perm[i])];
  return v;
}

Result<Tensor> transpose_tensor(const Tensor& x, const std::vector<int64_t>& perm,
                                const char* /*op*/) {
  Shape out_shape = permuted_shape(x.shape(), perm);
  // Moving only unit dims keeps the element order: a reshape suffices.
  int64_t last = -1;
  bool moves = false;
  for (int64_t p : perm) {
    if (x.dim(p) == 1) continue;
    if (p < last) moves = true;
    last = p;
  }
  if (!moves || x.size() == 0) {
    if (x.size() == 0) return Tensor::create(x.dtype(), out_shape);
    return x.reshaped(out_shape);
  }
  Tensor out = Tensor::create(x.dtype(), out_shape);
  StridedView dv{0, strides_of(out_shape)};
  strided_copy(x, permuted_view(x.shape(), perm), out, dv, out_shape);
  return out;
}

Result<std::vector<int64_t>> read_optional_ints(const Tensor* t, const char* what, bool* present) {
  if (!t || !t->defined()) {
    *present = false;
    return std::vector<int64_t>{};
  }
  *present = true;
  if (t->rank() > 1)
    return invalid_argument(std::string(what) + ": expected a 1-D tensor, got " + t->describe());
  return read_int64s(*t, what);
}

Result<int64_t> read_int_scalar(const Tensor& t, const char* what) {
  if (t.size() != 1)
    return invalid_argument(std::string(what) + ": expected a single value, got " + t.describe());
  NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> v, read_int64s(t, what));
  return v[0];
}

Result<std::vector<int64_t>> normalize_axes(const std::vector<int64_t>& axes, int64_t rank,
                                            const char* op) {
  std::vector<int64_t> out;
  std::vector<bool> seen(static_cast<size_t>(std::max<int64_t>(rank, 1)), false);
  for (int64_t a : axes) {
    NALAR_ASSIGN_OR_RETURN(int64_t n, normalize_axis(a, rank, op));
    if (seen[static_cast<size_t>(n)])
      return invalid_argument(std::string(op) + ": axis " + std::to_string(a) +
                              " is given more than once");
    seen[static_cast<size_t>(n)] = true;
    out.push_back(n);
  }
  return out;
}

}  // namespace nalar
