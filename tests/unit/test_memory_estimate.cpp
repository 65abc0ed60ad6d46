// Memory estimates of reductions and kNN graphs, and the check that refuses a
// job that cannot fit before any work (with the figure and what to try).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "prism/memory_estimate.hpp"
#include "test_util.hpp"

using namespace prism;

namespace {

struct MemoryLimit {
  explicit MemoryLimit(const char* v) { setenv("PRISM_MEMORY_LIMIT", v, 1); }
  ~MemoryLimit() { unsetenv("PRISM_MEMORY_LIMIT"); }
};

bool has_item(const MemoryEstimate& e, const std::string& part) {
  for (const auto& i : e.items)
    if (i.what.find(part) != std::string::npos) return true;
  return false;
}

ReduceParams params(Method m) {
  ReduceParams p;
  p.method = m;
  p.backend = Backend::cpu;
  return p;
}

std::string refusal(ConstView x, const ReduceParams& p) {
  try {
    check_reduction_memory(x, p);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(MemoryEstimate, KnnExactCopiesTheVectorsApproxDoesItsOwnWork) {
  KnnParams p;
  p.k = 15;
  p.mode = KnnMode::exact;
  const MemoryEstimate exact = estimate_knn_memory(1000000, 128, p);
  EXPECT_TRUE(has_item(exact, "exact kNN index"));
  // The graph (8 bytes per neighbour) and the index copy (4 bytes per value) dominate.
  EXPECT_GE(exact.total(), 1000000LL * 15 * 8 + 1000000LL * 128 * 4);
  EXPECT_LT(exact.total(), 2 * (1000000LL * 15 * 8 + 1000000LL * 128 * 4));
  p.mode = KnnMode::approx;
  const MemoryEstimate approx = estimate_knn_memory(1000000, 128, p);
  EXPECT_TRUE(has_item(approx, "NN-descent"));
  EXPECT_FALSE(has_item(approx, "exact kNN index"));
  p.k = 90;  // t-SNE's k: expanded from a 40-NN graph
  EXPECT_TRUE(has_item(estimate_knn_memory(1000000, 128, p), "expanded k-lists"));
  // Twice the rows, about twice the memory.
  const double ratio = double(estimate_knn_memory(2000000, 128, p).total()) / estimate_knn_memory(1000000, 128, p).total();
  EXPECT_NEAR(ratio, 2.0, 0.1);
}

TEST(MemoryEstimate, ReductionPeaksAtItsLargestStage) {
  // t-SNE: the affinities (the graph, P + P^T's reverse entries and P) are the peak.
  ReduceParams t = params(Method::tsne);
  t.knn_mode = KnnMode::exact;
  const MemoryEstimate tsne = estimate_reduction_memory(60000, 32, t);
  EXPECT_TRUE(has_item(tsne, "t-SNE P + P^T")) << tsne.describe();
  // Measured here (`prism -v reduce --knn exact` of 60,000 x 32 normal rows, CPU,
  // 2 threads): peak 147 MiB in the affinities, 136 MiB above the start (`prism
  // info`: 11 MiB; 284 MiB before P was built in place); the estimate stays within 25%.
  EXPECT_NEAR(tsne.total() / 1048576.0, 136, 0.25 * 136) << tsne.describe();
  // The approximate graph (two hops over a 45-NN graph, the default from 50,000
  // rows at k = 90): measured 136 MiB at the end of the kNN stage, 125 above the start.
  const MemoryEstimate knn = estimate_knn_memory(60000, 32, KnnParams{.k = 90, .mode = KnnMode::approx});
  EXPECT_TRUE(has_item(knn, "expanded k-lists")) << knn.describe();
  EXPECT_FALSE(has_item(knn, "NN-descent candidates")) << knn.describe();  // freed before the expansion
  EXPECT_NEAR(knn.total() / 1048576.0, 125, 0.25 * 125) << knn.describe();
  // Wide data: t-SNE's kNN runs on the 50-d PCA, not on the 784 columns.
  const MemoryEstimate wide = estimate_reduction_memory(70000, 784, t);
  EXPECT_TRUE(has_item(wide, "t-SNE")) << wide.describe();
  t.knn_mode = KnnMode::exact;
  t.tsne.pca_dims = 0;  // without it the exact index holds all 784 columns (the peak at k = 15)
  t.tsne.perplexity = 5;
  EXPECT_GT(estimate_reduction_memory(1000000, 784, t).total(), estimate_reduction_memory(1000000, 50, t).total());
  // UMAP: the spectral layout's Laplacian and Lanczos basis.
  const MemoryEstimate umap = estimate_reduction_memory(60000, 32, params(Method::umap));
  EXPECT_TRUE(has_item(umap, "spectral")) << umap.describe();
  EXPECT_NEAR(umap.total() / 1048576.0, 74, 0.25 * 74) << umap.describe();  // measured 74 MiB
  // PCA: the covariance and the output only.
  EXPECT_LT(estimate_reduction_memory(1000000, 100, params(Method::pca)).total(), 64LL << 20);
}

TEST(MemoryEstimate, RefusalNamesTheFigureAndWhatToTry) {
  const Matrix x = prism::test::random_matrix(30000, 200, 1);
  const MemoryLimit limit("64M");
  ReduceParams t = params(Method::tsne);
  t.tsne.pca_dims = 0;
  t.knn_mode = KnnMode::exact;
  const std::string w = refusal(x.view(), t);
  for (const char* part : {"tsne of 30000 x 200 vectors needs about", "MiB", "PRISM_MEMORY_LIMIT", "--knn approx",
                           "--pca-dims 50", "--perplexity"})
    EXPECT_NE(w.find(part), std::string::npos) << w << "  (missing: " << part << ")";
  ReduceParams u = params(Method::umap);
  u.umap.n_neighbors = 100;
  const std::string wu = refusal(x.view(), u);
  EXPECT_NE(wu.find("--n-neighbors"), std::string::npos) << wu;
  EXPECT_TRUE(refusal(x.view(), params(Method::pca)).empty());
}

TEST(MemoryEstimate, ReduceFailsBeforeAnyWork) {
  // The check sits at the top of prepare_reduction: with a budget that cannot
  // hold the kNN graph, reduce() throws at once instead of computing it.
  const Matrix x = prism::test::random_matrix(40000, 64, 2);
  const MemoryLimit limit("40M");
  ReduceParams t = params(Method::tsne);
  t.knn_mode = KnnMode::exact;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(reduce(x.view(), t), RuntimeError);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
}
