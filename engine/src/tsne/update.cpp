// The update: gradient assembly, delta-bar-delta gains with momentum
// (openTSNE's gradient_descent, scikit-learn's _gradient_descent) and
// re-centring for numerical stability (openTSNE centres every iteration).
#include <vector>

#include "tsne/stages.hpp"

namespace prism::tsne {

namespace {
int sign(double v) { return (v > 0) - (v < 0); }
}  // namespace

double kl_gradient(const SparseP& p, const double* y, int dims, Repulsion& repulsion,
                   double exaggeration, double* grad, double* scratch) {
  attractive_forces(p, y, dims, exaggeration, grad);
  const double z = repulsion(y, p.n, scratch).z;
  PRISM_CHECK(z > 0, "t-SNE normalisation Z = ", z);
  const double inv_z = 1.0 / z;
  const int64_t m = p.n * dims;
#pragma omp parallel for schedule(static) if (p.n >= kParallelMinPoints)
  for (int64_t t = 0; t < m; ++t) grad[t] -= scratch[t] * inv_z;
  return z;
}

void gradient_step(double* y, const double* grad, double* update, double* gains, int64_t n,
                   int dims, double learning_rate, double momentum, double min_gain) {
  const int64_t m = n * dims;
#pragma omp parallel for schedule(static) if (n >= kParallelMinPoints)
  for (int64_t t = 0; t < m; ++t) {
    // Gradient and last update of opposite sign (openTSNE: np.sign differs,
    // so a zero update counts as agreeing): the descent keeps its direction,
    // speed up; otherwise it overshot, slow down.
    const bool keeps_direction = sign(grad[t]) != sign(update[t]);
    double g = keeps_direction ? gains[t] + 0.2 : gains[t] * 0.8;
    if (g < min_gain) g = min_gain;
    gains[t] = g;
    update[t] = momentum * update[t] - learning_rate * g * grad[t];
    y[t] += update[t];
  }
  recentre(y, n, dims);
}

void recentre(double* y, int64_t n, int dims) {
  double mean[3] = {};
  for (int64_t i = 0; i < n; ++i)
    for (int d = 0; d < dims; ++d) mean[d] += y[i * dims + d];
  for (int d = 0; d < dims; ++d) mean[d] /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int d = 0; d < dims; ++d) y[i * dims + d] -= mean[d];
}

}  // namespace prism::tsne
