// PCA against an independent oracle: the covariance's eigenvectors by Eigen's
// SelfAdjointEigenSolver (a different algorithm from LAPACK's dsyevr).
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>

#include "prism/pca.hpp"
#include "test_util.hpp"

using namespace prism;

namespace {

constexpr double kCosTolerance = 0.9999;   // |cos| between our axis and the oracle's
constexpr double kVarianceRelTol = 1e-3;  // explained variance, relative

/// Data with well separated variances along a random rotation.
Matrix anisotropic(int64_t n, int64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd q = Eigen::MatrixXd::NullaryExpr(d, d, [&] { return normal(rng); });
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(q);
  const Eigen::MatrixXd rot = qr.householderQ();
  Matrix x(n, d);
  for (int64_t i = 0; i < n; ++i) {
    Eigen::VectorXd z(d);
    for (int64_t j = 0; j < d; ++j) z[j] = normal(rng) * (10.0 / (1.0 + j)) + (j == 0 ? 5.0 : 0.0);
    const Eigen::VectorXd r = rot * z;
    for (int64_t j = 0; j < d; ++j) x(i, j) = static_cast<float>(r[j] + 3.0);
  }
  return x;
}

struct Oracle {
  Eigen::MatrixXd vectors;  // columns, descending eigenvalue
  Eigen::VectorXd values;
  double total;
};

Oracle oracle(const Matrix& x) {
  const int64_t n = x.rows(), d = x.cols();
  Eigen::MatrixXd m(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) m(i, j) = x(i, j);
  const Eigen::MatrixXd c = m.rowwise() - m.colwise().mean();
  const Eigen::MatrixXd cov = (c.transpose() * c) / double(n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
  return {es.eigenvectors().rowwise().reverse(), es.eigenvalues().reverse(), cov.trace()};
}

struct Shape {
  int64_t n, d;
  int k;
  PcaSolver solver;
};

class PcaTest : public ::testing::TestWithParam<Shape> {};

TEST_P(PcaTest, MatchesEigenOracle) {
  const Shape s = GetParam();
  const Matrix x = anisotropic(s.n, s.d, 1000 + s.n + s.d);
  PcaParams p;
  p.dims = s.k;
  p.solver = s.solver;
  p.backend = Backend::cpu;
  p.seed = 7;
  const PcaModel model = fit_pca_cpu(x.view(), p);
  const Oracle o = oracle(x);
  ASSERT_EQ(model.components.rows(), s.k);
  for (int c = 0; c < s.k; ++c) {
    double dot = 0;
    for (int64_t j = 0; j < s.d; ++j) dot += model.components(c, j) * o.vectors(j, c);
    EXPECT_GE(std::abs(dot), kCosTolerance) << "component " << c;
    EXPECT_NEAR(model.explained_variance[c], o.values[c], kVarianceRelTol * o.values[c]);
    EXPECT_NEAR(model.explained_variance_ratio[c], o.values[c] / o.total, 1e-4);
  }
  // The projection is centred and its variance along axis c is the eigenvalue.
  const Matrix y = model.transform(x.view());
  for (int c = 0; c < s.k; ++c) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < s.n; ++i) mean += y(i, c);
    mean /= s.n;
    for (int64_t i = 0; i < s.n; ++i) var += (y(i, c) - mean) * (y(i, c) - mean);
    var /= (s.n - 1);
    EXPECT_NEAR(mean, 0.0, 1e-3 * std::sqrt(o.values[0]));
    EXPECT_NEAR(var, o.values[c], 2e-3 * o.values[c]);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, PcaTest,
                         ::testing::Values(Shape{500, 8, 3, PcaSolver::full}, Shape{2000, 40, 2, PcaSolver::full},
                                           Shape{5000, 64, 10, PcaSolver::full}, Shape{9000, 16, 16, PcaSolver::full},
                                           Shape{3000, 60, 3, PcaSolver::randomized},
                                           Shape{4000, 120, 5, PcaSolver::randomized}),
                         [](const auto& info) {
                           return std::to_string(info.param.n) + "x" + std::to_string(info.param.d) + "k" +
                                  std::to_string(info.param.k) +
                                  (info.param.solver == PcaSolver::full ? "full" : "randomized");
                         });

TEST(Pca, WhiteningGivesUnitVariance) {
  const Matrix x = anisotropic(3000, 10, 3);
  PcaParams p;
  p.dims = 4;
  p.whiten = true;
  const PcaModel model = fit_pca_cpu(x.view(), p);
  const Matrix y = model.transform(x.view());
  for (int c = 0; c < 4; ++c) {
    double var = 0;
    for (int64_t i = 0; i < y.rows(); ++i) var += double(y(i, c)) * y(i, c);
    EXPECT_NEAR(var / (y.rows() - 1), 1.0, 1e-3);
  }
}

TEST(Pca, RejectsBadDims) {
  const Matrix x = anisotropic(10, 4, 1);
  PcaParams p;
  p.dims = 5;
  EXPECT_THROW(fit_pca_cpu(x.view(), p), InputError);
  p.dims = 0;
  EXPECT_THROW(fit_pca_cpu(x.view(), p), InputError);
}

}  // namespace
