// KL(P || Q) of a finished embedding, for metrics and tests: exact
// normalisation below 20k points, Barnes-Hut (a tight theta) above.
#include <cmath>
#include <vector>

#include "tsne/stages.hpp"

namespace prism {

namespace {
constexpr int64_t kExactBelow = 20000;
// Z's relative error with theta = 0.25 is ~1e-4 at Fashion-MNIST scale, which
// moves KL by the same amount in absolute terms.
constexpr double kKlTheta = 0.25;
}  // namespace

double tsne_kl_divergence(const SparseP& p, ConstView y) {
  PRISM_EXPECTS(y.rows == p.n, "KL divergence: embedding has ", y.rows, " rows, P has ", p.n);
  PRISM_EXPECTS(y.cols == 2 || y.cols == 3, "KL divergence: embedding must have 2 or 3 columns, got ", y.cols);
  PRISM_EXPECTS(p.n >= 2 && static_cast<int64_t>(p.row_ptr.size()) == p.n + 1,
                "KL divergence: P must have n >= 2 and n + 1 row pointers");
  const int dims = static_cast<int>(y.cols);
  std::vector<double> yd(checked_mul(y.rows, y.cols));
  for (int64_t i = 0; i < y.rows; ++i)
    for (int d = 0; d < dims; ++d) {
      yd[i * dims + d] = y(i, d);
      PRISM_EXPECTS(std::isfinite(yd[i * dims + d]), "KL divergence: embedding row ", i, " is not finite");
    }
  const double z = p.n < kExactBelow ? tsne::repulsive_forces_exact(yd.data(), p.n, dims, nullptr).z
                                     : tsne::repulsive_forces(yd.data(), p.n, dims, kKlTheta, nullptr).z;
  double psum = 0;
  for (float v : p.val) psum += v;
  return tsne::sum_p_log_p(p) + tsne::sum_p_log1p_d2(p, yd.data(), dims) + std::log(z) * psum;
}

}  // namespace prism
