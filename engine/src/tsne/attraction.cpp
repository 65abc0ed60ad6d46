// Attractive forces: exact over the sparse P (as openTSNE's
// estimate_positive_gradient_nn and bhtsne's computeEdgeForces).
#include <cmath>
#include <vector>

#include "simd.hpp"
#include "tsne/stages.hpp"

namespace prism::tsne {

namespace {

/// One row's attractive force, sum over its edges [b, e) of p_ij (y_i - y_j) / (1 + d_ij^2),
/// on the float layout `yv`; eight edges at a time by AVX2 gathers where there are.
template <int D>
inline void row_attraction(const float* yv, const int32_t* col, const float* val, int64_t b,
                           int64_t e, const float* yi, float* f) {
  int64_t t = b;
  float acc[3] = {0, 0, 0};
#if defined(__AVX2__) && defined(__FMA__)
  // (GCC does not vectorise this loop itself: it will not emit the gathers.)
  __m256 a[D], c[D];
  for (int d = 0; d < D; ++d) {
    a[d] = _mm256_setzero_ps();
    c[d] = _mm256_set1_ps(yi[d]);
  }
  const __m256 one = _mm256_set1_ps(1.0f);
  for (; t + 8 <= e; t += 8) {
    const __m256i j = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + t));
    const __m256i off = D == 2 ? _mm256_slli_epi32(j, 1) : _mm256_add_epi32(_mm256_slli_epi32(j, 1), j);
    __m256 diff[D];
    __m256 d2 = _mm256_setzero_ps();
    for (int d = 0; d < D; ++d) {
      diff[d] = _mm256_sub_ps(c[d], _mm256_i32gather_ps(yv + d, off, 4));
      d2 = _mm256_fmadd_ps(diff[d], diff[d], d2);
    }
    const __m256 w = _mm256_div_ps(_mm256_loadu_ps(val + t), _mm256_add_ps(one, d2));
    for (int d = 0; d < D; ++d) a[d] = _mm256_fmadd_ps(w, diff[d], a[d]);
  }
  for (int d = 0; d < D; ++d) acc[d] = simd::hsum8(a[d]);
#endif
  for (; t < e; ++t) {
    const float* yj = yv + static_cast<int64_t>(col[t]) * D;
    float diff[D], d2 = 0;
    for (int d = 0; d < D; ++d) {
      diff[d] = yi[d] - yj[d];
      d2 += diff[d] * diff[d];
    }
    const float w = val[t] / (1.0f + d2);
    for (int d = 0; d < D; ++d) acc[d] += w * diff[d];
  }
  for (int d = 0; d < D; ++d) f[d] = acc[d];
}

template <int D>
void attractive_forces_d(const SparseP& p, const double* y, double exaggeration, double* attr) {
  // On a float copy of the layout, as the GPU kernel: a gathered neighbour is
  // half the bytes and a vector holds twice the edges. Neighbours' offsets are
  // small against coordinates of at most a few hundred, so the forces keep
  // ~1e-5 relative precision; they are summed per row in float (in a fixed
  // order: the same on any thread count), then scaled in double.
  thread_local std::vector<float> copy;
  std::vector<float>& yf = copy;
  const int64_t m = p.n * D;
  PRISM_CHECK(m < (int64_t{1} << 31), "attraction gathers with 32-bit offsets: ", p.n, " points");
  yf.resize(m);
  const bool parallel = p.n >= kParallelMinPoints;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t t = 0; t < m; ++t) yf[t] = static_cast<float>(y[t]);
  const float* yv = yf.data();
#pragma omp parallel for schedule(dynamic, 512) if (parallel)
  for (int64_t i = 0; i < p.n; ++i) {
    float f[D];
    row_attraction<D>(yv, p.col.data(), p.val.data(), p.row_ptr[i], p.row_ptr[i + 1], yv + i * D, f);
    for (int d = 0; d < D; ++d) attr[i * D + d] = exaggeration * f[d];
  }
}

template <int D>
double sum_p_log1p_d2_d(const SparseP& p, const double* y) {
  // Per-row partials summed in row order: independent of the thread count.
  std::vector<double> row(p.n);
#pragma omp parallel for schedule(dynamic, 512)
  for (int64_t i = 0; i < p.n; ++i) {
    const double* yi = y + i * D;
    double s = 0;
    for (int64_t e = p.row_ptr[i]; e < p.row_ptr[i + 1]; ++e) {
      const double* yj = y + static_cast<int64_t>(p.col[e]) * D;
      double d2 = 0;
      for (int d = 0; d < D; ++d) d2 += (yi[d] - yj[d]) * (yi[d] - yj[d]);
      // log rather than log1p: several times faster here, and the absolute
      // error for tiny d2 (~1e-16) is far below what KL is read to.
      s += double(p.val[e]) * std::log(1.0 + d2);
    }
    row[i] = s;
  }
  double total = 0;
  for (double v : row) total += v;
  return total;
}

}  // namespace

void attractive_forces(const SparseP& p, const double* y, int dims, double exaggeration,
                       double* attr) {
  PRISM_CHECK(dims == 2 || dims == 3, "dims ", dims);
  if (dims == 2)
    attractive_forces_d<2>(p, y, exaggeration, attr);
  else
    attractive_forces_d<3>(p, y, exaggeration, attr);
}

double sum_p_log1p_d2(const SparseP& p, const double* y, int dims) {
  PRISM_CHECK(dims == 2 || dims == 3, "dims ", dims);
  return dims == 2 ? sum_p_log1p_d2_d<2>(p, y) : sum_p_log1p_d2_d<3>(p, y);
}

double sum_p_log_p(const SparseP& p) {
  double s = 0;
  for (float v : p.val)
    if (v > 0) s += double(v) * std::log(double(v));  // 0 log 0 = 0
  return s;
}

}  // namespace prism::tsne
