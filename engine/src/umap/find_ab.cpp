// a and b of the low-dimensional similarity 1 / (1 + a d^(2b)), as umap-learn's
// find_ab_params: least squares against the target curve (1 below min_dist,
// exp(-(d - min_dist) / spread) above) on 300 points of [0, 3 spread].
// scipy's curve_fit runs Levenberg-Marquardt from (1, 1); so does this.
#include <array>
#include <cmath>

#include "umap_internal.hpp"

namespace prism {

namespace {

struct Residuals {
  double sse = 0;
  // Normal equations J^T J and J^T r for the two parameters.
  double jtj[2][2] = {{0, 0}, {0, 0}};
  double jtr[2] = {0, 0};
};

Residuals evaluate(const std::array<double, 300>& xs, const std::array<double, 300>& ys, double a,
                   double b) {
  Residuals r;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double x = xs[i];
    // x^(2b) and its log; x = 0 contributes a constant 1 with zero derivatives.
    const double p = x > 0 ? std::pow(x, 2 * b) : 0.0;
    const double f = 1.0 / (1.0 + a * p);
    const double res = f - ys[i];
    const double df = -f * f;  // d f / d(a p)
    const double da = df * p;
    const double db = x > 0 ? df * a * p * 2.0 * std::log(x) : 0.0;
    r.sse += res * res;
    r.jtj[0][0] += da * da;
    r.jtj[0][1] += da * db;
    r.jtj[1][1] += db * db;
    r.jtr[0] += da * res;
    r.jtr[1] += db * res;
  }
  r.jtj[1][0] = r.jtj[0][1];
  return r;
}

}  // namespace

std::pair<double, double> umap_find_ab(double spread, double min_dist) {
  PRISM_EXPECTS(spread > 0 && std::isfinite(spread), "UMAP spread must be > 0, got ", spread);
  PRISM_EXPECTS(min_dist >= 0 && min_dist <= spread, "UMAP min_dist must be in [0, spread = ",
                spread, "], got ", min_dist);
  std::array<double, 300> xs, ys;
  for (size_t i = 0; i < xs.size(); ++i) {
    xs[i] = spread * 3.0 * static_cast<double>(i) / (xs.size() - 1);  // np.linspace
    ys[i] = xs[i] < min_dist ? 1.0 : std::exp(-(xs[i] - min_dist) / spread);
  }
  double a = 1.0, b = 1.0, lambda = 1e-3;
  Residuals cur = evaluate(xs, ys, a, b);
  for (int it = 0; it < 500; ++it) {
    // Marquardt's scaling of the diagonal keeps the step well-posed when a and b
    // differ in scale.
    const double m00 = cur.jtj[0][0] * (1 + lambda), m11 = cur.jtj[1][1] * (1 + lambda);
    const double m01 = cur.jtj[0][1];
    const double det = m00 * m11 - m01 * m01;
    if (!(std::abs(det) > 0)) break;
    const double da = -(m11 * cur.jtr[0] - m01 * cur.jtr[1]) / det;
    const double db = -(m00 * cur.jtr[1] - m01 * cur.jtr[0]) / det;
    const double na = a + da, nb = b + db;
    if (na > 0 && nb > 0) {
      Residuals next = evaluate(xs, ys, na, nb);
      if (next.sse < cur.sse) {
        const bool converged = cur.sse - next.sse <= 1e-15 * (1 + cur.sse) &&
                               std::abs(da) <= 1e-12 * (1 + a) && std::abs(db) <= 1e-12 * (1 + b);
        a = na;
        b = nb;
        cur = next;
        lambda = std::max(lambda * 0.1, 1e-12);
        if (converged) break;
        continue;
      }
    }
    lambda *= 10;
    if (lambda > 1e12) break;
  }
  PRISM_CHECK(std::isfinite(a) && std::isfinite(b) && a > 0 && b > 0, "a/b fit failed for spread ",
              spread, ", min_dist ", min_dist);
  return {a, b};
}

}  // namespace prism
