// The reduce pipeline: what it decides before the optimiser (PCA
// pre-reduction, cosine normalisation, the kNN graph's k and exact/approximate
// search, the checks before any work), read from its RunRecord and its stages.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "prism/pipeline.hpp"
#include "test_util.hpp"

namespace prism {
namespace {

class Stages : public Progress {
 public:
  void begin(std::string_view stage, int64_t) override { names.emplace_back(stage); }
  std::vector<std::string> names;
};

ReduceParams tsne_params(int dims = 2) {
  ReduceParams p;
  p.method = Method::tsne;
  p.dims = dims;
  p.backend = Backend::cpu;
  p.seed = 5;
  p.tsne.perplexity = 10;
  p.tsne.max_iter = 20;
  return p;
}

TEST(Pipeline, TsneReducesWideInputWithPcaFirst) {
  const auto wide = test::make_blobs(600, 120, 4, 1);
  const auto narrow = test::make_blobs(600, 80, 4, 1);
  EXPECT_EQ(prepare_reduction(wide.x, tsne_params()).record.pca_dims, 50);
  EXPECT_EQ(prepare_reduction(narrow.x, tsne_params()).record.pca_dims, 0);
  ReduceParams off = tsne_params();
  off.tsne.pca_dims = 0;
  EXPECT_EQ(prepare_reduction(wide.x, off).record.pca_dims, 0);
  ReduceParams umap;
  umap.backend = Backend::cpu;
  EXPECT_EQ(prepare_reduction(wide.x, umap).record.pca_dims, 0);  // UMAP never pre-reduces
}

TEST(Pipeline, CosineIgnoresTheLengthOfEachRow) {
  // With cosine the rows are unit-normalised before the PCA pre-reduction:
  // scaling each row by its own factor must not change the start layout.
  const auto blobs = test::make_blobs(500, 120, 5, 3);
  Matrix scaled = blobs.x;
  for (int64_t i = 0; i < scaled.rows(); ++i)
    for (int64_t j = 0; j < scaled.cols(); ++j) scaled(i, j) *= 0.5f + 2.5f * float(i % 7) / 6.0f;
  ReduceParams p = tsne_params();
  p.metric = Metric::cosine;
  PreparedReduction a = prepare_reduction(blobs.x, p), b = prepare_reduction(scaled.view(), p);
  EXPECT_TRUE(a.record.normalised);
  const ConstView ya = a.reducer->embedding(), yb = b.reducer->embedding();
  double diff = 0, norm = 0;
  for (int64_t i = 0; i < ya.rows; ++i)
    for (int d = 0; d < 2; ++d) {
      diff = std::max(diff, double(std::abs(ya(i, d) - yb(i, d))));
      norm = std::max(norm, double(std::abs(ya(i, d))));
    }
  EXPECT_LT(diff, 1e-3 * norm);
  // Euclidean does see the lengths.
  p.metric = Metric::euclidean;
  PreparedReduction c = prepare_reduction(blobs.x, p), d = prepare_reduction(scaled.view(), p);
  EXPECT_FALSE(c.record.normalised);
  double diff_e = 0;
  for (int64_t i = 0; i < ya.rows; ++i)
    diff_e = std::max(diff_e, double(std::abs(c.reducer->embedding()(i, 0) - d.reducer->embedding()(i, 0))));
  EXPECT_GT(diff_e, 0.1 * norm);
}

TEST(Pipeline, KnnGraphKFollowsTheMethod) {
  const auto blobs = test::make_blobs(300, 8, 3, 2);
  ReduceParams t = tsne_params();
  EXPECT_EQ(prepare_reduction(blobs.x, t).record.knn_k, 30);  // ceil(3 * perplexity)
  t.tsne.perplexity = 7.2;
  EXPECT_EQ(prepare_reduction(blobs.x, t).record.knn_k, 22);
  ReduceParams u;
  u.backend = Backend::cpu;
  u.umap.n_epochs = 5;
  EXPECT_EQ(prepare_reduction(blobs.x, u).record.knn_k, 15);
  u.umap.n_neighbors = 40;
  EXPECT_EQ(prepare_reduction(blobs.x, u).record.knn_k, 40);
  const auto tiny = test::make_blobs(12, 4, 2, 2);
  EXPECT_EQ(prepare_reduction(tiny.x, u).record.knn_k, 11);  // n - 1
}

TEST(Pipeline, ExactSearchForSmallInputsApproximateForLargeOnes) {
  ReduceParams u;
  u.backend = Backend::cpu;
  u.umap.init = Init::random;
  u.umap.n_epochs = 1;
  const auto small = test::make_blobs(2000, 8, 4, 4);
  const PreparedReduction s = prepare_reduction(small.x, u);
  EXPECT_TRUE(s.record.knn_exact);
  const auto large = test::make_blobs(21000, 8, 8, 4);
  const PreparedReduction l = prepare_reduction(large.x, u);
  EXPECT_FALSE(l.record.knn_exact);
  EXPECT_EQ(l.record.n_epochs, 1);
  u.knn_mode = KnnMode::exact;
  EXPECT_EQ(resolve_knn_mode(21000, KnnParams{.k = 15, .mode = KnnMode::exact}), KnnMode::exact);
  u.knn_mode = KnnMode::approx;
  EXPECT_FALSE(prepare_reduction(small.x, u).record.knn_exact);
}

TEST(Pipeline, BadParametersFailBeforeAnyWork) {
  const auto blobs = test::make_blobs(300, 8, 3, 2);
  for (double perplexity : {0.0, 100.0, -1.0}) {
    ReduceParams p = tsne_params();
    p.tsne.perplexity = perplexity;
    Stages stages;
    try {
      prepare_reduction(blobs.x, p, &stages);
      FAIL() << "perplexity " << perplexity << " accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("perplexity"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(stages.names.empty()) << "perplexity " << perplexity << ": started " << stages.names[0];
  }
  ReduceParams u;
  u.umap.min_dist = 3;
  EXPECT_THROW(check_reduce_params(u, 300, 8), InputError);
  ReduceParams pca;
  pca.method = Method::pca;
  pca.dims = 9;
  EXPECT_THROW(check_reduce_params(pca, 300, 8), InputError);
}

TEST(Pipeline, RecordsWhatRan) {
  const auto blobs = test::make_blobs(300, 8, 3, 2);
  const Projection p = reduce(blobs.x, tsne_params(3));
  EXPECT_EQ(p.record.backend, Backend::cpu);
  EXPECT_EQ(p.record.init, Init::pca);
  EXPECT_EQ(p.record.n_epochs, 20);
  EXPECT_DOUBLE_EQ(p.record.learning_rate, 50.0);
  EXPECT_EQ(p.y.rows(), 300);
  EXPECT_EQ(p.y.cols(), 3);
  EXPECT_FALSE(p.aborted);
  EXPECT_TRUE(std::isfinite(p.objective));
}

}  // namespace
}  // namespace prism
