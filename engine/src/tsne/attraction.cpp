// Attractive forces: exact over the sparse P (as openTSNE's
// estimate_positive_gradient_nn and bhtsne's computeEdgeForces).
#include <cmath>

#include "tsne/stages.hpp"

namespace prism::tsne {

namespace {

template <int D>
void attractive_forces_d(const SparseP& p, const double* y, double exaggeration, double* attr) {
#pragma omp parallel for schedule(dynamic, 512) if (p.n >= kParallelMinPoints)
  for (int64_t i = 0; i < p.n; ++i) {
    const double* yi = y + i * D;
    const double y0 = yi[0], y1 = yi[1], y2 = yi[D - 1];
    double f0 = 0, f1 = 0, f2 = 0;
    const int32_t* col = p.col.data();
    const float* val = p.val.data();
    // Branch-free so the compiler vectorises it (gathers of y_j).
#pragma omp simd reduction(+ : f0, f1, f2)
    for (int64_t e = p.row_ptr[i]; e < p.row_ptr[i + 1]; ++e) {
      const double* yj = y + static_cast<int64_t>(col[e]) * D;
      const double d0 = y0 - yj[0];
      const double d1 = y1 - yj[1];
      double d2 = d0 * d0 + d1 * d1;
      double dz = 0;
      if constexpr (D == 3) {
        dz = y2 - yj[2];
        d2 += dz * dz;
      }
      const double pw = double(val[e]) / (1.0 + d2);
      f0 += pw * d0;
      f1 += pw * d1;
      f2 += pw * dz;
    }
    attr[i * D] = exaggeration * f0;
    attr[i * D + 1] = exaggeration * f1;
    if constexpr (D == 3) attr[i * D + 2] = exaggeration * f2;
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
