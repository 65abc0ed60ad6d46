// Picks the method (resolve_knn_mode) and the CPU or the CUDA implementation
// (one file per family, so a test linking one family does not pull the others).
#include "prism/knn.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>

#ifdef PRISM_HAVE_CUDA
#include "prism/cuda/api.hpp"
#endif

namespace prism {

namespace {

/// Every kNN path computes squared distances (or norms) in float32: rows whose
/// squared norm is beyond FLT_MAX / 4 would give Inf distances, and a graph
/// that later fails a check. Say so at once, with the row.
void check_distance_range(ConstView x) {
  double worst = 0;
  int64_t worst_row = 0;
#pragma omp parallel
  {
    double w = 0;
    int64_t wr = 0;
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < x.rows; ++i) {
      const float* r = x.row(i);
      double s = 0;
      for (int64_t j = 0; j < x.cols; ++j) s += static_cast<double>(r[j]) * r[j];
      if (s > w) w = s, wr = i;
    }
#pragma omp critical
    if (w > worst || (w == worst && wr < worst_row)) worst = w, worst_row = wr;
  }
  constexpr double kLimit = FLT_MAX / 4.0;  // |a - b|^2 <= 4 max(|a|^2, |b|^2)
  PRISM_EXPECTS(worst <= kLimit, "row ", worst_row + 1, " has norm ", std::sqrt(worst),
                ": squared distances would overflow float32 (norms up to ", std::sqrt(kLimit),
                " work); divide the vectors by a constant (t-SNE and UMAP do not depend on the scale)");
}

}  // namespace

KnnGraph build_knn(ConstView x, const KnnParams& p, Progress* progress) {
  PRISM_EXPECTS(p.k >= 1 && p.k <= 1000, "k must be between 1 and 1000, got ", p.k);
  PRISM_EXPECTS(x.rows >= 2, "need at least 2 rows for a kNN graph, got ", x.rows);
  PRISM_EXPECTS(p.k < x.rows, "k = ", p.k, " needs more than ", p.k, " rows, got ", x.rows);
  check_distance_range(x);
  const bool approx = resolve_knn_mode(x.rows, p) == KnnMode::approx;
#ifdef PRISM_HAVE_CUDA
  if (resolve_backend(p.backend) == Backend::cuda)
    return approx ? cuda::knn_approx(x, p.k, p.metric, p.seed, progress)
                  : cuda::knn_exact(x, p.k, p.metric, progress);
#else
  resolve_backend(p.backend);
#endif
  return approx ? knn_approx_cpu(x, p.k, p.metric, p.seed, progress)
                : knn_exact_cpu(x, p.k, p.metric, progress);
}

}  // namespace prism
