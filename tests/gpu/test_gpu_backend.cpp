// The CUDA backend through the engine's public API, each stage held against
// its CPU reference on fresh seeded inputs. Without a device every test but
// the first two is skipped, with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "gpu_test_util.hpp"
#include "prism/backend.hpp"
#include "prism/knn.hpp"
#include "prism/metrics.hpp"
#include "prism/pca.hpp"
#include "prism/reducer.hpp"
#include "prism/tsne.hpp"
#include "prism/umap.hpp"
#include "test_util.hpp"

namespace prism {
namespace {

// These two run everywhere: no device must never mean a crash.
TEST(GpuBackend, DescriptionIsNeverEmpty) {
  const std::string d = cuda_device_description();
  EXPECT_FALSE(d.empty());
  // With a device it names it ("NVIDIA H200 (132 SMs, ...)"); without, it says why.
  EXPECT_EQ(d.find(" SMs") != std::string::npos, cuda_available()) << d;
}

TEST(GpuBackend, CudaWithoutDeviceIsAnInputError) {
  if (cuda_available()) {
    EXPECT_EQ(resolve_backend(Backend::cuda), Backend::cuda);
    EXPECT_EQ(resolve_backend(Backend::automatic), Backend::cuda);
  } else {
    EXPECT_THROW(resolve_backend(Backend::cuda), InputError);
    EXPECT_EQ(resolve_backend(Backend::automatic), Backend::cpu);
  }
}

// ---- exact kNN --------------------------------------------------------------

using KnnCase = std::tuple<int64_t, int64_t, int, Metric>;  // n, d, k, metric

class GpuKnnExact : public ::testing::TestWithParam<KnnCase> {};

TEST_P(GpuKnnExact, MatchesCpuExceptTies) {
  PRISM_REQUIRE_CUDA();
  const auto [n, d, k, metric] = GetParam();
  const Matrix x = test::random_matrix(n, d, 1000 + n + d + k);
  KnnParams p;
  p.k = k;
  p.metric = metric;
  p.mode = KnnMode::exact;
  p.backend = Backend::cuda;
  const KnnGraph gpu = build_knn(x, p);
  const KnnGraph cpu = knn_exact_cpu(x, k, metric);
  EXPECT_EQ(test::knn_mismatched_rows(gpu, cpu), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GpuKnnExact,
    ::testing::Values(KnnCase{500, 7, 5, Metric::euclidean}, KnnCase{3000, 64, 15, Metric::euclidean},
                      KnnCase{3000, 64, 15, Metric::cosine}, KnnCase{20000, 33, 30, Metric::euclidean},
                      KnnCase{2500, 16, 1000, Metric::euclidean}, KnnCase{1100, 300, 1, Metric::cosine}),
    [](const auto& info) {
      return std::to_string(std::get<0>(info.param)) + "x" + std::to_string(std::get<1>(info.param)) +
             "_k" + std::to_string(std::get<2>(info.param)) + "_" + to_string(std::get<3>(info.param));
    });

TEST(GpuKnnApprox, HighRecallOnClusters) {
  PRISM_REQUIRE_CUDA();
  const test::Blobs b = test::make_blobs(60000, 48, 30, 7, 4.0f);
  KnnParams p;
  p.k = 15;
  p.mode = KnnMode::approx;
  p.backend = Backend::cuda;
  p.seed = 3;
  const KnnGraph approx = build_knn(b.x, p);
  const std::vector<int64_t> rows = sample_rows(b.x.rows(), 2000, 11);
  Matrix q(static_cast<int64_t>(rows.size()), b.x.cols());
  for (size_t r = 0; r < rows.size(); ++r)
    std::copy(b.x.row(rows[r]), b.x.row(rows[r]) + b.x.cols(), q.row(static_cast<int64_t>(r)));
  const KnnGraph exact = knn_query(b.x, q, 15, Metric::euclidean, &rows);
  EXPECT_GE(knn_recall(approx, exact, rows), 0.95);
}

// ---- PCA --------------------------------------------------------------------

TEST(GpuPca, ComponentsMatchCpu) {
  PRISM_REQUIRE_CUDA();
  // Distinct variances along random axes, so components are well separated.
  const int64_t n = 5000, d = 40;
  Matrix x = test::random_matrix(n, d, 21);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) x(i, j) *= 1.0f + 0.25f * static_cast<float>(d - j) + 3.0f;
  PcaParams p;
  p.dims = 5;
  p.solver = PcaSolver::full;
  p.backend = Backend::cuda;
  const PcaModel gpu = fit_pca(x, p);
  p.backend = Backend::cpu;
  const PcaModel cpu = fit_pca_cpu(x, p);
  ASSERT_EQ(gpu.components.rows(), 5);
  for (int c = 0; c < 5; ++c) {
    double dot = 0;
    for (int64_t j = 0; j < d; ++j) dot += double(gpu.components(c, j)) * cpu.components(c, j);
    EXPECT_GE(std::abs(dot), 0.9999) << "component " << c;
    EXPECT_NEAR(gpu.explained_variance_ratio[c], cpu.explained_variance_ratio[c], 1e-4);
    EXPECT_NEAR(gpu.explained_variance[c] / cpu.explained_variance[c], 1.0, 1e-4);
  }
  for (int64_t j = 0; j < d; ++j) EXPECT_NEAR(gpu.mean[j], cpu.mean[j], 1e-4);
}

// ---- t-SNE and UMAP against the CPU reducers --------------------------------

struct Embedded {
  Matrix y;
  Faithfulness f;
};

Embedded evaluate(const test::Blobs& b, std::unique_ptr<Reducer> r) {
  run_reducer(*r, nullptr);
  Embedded e;
  e.y = to_matrix(r->embedding());
  MetricsParams mp;
  mp.sample = 2000;
  e.f = evaluate_embedding(b.x, e.y, &b.labels, mp);
  return e;
}

void expect_close(const Faithfulness& gpu, const Faithfulness& cpu) {
  EXPECT_NEAR(gpu.trustworthiness, cpu.trustworthiness, 0.01);
  EXPECT_NEAR(gpu.knn_recall, cpu.knn_recall, 0.01);
  EXPECT_NEAR(gpu.knn_accuracy, cpu.knn_accuracy, 0.01);
}

class GpuTsne : public ::testing::TestWithParam<int> {};

TEST_P(GpuTsne, FaithfulAsCpuAndReproducible) {
  PRISM_REQUIRE_CUDA();
  const int dims = GetParam();
  const test::Blobs b = test::make_blobs(3000, 30, 8, 5, 3.0f);
  TsneParams p;
  p.dims = dims;
  p.init = Init::random;
  p.max_iter = 750;
  p.seed = 9;
  const KnnGraph g = knn_exact_cpu(b.x, 90, Metric::euclidean);
  p.backend = Backend::cuda;
  const Embedded gpu = evaluate(b, make_tsne(g, nullptr, p));
  const Embedded again = evaluate(b, make_tsne(g, nullptr, p));
  const Embedded cpu = evaluate(b, make_tsne_cpu(g, nullptr, p));
  expect_close(gpu.f, cpu.f);
  EXPECT_GE(gpu.f.trustworthiness, 0.9);
  EXPECT_EQ(gpu.y.storage(), again.y.storage()) << "same seed, different embedding";
  auto r = make_tsne(g, nullptr, p);
  EXPECT_EQ(r->backend(), Backend::cuda);
  for (int i = 0; i < 10; ++i) r->step();
  EXPECT_TRUE(std::isfinite(r->objective()));
}

INSTANTIATE_TEST_SUITE_P(Dims, GpuTsne, ::testing::Values(2, 3));

using UmapCase = std::tuple<int, bool>;  // dims, deterministic

class GpuUmap : public ::testing::TestWithParam<UmapCase> {};

TEST_P(GpuUmap, FaithfulAsCpu) {
  PRISM_REQUIRE_CUDA();
  const auto [dims, deterministic] = GetParam();
  const test::Blobs b = test::make_blobs(4000, 30, 8, 6, 3.0f);
  UmapParams p;
  p.dims = dims;
  p.seed = 4;
  p.deterministic = deterministic;
  const KnnGraph g = knn_exact_cpu(b.x, p.n_neighbors, Metric::euclidean);
  p.backend = Backend::cuda;
  const Embedded gpu = evaluate(b, make_umap(g, nullptr, p));
  const Embedded cpu = evaluate(b, make_umap_cpu(g, nullptr, p));
  expect_close(gpu.f, cpu.f);
  EXPECT_GE(gpu.f.trustworthiness, 0.9);
  if (deterministic) {
    const Embedded again = evaluate(b, make_umap(g, nullptr, p));
    EXPECT_EQ(gpu.y.storage(), again.y.storage()) << "deterministic mode is not reproducible";
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, GpuUmap,
                         ::testing::Values(UmapCase{2, false}, UmapCase{2, true}, UmapCase{3, false},
                                           UmapCase{3, true}),
                         [](const auto& info) {
                           return std::to_string(std::get<0>(info.param)) + "d" +
                                  (std::get<1>(info.param) ? "_deterministic" : "_fast");
                         });

}  // namespace
}  // namespace prism
