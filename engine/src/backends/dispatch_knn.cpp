// Picks the method (resolve_knn_mode) and the CPU or the CUDA implementation
// (one file per family, so a test linking one family does not pull the others).
#include "prism/knn.hpp"

#include <algorithm>

#ifdef PRISM_HAVE_CUDA
#include "prism/cuda/api.hpp"
#endif

namespace prism {

KnnGraph build_knn(ConstView x, const KnnParams& p, Progress* progress) {
  PRISM_EXPECTS(p.k >= 1 && p.k <= 1000, "k must be between 1 and 1000, got ", p.k);
  PRISM_EXPECTS(x.rows >= 2, "need at least 2 rows for a kNN graph, got ", x.rows);
  PRISM_EXPECTS(p.k < x.rows, "k = ", p.k, " needs more than ", p.k, " rows, got ", x.rows);
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
