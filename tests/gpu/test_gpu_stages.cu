// The reducers' GPU stages one by one against the CPU's (engine/src/tsne/
// stages.hpp) or a dense oracle: Barnes-Hut repulsion exact at theta = 0 and
// as the CPU's at 0.5, attraction and the KL objective, UMAP's spectral
// initialisation (it must really run, and span the leading eigenvectors),
// and PCA through several host chunks. Built only with CUDA.
#include <gtest/gtest.h>

// Eigen as plain host code under nvcc (no __device__ annotations).
#define EIGEN_NO_CUDA
#include <Eigen/Dense>

#include <cmath>
#include <random>
#include <vector>

#include "../../engine/src/tsne/stages.hpp"
#include "core/context.cuh"
#include "gpu_test_util.hpp"
#include "pca/pca_internal.cuh"
#include "prism/pca.hpp"
#include "prism/tsne.hpp"
#include "prism/umap.hpp"
#include "test_util.hpp"
#include "tsne/tsne_internal.cuh"
#include "umap/umap_internal.cuh"

namespace prism::cuda {
namespace {

// A layout like one in mid-optimisation: blobs of a few units spread over
// tens, rounded to float (what the GPU holds), in double for the CPU stages.
std::vector<double> layout(int64_t n, int dims, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> centres(8 * dims);
  for (double& c : centres) c = 15.0 * normal(rng);
  std::vector<double> y(n * dims);
  for (int64_t i = 0; i < n; ++i)
    for (int d = 0; d < dims; ++d)
      y[i * dims + d] = static_cast<float>(centres[(i % 8) * dims + d] + 2.0 * normal(rng));
  return y;
}

struct GpuForces {
  std::vector<float> rep;
  double z = 0;
};

GpuForces gpu_repulsion(const std::vector<double>& y, int64_t n, int dims, double theta) {
  auto ctx = Context::shared();
  const std::vector<float> yf(y.begin(), y.end());
  DeviceBuffer<float> dy(*ctx, n * dims, "test layout"), rep(*ctx, n * dims, "test repulsion");
  DeviceBuffer<double> z(*ctx, 1, "test Z");
  dy.upload(yf.data(), n * dims);
  detail::BhTree tree(*ctx, n, dims);
  tree.build(dy.data());
  tree.repulsion(dy.data(), theta, rep.data(), z.data());
  GpuForces f;
  f.rep.resize(n * dims);
  rep.download(f.rep.data(), n * dims);
  z.download(&f.z, 1);
  ctx->sync();
  return f;
}

// |a - b| / |b| over all coordinates (L2).
double relative_l2(const std::vector<float>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t t = 0; t < b.size(); ++t) {
    num += (a[t] - b[t]) * (a[t] - b[t]);
    den += b[t] * b[t];
  }
  return std::sqrt(num / den);
}

class GpuTsneStages : public ::testing::TestWithParam<int> {};

TEST_P(GpuTsneStages, RepulsionAtThetaZeroIsExact) {
  PRISM_REQUIRE_CUDA();
  const int dims = GetParam();
  const int64_t n = 3000;
  const std::vector<double> y = layout(n, dims, 51);
  const GpuForces gpu = gpu_repulsion(y, n, dims, 0.0);
  std::vector<double> rep(n * dims);
  const double z = tsne::repulsive_forces_exact(y.data(), n, dims, rep.data()).z;
  EXPECT_LT(relative_l2(gpu.rep, rep), 1e-4);
  EXPECT_NEAR(gpu.z / z, 1.0, 1e-4);
  // Per point too, against the typical force (small forces may cancel).
  double rms = 0;
  for (double v : rep) rms += v * v;
  rms = std::sqrt(rms / rep.size());
  for (int64_t t = 0; t < n * dims; ++t)
    ASSERT_NEAR(gpu.rep[t], rep[t], 1e-4 * std::max(std::abs(rep[t]), rms)) << "coordinate " << t;
}

TEST_P(GpuTsneStages, RepulsionAtThetaHalfMatchesCpuBarnesHut) {
  PRISM_REQUIRE_CUDA();
  const int dims = GetParam();
  const int64_t n = 20000;
  const std::vector<double> y = layout(n, dims, 52);
  const GpuForces gpu = gpu_repulsion(y, n, dims, 0.5);
  std::vector<double> rep(n * dims);
  const double z = tsne::repulsive_forces(y.data(), n, dims, 0.5, rep.data()).z;
  EXPECT_LT(relative_l2(gpu.rep, rep), 1e-2);
  EXPECT_NEAR(gpu.z / z, 1.0, 1e-2);
  // Both are approximations of the same sum: the GPU's error stays in theta's range.
  std::vector<double> exact(n * dims);
  const double z_exact = tsne::repulsive_forces_exact(y.data(), n, dims, exact.data()).z;
  EXPECT_LT(relative_l2(gpu.rep, exact), 2e-2);
  EXPECT_NEAR(gpu.z / z_exact, 1.0, 1e-2);
}

// P from the CPU (tsne_affinities), uploaded as the GPU holds it.
detail::DeviceP upload_p(Context& ctx, const SparseP& p) {
  detail::DeviceP d;
  d.n = p.n;
  d.nnz = static_cast<int64_t>(p.col.size());
  d.row_ptr.reset(ctx, p.n + 1, "test P");
  d.col.reset(ctx, d.nnz, "test P");
  d.val.reset(ctx, d.nnz, "test P");
  d.row_ptr.upload(p.row_ptr.data(), p.n + 1);
  d.col.upload(p.col.data(), d.nnz);
  d.val.upload(p.val.data(), d.nnz);
  return d;
}

TEST_P(GpuTsneStages, AttractionAndKlMatchCpu) {
  PRISM_REQUIRE_CUDA();
  const int dims = GetParam();
  const test::Blobs b = test::make_blobs(4000, 20, 6, 53, 3.0f);
  const SparseP p = tsne_affinities(knn_exact_cpu(b.x, 60, Metric::euclidean), 20.0);
  const int64_t n = p.n;
  const std::vector<double> y = layout(n, dims, 54);
  auto ctx = Context::shared();
  const detail::DeviceP dp = upload_p(*ctx, p);
  const std::vector<float> yf(y.begin(), y.end());
  DeviceBuffer<float> dy(*ctx, n * dims, "test layout"), attr(*ctx, n * dims, "test attraction");
  dy.upload(yf.data(), n * dims);
  detail::launch_attraction(*ctx, dp, dy.data(), dims, 12.0f, attr.data());
  std::vector<float> gpu(n * dims);
  attr.download(gpu.data(), n * dims);
  ctx->sync();
  std::vector<double> cpu(n * dims);
  tsne::attractive_forces(p, y.data(), dims, 12.0, cpu.data());
  EXPECT_LT(relative_l2(gpu, cpu), 1e-5);
  for (int64_t t = 0; t < n * dims; ++t)
    ASSERT_NEAR(gpu[t], cpu[t], 1e-4 * std::max(1e-3, std::abs(cpu[t]))) << "coordinate " << t;

  // KL(P || Q) as the GPU reducer's objective() computes it: the P terms plus
  // log Z from an exact (theta = 0) pass.
  DeviceBuffer<double> s(*ctx, 1, "test KL");
  detail::launch_kl_terms(*ctx, dp, dy.data(), dims, s.data());
  double terms = 0;
  s.download(&terms, 1);
  ctx->sync();
  const double kl_gpu = terms + std::log(gpu_repulsion(y, n, dims, 0.0).z);
  Matrix ym(n, dims);
  std::copy(yf.begin(), yf.end(), ym.data());
  const double kl_cpu = tsne_kl_divergence(p, ym);
  EXPECT_NEAR(kl_gpu, kl_cpu, 1e-4 * std::abs(kl_cpu));
}

INSTANTIATE_TEST_SUITE_P(Dims, GpuTsneStages, ::testing::Values(2, 3));

// ---- UMAP spectral initialisation ---------------------------------------------

// Points in a 4 x 1 rectangle (plus a little noise in 3 more dimensions): one
// connected graph whose leading eigenvectors are the rectangle's first modes
// along its long side, with clear gaps between them. Plain subspace iteration
// does not converge here in 300 steps (principal cosines 0.80-0.97).
Matrix rectangle(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::normal_distribution<float> noise(0.f, 0.01f);
  Matrix x(n, 5);
  for (int64_t i = 0; i < n; ++i) {
    x(i, 0) = 4.f * u(rng);
    x(i, 1) = u(rng);
    for (int j = 2; j < 5; ++j) x(i, j) = noise(rng);
  }
  return x;
}

class GpuSpectral : public ::testing::TestWithParam<int> {};

TEST_P(GpuSpectral, RunsAndSpansTheLeadingEigenvectors) {
  PRISM_REQUIRE_CUDA();
  const int dims = GetParam();
  const int64_t n = 2000;
  UmapParams params;
  const FuzzyGraph g = umap_fuzzy_graph(knn_exact_cpu(rectangle(n, 61), 15, Metric::euclidean), params);
  std::vector<float> y;
  auto ctx = Context::shared();
  // Called directly: a failed solve must fail here, not fall back to random.
  ASSERT_TRUE(detail::spectral_init_device(*ctx, g, dims, 7, 300, y))
      << "the GPU spectral initialisation did not converge";
  ASSERT_EQ(static_cast<int64_t>(y.size()), n * dims);

  // Dense oracle: eigenvectors of D^-1/2 W D^-1/2 (ascending eigenvalues).
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(n, n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t e = g.row_ptr[i]; e < g.row_ptr[i + 1]; ++e) m(i, g.col[e]) = g.val[e];
  const Eigen::VectorXd deg = m.rowwise().sum();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) m(i, j) /= std::sqrt(deg(i) * deg(j));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(m);
  const Eigen::VectorXd& ev = eig.eigenvalues();
  // The wanted vectors are well separated from the next (else "spans" means little).
  ASSERT_GT(ev(n - 1 - dims) - ev(n - 2 - dims), 1e-4);
  const Eigen::MatrixXd u = eig.eigenvectors().middleCols(n - 1 - dims, dims);  // skip the trivial one

  Eigen::MatrixXd yg(n, dims);
  for (int64_t i = 0; i < n; ++i)
    for (int d = 0; d < dims; ++d) yg(i, d) = y[i * dims + d];
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(yg).householderQ() *
                            Eigen::MatrixXd::Identity(n, dims);
  const Eigen::VectorXd cosines = Eigen::JacobiSVD<Eigen::MatrixXd>(u.transpose() * q).singularValues();
  for (int d = 0; d < dims; ++d) EXPECT_GT(cosines(d), 0.999) << "principal cosine " << d;
}

INSTANTIATE_TEST_SUITE_P(Dims, GpuSpectral, ::testing::Values(2, 3));

// ---- PCA through several host chunks ------------------------------------------

TEST(GpuPcaChunks, SmallChunksMatchCpu) {
  PRISM_REQUIRE_CUDA();
  // A strided view (the pinned staging packs its rows) in chunks of 777 rows.
  const int64_t n = 6000, d = 40;
  Matrix wide = test::random_matrix(n, d + 3, 62);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) wide(i, j) *= 1.0f + 0.25f * static_cast<float>(d - j) + 3.0f;
  const ConstView x(wide.data(), n, d, d + 3);
  PcaParams p;
  p.dims = 5;
  p.solver = PcaSolver::full;
  auto ctx = Context::shared();
  detail::PcaOptions o;
  o.chunk_rows = 777;
  const PcaModel gpu = detail::fit_pca_device(*ctx, x, p, o, nullptr);
  const PcaModel one_chunk = detail::fit_pca_device(*ctx, x, p, {}, nullptr);
  const PcaModel cpu = fit_pca_cpu(to_matrix(x), p);
  for (const PcaModel* m : {&gpu, &one_chunk}) {
    ASSERT_EQ(m->components.rows(), 5);
    for (int c = 0; c < 5; ++c) {
      double dot = 0;
      for (int64_t j = 0; j < d; ++j) dot += double(m->components(c, j)) * cpu.components(c, j);
      EXPECT_GE(dot, 0.9999) << "component " << c;  // same sign convention too
      EXPECT_NEAR(m->explained_variance[c] / cpu.explained_variance[c], 1.0, 1e-4);
    }
    for (int64_t j = 0; j < d; ++j) EXPECT_NEAR(m->mean[j], cpu.mean[j], 1e-4);
  }
}

}  // namespace
}  // namespace prism::cuda
