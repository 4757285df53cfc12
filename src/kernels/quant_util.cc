#include "kernels/quant_util.h"

#include <algorithm>

#include "core/dispatch.h"
#include "kernels/common.h"

namespace nalar {

Result<std::vector<float>> read_scales(const Tensor& t, const char* op, const char* what) {
  std::vector<float> v(static_cast<size_t>(t.size()));
  Status st = dispatch_float(t.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(p[i]);
    return Status::ok();
  });
  if (!st.is_ok())
    return invalid_argument(std::string(op) + ": '" + what + "' must be a float tensor, got " +
                            dtype_name(t.dtype()));
  return v;
}

Result<std::vector<int32_t>> read_zero_points(const Tensor& t, const char* op, const char* what) {
  std::vector<int32_t> v(static_cast<size_t>(t.size()));
  Status st = dispatch_integer(t.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(p[i]);
    return Status::ok();
  });
  if (!st.is_ok())
    return invalid_argument(std::string(op) + ": '" + what + "' must be an integer tensor, got " +
                            dtype_name(t.dtype()));
  return v;
}

Result<AxisLayout> param_layout(const Shape& shape, int64_t axis, int64_t count, const char* op,
                                const char* what) {
  AxisLayout l;
  l.outer = shape_size(shape);
  if (count == 1) return l;
  NALAR_ASSIGN_OR_RETURN(int64_t a, normalize_axis(axis, static_cast<int64_t>(shape.size()), op));
  if (shape.empty() || shape[static_cast<size_t>(a)] != count)
    return invalid_argument(std::string(op) + ": '" + what + "' has " + std::to_string(count) +
                            " values but must have 1 or dim(axis=" + std::to_string(axis) +
                            ") of " + shape_to_string(shape));
  l.outer = 1;
  l.inner = 1;
  for (int64_t i = 0; i < a; ++i) l.outer *= shape[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(a) + 1; i < shape.size(); ++i) l.inner *= shape[i];
  l.channels = count;
  return l;
}

void gemm_s16_s32(int64_t m_begin, int64_t m_end, int64_t n, int64_t k, const int16_t* a,
                  int64_t lda, const int16_t* b, int64_t ldb, int32_t* c, int64_t ldc) {
  // Four rows at a time so each B element loaded feeds four multiply-adds; the j loops are
  // plain int32 arithmetic the compiler vectorises.
  int64_t m = m_begin;
  for (; m + 4 <= m_end; m += 4) {
    int32_t* c0 = c + m * ldc;
    int32_t* c1 = c0 + ldc;
    int32_t* c2 = c1 + ldc;
    int32_t* c3 = c2 + ldc;
    std::fill(c0, c0 + n, 0);
    std::fill(c1, c1 + n, 0);
    std::fill(c2, c2 + n, 0);
    std::fill(c3, c3 + n, 0);
    for (int64_t p = 0; p < k; ++p) {
      const int32_t a0 = a[m * lda + p], a1 = a[(m + 1) * lda + p];
      const int32_t a2 = a[(m + 2) * lda + p], a3 = a[(m + 3) * lda + p];
      const int16_t* br = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) {
        const int32_t bv = br[j];
        c0[j] += a0 * bv;
        c1[j] += a1 * bv;
        c2[j] += a2 * bv;
        c3[j] += a3 * bv;
      }
    }
  }
  for (; m < m_end; ++m) {
    int32_t* cr = c + m * ldc;
    std::fill(cr, cr + n, 0);
    for (int64_t p = 0; p < k; ++p) {
      const int32_t av = a[m * lda + p];
      if (av == 0) continue;
      const int16_t* br = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) cr[j] += av * static_cast<int32_t>(br[j]);
    }
  }
}

namespace {

// Widens a uint8/int8 tensor's matrices to int16 minus zero points. The zero point of element
// (matrix, row, col) is zp[zp_index(matrix, row, col)] as chosen by `per`.
enum class ZpMode { kTensor, kRow, kBatchRow, kCol, kBatchCol };

Status widen_matrices(const Tensor& t, int64_t rows, int64_t cols, const std::vector<int32_t>& zp,
                      ZpMode mode, const char* op, std::vector<int16_t>* out) {
  const int64_t total = t.size();
  out->resize(static_cast<size_t>(total));
  return dispatch_integer(t.dtype(), op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    if constexpr (sizeof(T) != 1) {
      return unsupported_dtype(op, t.dtype());
    } else {
      const T* src = t.data<T>();
      int16_t* dst = out->data();
      const int64_t mats = rows * cols == 0 ? 0 : total / (rows * cols);
      for (int64_t mtx = 0; mtx < mats; ++mtx)
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t off = (mtx * rows + r) * cols;
          if (mode == ZpMode::kTensor || mode == ZpMode::kRow || mode == ZpMode::kBatchRow) {
            const int32_t z = mode == ZpMode::kTensor ? zp[0]
                              : mode == ZpMode::kRow  ? zp[static_cast<size_t>(r)]
                                                      : zp[static_cast<size_t>(mtx * rows + r)];
            widen_minus(src + off, cols, z, dst + off);
          } else {
            const int32_t* zc = zp.data() + (mode == ZpMode::kBatchCol ? mtx * cols : 0);
            for (int64_t c = 0; c < cols; ++c)
              dst[off + c] = static_cast<int16_t>(static_cast<int32_t>(src[off + c]) - zc[c]);
          }
        }
      return Status::ok();
    }
  });
}

}  // namespace

Result<Tensor> matmul_integer_s32(const Tensor& a, const Tensor& b, const std::vector<int32_t>& za,
                                  const std::vector<int32_t>& zb, const char* op) {
  const std::string name(op);
  if (a.rank() < 1 || b.rank() < 1)
    return invalid_argument(name + ": inputs must have rank >= 1, got " +
                            shape_to_string(a.shape()) + " and " + shape_to_string(b.shape()));
  Shape as = a.shape(), bs = b.shape();
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k)
    return invalid_argument(name + ": inner dimensions differ: " + shape_to_string(a.shape()) +
                            " x " + shape_to_string(b.shape()));
  const Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  NALAR_ASSIGN_OR_RETURN(Shape batch, broadcast_shapes(a_batch, b_batch, op));
  Shape out_shape = batch;
  if (a.rank() > 1) out_shape.push_back(m);
  if (b.rank() > 1) out_shape.push_back(n);
  Tensor out = Tensor::create(DataType::kInt32, out_shape);
  if (out.size() == 0) return out;

  const int64_t a_mats = shape_size(a_batch), b_mats = shape_size(b_batch);
  ZpMode amode, bmode;
  const auto zsize = [](const std::vector<int32_t>& v) { return static_cast<int64_t>(v.size()); };
  if (zsize(za) == 1)
    amode = ZpMode::kTensor;
  else if (zsize(za) == m)
    amode = ZpMode::kRow;
  else if (zsize(za) == a_mats * m)
    amode = ZpMode::kBatchRow;
  else
    return invalid_argument(name + ": A's zero point must have 1 or M (per row) values");
  if (zsize(zb) == 1)
    bmode = ZpMode::kTensor;
  else if (zsize(zb) == n)
    bmode = ZpMode::kCol;
  else if (zsize(zb) == b_mats * n)
    bmode = ZpMode::kBatchCol;
  else
    return invalid_argument(name + ": B's zero point must have 1 or N (per column) values");
  std::vector<int16_t> aw, bw;
  NALAR_RETURN_IF_ERROR(widen_matrices(a, m, k, za, amode, op, &aw));
  NALAR_RETURN_IF_ERROR(widen_matrices(b, k, n, zb, bmode, op, &bw));

  // Matrix index of A and B for each output batch index (broadcast strides in matrix units).
  const int64_t nb = shape_size(batch);
  const std::vector<int64_t> sa = broadcast_strides(a_batch, batch),
                             sb = broadcast_strides(b_batch, batch);
  std::vector<int64_t> ia(static_cast<size_t>(nb)), ib(static_cast<size_t>(nb));
  for (int64_t i = 0; i < nb; ++i) {
    int64_t rem = i, oa = 0, ob = 0;
    for (size_t d = batch.size(); d-- > 0;) {
      const int64_t c = rem % batch[d];
      rem /= batch[d];
      oa += c * sa[d];
      ob += c * sb[d];
    }
    ia[static_cast<size_t>(i)] = oa;
    ib[static_cast<size_t>(i)] = ob;
  }
  constexpr int64_t kRows = 8, kCols = 512;
  const int64_t rt = (m + kRows - 1) / kRows, ct = (n + kCols - 1) / kCols;
  const int64_t grain =
      std::max<int64_t>(1, 65536 / std::max<int64_t>(1, k * kRows * std::min(n, kCols)));
  int32_t* c = out.data<int32_t>();
  parallel_for(nb * rt * ct, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t bi = t / (rt * ct), r0 = ((t / ct) % rt) * kRows, j0 = (t % ct) * kCols;
      gemm_s16_s32(r0, std::min(m, r0 + kRows), std::min(kCols, n - j0), k,
                   aw.data() + ia[static_cast<size_t>(bi)] * m * k, k,
                   bw.data() + ib[static_cast<size_t>(bi)] * k * n + j0, n, c + bi * m * n + j0, n);
    }
  });
  return out;
}

int64_t ConvGeometry::in_size() const { return shape_size(in_spatial); }
int64_t ConvGeometry::out_size() const { return shape_size(out_spatial); }
int64_t ConvGeometry::kernel_size() const { return shape_size(kernel); }

Result<ConvGeometry> conv_geometry(const Shape& x, const Shape& w, const ConvAttributes& attrs,
                                   const char* op) {
  const std::string name(op);
  if (x.size() < 3 || w.size() != x.size())
    return invalid_argument(name +
                            ": expected X [N, C, D...] and W [M, C/group, k...] of the same "
                            "rank >= 3, got " +
                            shape_to_string(x) + " and " + shape_to_string(w));
  for (int64_t d : x)
    if (d < 0) return invalid_argument(name + ": negative dimension in X " + shape_to_string(x));
  const size_t sp = x.size() - 2;
  ConvGeometry g;
  g.batch = x[0];
  g.in_channels = x[1];
  g.out_channels = w[0];
  g.group = attrs.group;
  if (g.group <= 0 || g.in_channels % g.group != 0 || g.out_channels % g.group != 0 ||
      w[1] * g.group != g.in_channels)
    return invalid_argument(name + ": group " + std::to_string(g.group) + " does not fit X " +
                            shape_to_string(x) + " and W " + shape_to_string(w));
  g.in_spatial.assign(x.begin() + 2, x.end());
  g.kernel.assign(w.begin() + 2, w.end());
  if (!attrs.kernel_shape.empty() && attrs.kernel_shape != g.kernel)
    return invalid_argument(name + ": kernel_shape does not match W " + shape_to_string(w));
  g.strides = attrs.strides.empty() ? std::vector<int64_t>(sp, 1) : attrs.strides;
  g.dilations = attrs.dilations.empty() ? std::vector<int64_t>(sp, 1) : attrs.dilations;
  std::vector<int64_t> pads = attrs.pads.empty() ? std::vector<int64_t>(2 * sp, 0) : attrs.pads;
  if (g.strides.size() != sp || g.dilations.size() != sp || pads.size() != 2 * sp)
    return invalid_argument(name + ": strides/dilations/pads do not match " + std::to_string(sp) +
                            " spatial dims");
  g.pads_begin.resize(sp);
  g.out_spatial.resize(sp);
  for (size_t i = 0; i < sp; ++i) {
    const int64_t s = g.strides[i], d = g.dilations[i], k = g.kernel[i], in = g.in_spatial[i];
    if (s <= 0 || d <= 0 || k <= 0)
      return invalid_argument(name + ": strides, dilations and kernel dims must be positive");
    const int64_t span = d * (k - 1) + 1;
    int64_t pb = pads[i], pe = pads[i + sp];
    if (attrs.auto_pad == "SAME_UPPER" || attrs.auto_pad == "SAME_LOWER") {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + span - in);
      pb = attrs.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pb;
    } else if (attrs.auto_pad == "VALID") {
      pb = pe = 0;
    } else if (attrs.auto_pad != "NOTSET") {
      return invalid_argument(name + ": unknown auto_pad '" + attrs.auto_pad + "'");
    }
    if (pb < 0 || pe < 0) return invalid_argument(name + ": pads must be non-negative");
    const int64_t padded = in + pb + pe;
    if (padded < span)
      return invalid_argument(name + ": kernel " + shape_to_string(g.kernel) +
                              " is larger than the padded input " + shape_to_string(x));
    g.pads_begin[i] = pb;
    g.out_spatial[i] = (padded - span) / s + 1;
  }
  return g;
}

template <class T>
void im2col_s16(const T* x, int64_t channels, const ConvGeometry& g, int32_t x_zp, int16_t* col) {
  const size_t sp = g.in_spatial.size();
  const int64_t ks = g.kernel_size(), out = g.out_size(), in = g.in_size();
  const int64_t last_out = g.out_spatial[sp - 1], last_in = g.in_spatial[sp - 1];
  const int64_t rows_out =
      out / std::max<int64_t>(last_out, 1);  // output positions but the last dim
  parallel_for(
      channels * ks, std::max<int64_t>(1, 4096 / std::max<int64_t>(out, 1)),
      [&](int64_t begin, int64_t end) {
        std::vector<int64_t> kpos(sp), opos(sp);
        for (int64_t row = begin; row < end; ++row) {
          const int64_t c = row / ks;
          int64_t rem = row % ks;
          for (size_t d = sp; d-- > 0;) {
            kpos[d] = rem % g.kernel[d];
            rem /= g.kernel[d];
          }
          const T* xc = x + c * in;
          int16_t* dst = col + row * out;
          std::fill(opos.begin(), opos.end(), 0);
          for (int64_t r = 0; r < rows_out; ++r) {
            // Input offset of the leading dims; invalid when any of them reads padding.
            bool valid = true;
            int64_t base = 0;
            for (size_t d = 0; d + 1 < sp; ++d) {
              const int64_t i = opos[d] * g.strides[d] - g.pads_begin[d] + kpos[d] * g.dilations[d];
              if (i < 0 || i >= g.in_spatial[d]) valid = false;
              base = base * g.in_spatial[d] + i;
            }
            int16_t* o = dst + r * last_out;
            if (!valid) {
              std::fill(o, o + last_out, 0);
            } else {
              const T* xr = xc + base * last_in;
              const int64_t s = g.strides[sp - 1];
              const int64_t off = kpos[sp - 1] * g.dilations[sp - 1] - g.pads_begin[sp - 1];
              for (int64_t j = 0; j < last_out; ++j) {
                const int64_t i = j * s + off;
                o[j] = (i >= 0 && i < last_in)
                           ? static_cast<int16_t>(static_cast<int32_t>(xr[i]) - x_zp)
                           : int16_t{0};
              }
            }
            for (size_t d = sp - 1; d-- > 0;) {  // odometer over the leading output dims
              if (++opos[d] < g.out_spatial[d]) break;
              opos[d] = 0;
            }
          }
        }
      });
}

template <class T>
void conv_s32(const T* x, int32_t x_zp, const int16_t* w_s16, const ConvGeometry& g, int32_t* y) {
  const int64_t cg = g.in_channels / g.group, mg = g.out_channels / g.group;
  const int64_t kc = cg * g.kernel_size(), l = g.out_size(), in = g.in_size();
  std::vector<int16_t> col(static_cast<size_t>(kc * l));
  constexpr int64_t kCols = 512, kRows = 8;
  const int64_t col_tiles = (l + kCols - 1) / kCols, row_tiles = (mg + kRows - 1) / kRows;
  const int64_t grain =
      std::max<int64_t>(1, 65536 / std::max<int64_t>(1, kc * kRows * std::min(l, kCols)));
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t grp = 0; grp < g.group; ++grp) {
      im2col_s16(x + (n * g.in_channels + grp * cg) * in, cg, g, x_zp, col.data());
      const int16_t* wg = w_s16 + grp * mg * kc;
      int32_t* yg = y + (n * g.out_channels + grp * mg) * l;
      parallel_for(row_tiles * col_tiles, grain, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          const int64_t r0 = (t / col_tiles) * kRows, j0 = (t % col_tiles) * kCols;
          gemm_s16_s32(r0, std::min(mg, r0 + kRows), std::min(kCols, l - j0), kc, wg, kc,
                       col.data() + j0, l, yg + j0, l);
        }
      });
    }
  }
}

ConvAttributes read_conv_attributes(const Node& node) {
  ConvAttributes a;
  a.auto_pad = node.get_string("auto_pad", "NOTSET");
  a.dilations = node.get_ints("dilations");
  a.kernel_shape = node.get_ints("kernel_shape");
  a.pads = node.get_ints("pads");
  a.strides = node.get_ints("strides");
  a.group = node.get_int("group", 1);
  return a;
}

Result<std::vector<int16_t>> widen_conv_weights(const Tensor& w, const std::vector<int32_t>& zp,
                                                const char* op) {
  if (w.rank() < 1) return invalid_argument(std::string(op) + ": W must have rank >= 1");
  const int64_t m = w.dim(0);
  const int64_t per = m == 0 ? 0 : w.size() / m;
  if (zp.size() != 1 && static_cast<int64_t>(zp.size()) != m)
    return invalid_argument(std::string(op) + ": the weight zero point must have 1 or M=" +
                            std::to_string(m) + " values, got " + std::to_string(zp.size()));
  std::vector<int16_t> out;
  NALAR_RETURN_IF_ERROR(
      widen_matrices(w, m, per, zp, zp.size() == 1 ? ZpMode::kTensor : ZpMode::kRow, op, &out));
  return out;
}

Result<Tensor> conv_integer_s32(const Tensor& x, int32_t x_zp, const Tensor& w,
                                const std::vector<int32_t>& w_zp,
                                const std::vector<int16_t>* prepacked, const ConvAttributes& attrs,
                                const char* op) {
  NALAR_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(x.shape(), w.shape(), attrs, op));
  const int64_t kc = g.in_channels / g.group * g.kernel_size();
  if (kc * g.out_size() > (int64_t{1} << 31))
    return Status(StatusCode::kResourceExhausted,
                  std::string(op) + ": the im2col buffer would be too large");
  std::vector<int16_t> local;
  if (!prepacked) {
    NALAR_ASSIGN_OR_RETURN(local, widen_conv_weights(w, w_zp, op));
    prepacked = &local;
  }
  Shape out_shape{g.batch, g.out_channels};
  out_shape.insert(out_shape.end(), g.out_spatial.begin(), g.out_spatial.end());
  Tensor y = Tensor::create(DataType::kInt32, out_shape);
  if (y.size() == 0) return y;
  if (x.dtype() == DataType::kUint8)
    conv_s32(x.data<uint8_t>(), x_zp, prepacked->data(), g, y.data<int32_t>());
  else if (x.dtype() == DataType::kInt8)
    conv_s32(x.data<int8_t>(), x_zp, prepacked->data(), g, y.data<int32_t>());
  else
    return unsupported_dtype(op, x.dtype());
  return y;
}

template void im2col_s16<uint8_t>(const uint8_t*, int64_t, const ConvGeometry&, int32_t, int16_t*);
template void im2col_s16<int8_t>(const int8_t*, int64_t, const ConvGeometry&, int32_t, int16_t*);
template void conv_s32<uint8_t>(const uint8_t*, int32_t, const int16_t*, const ConvGeometry&,
                                int32_t*);
template void conv_s32<int8_t>(const int8_t*, int32_t, const int16_t*, const ConvGeometry&,
                               int32_t*);

}  // namespace nalar
