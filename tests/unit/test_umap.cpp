// UMAP on the CPU: each pipeline stage against a naive oracle or a known value,
// and the whole method against fixed quality thresholds on seeded blobs.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "../../engine/src/umap/umap_internal.hpp"
#include "prism/umap.hpp"
#include "test_util.hpp"

namespace prism {
namespace {

/// Naive exact kNN graph (self excluded, nearest first, true L2 distances).
/// `group` (optional) restricts each point's neighbours to its own group, which
/// gives a graph with one connected component per group.
KnnGraph naive_knn(const Matrix& x, int k, const std::vector<int32_t>* group = nullptr) {
  const int64_t n = x.rows();
  KnnGraph g;
  g.n = n;
  g.k = k;
  g.indices.resize(n * k);
  g.distances.resize(n * k);
  std::vector<std::pair<double, int32_t>> cand;
  for (int64_t i = 0; i < n; ++i) {
    cand.clear();
    for (int64_t j = 0; j < n; ++j) {
      if (j == i || (group && (*group)[j] != (*group)[i])) continue;
      cand.push_back({test::sq_dist(x.row(i), x.row(j), x.cols()), static_cast<int32_t>(j)});
    }
    std::partial_sort(cand.begin(), cand.begin() + k, cand.end());
    for (int j = 0; j < k; ++j) {
      g.indices[i * k + j] = cand[j].second;
      g.distances[i * k + j] = static_cast<float>(std::sqrt(cand[j].first));
    }
  }
  return g;
}

/// Majority vote of each query's `k` nearest reference points (brute force);
/// `same_set` skips the query itself. Returns the fraction classified right.
double knn_accuracy(ConstView ref, const std::vector<int32_t>& ref_labels, ConstView query,
                    const std::vector<int32_t>& query_labels, int k, bool same_set) {
  int64_t right = 0;
  std::vector<std::pair<double, int32_t>> cand;
  for (int64_t i = 0; i < query.rows; ++i) {
    cand.clear();
    for (int64_t j = 0; j < ref.rows; ++j) {
      if (same_set && j == i) continue;
      cand.push_back({test::sq_dist(query.row(i), ref.row(j), ref.cols), ref_labels[j]});
    }
    std::partial_sort(cand.begin(), cand.begin() + k, cand.end());
    std::map<int32_t, int> votes;
    for (int j = 0; j < k; ++j) ++votes[cand[j].second];
    const auto best = std::max_element(votes.begin(), votes.end(), [](auto& a, auto& b) {
      return a.second < b.second;
    });
    right += best->first == query_labels[i];
  }
  return static_cast<double>(right) / query.rows;
}

bool all_finite(ConstView y) {
  for (int64_t i = 0; i < y.rows; ++i)
    for (int64_t j = 0; j < y.cols; ++j)
      if (!std::isfinite(y(i, j))) return false;
  return true;
}

Matrix run_umap(const KnnGraph& g, const UmapParams& p, const Matrix* initial = nullptr) {
  auto r = make_umap_cpu(g, initial, p);
  EXPECT_EQ(r->backend(), Backend::cpu);
  run_reducer(*r, nullptr);
  return to_matrix(r->embedding());
}

TEST(UmapFindAb, MatchesUmapLearnDefaults) {
  // umap-learn 0.5: find_ab_params(1.0, 0.1) = (1.5769, 0.8951).
  const auto [a, b] = umap_find_ab(1.0, 0.1);
  EXPECT_NEAR(a, 1.577, 0.003);
  EXPECT_NEAR(b, 0.895, 0.002);
}

TEST(UmapFindAb, FitsTheTargetCurve) {
  // Whatever the parameters, the fitted curve must follow the target closely:
  // 1 below min_dist, exp(-(d - min_dist) / spread) above.
  for (auto [spread, min_dist] : {std::pair{1.0, 0.5}, {2.0, 0.1}, {1.0, 0.001}}) {
    const auto [a, b] = umap_find_ab(spread, min_dist);
    double worst = 0;
    for (int i = 0; i < 300; ++i) {
      const double x = 3 * spread * i / 299.0;
      const double target = x < min_dist ? 1.0 : std::exp(-(x - min_dist) / spread);
      worst = std::max(worst, std::abs(1 / (1 + a * std::pow(x, 2 * b)) - target));
    }
    EXPECT_LT(worst, 0.12) << "spread " << spread << " min_dist " << min_dist;
  }
  // Larger min_dist flattens the curve's start: b grows.
  EXPECT_GT(umap_find_ab(1.0, 0.5).second, umap_find_ab(1.0, 0.1).second);
  EXPECT_THROW(umap_find_ab(1.0, 2.0), InputError);
  EXPECT_THROW(umap_find_ab(0.0, 0.1), InputError);
}

TEST(UmapFuzzy, SmoothKnnDistHitsLog2K) {
  const auto blobs = test::make_blobs(400, 8, 4, 11);
  for (int k : {5, 15, 30}) {
    const KnnGraph g = naive_knn(blobs.x, k);
    std::vector<float> sigma(g.n), rho(g.n), w(g.n * k);
    umap::smooth_knn_dist(g.distances.data(), g.n, k, 1.0, sigma.data(), rho.data());
    umap::membership_strengths(g.indices.data(), g.distances.data(), g.n, k, sigma.data(),
                                      rho.data(), w.data());
    for (int64_t i = 0; i < g.n; ++i) {
      double sum = 0;
      for (int j = 0; j < k; ++j) {
        EXPECT_GT(w[i * k + j], 0.0f);
        EXPECT_LE(w[i * k + j], 1.0f);
        sum += w[i * k + j];
      }
      ASSERT_NEAR(sum, std::log2(k), 1e-3) << "row " << i << " k " << k;
      EXPECT_EQ(w[i * k], 1.0f) << "nearest neighbour of row " << i;  // local_connectivity 1
      EXPECT_FLOAT_EQ(rho[i], g.distances[i * k]);
      EXPECT_GT(sigma[i], 0.0f);
    }
  }
}

TEST(UmapFuzzy, GraphIsTheFuzzyUnionOfANaiveDenseOracle) {
  const auto blobs = test::make_blobs(150, 5, 3, 5);
  const int k = 10;
  const KnnGraph knn = naive_knn(blobs.x, k);
  const int64_t n = knn.n;
  std::vector<float> sigma(n), rho(n), w(n * k);
  umap::smooth_knn_dist(knn.distances.data(), n, k, 1.0, sigma.data(), rho.data());
  umap::membership_strengths(knn.indices.data(), knn.distances.data(), n, k, sigma.data(),
                                    rho.data(), w.data());
  std::vector<double> dense(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < k; ++j) dense[i * n + knn.indices[i * k + j]] = w[i * k + j];

  for (double mix : {1.0, 0.0, 0.3}) {
    UmapParams p;
    p.n_neighbors = k;
    p.set_op_mix_ratio = mix;
    const FuzzyGraph g = umap_fuzzy_graph(knn, p);
    ASSERT_EQ(g.n, n);
    ASSERT_EQ(static_cast<int64_t>(g.row_ptr.size()), n + 1);
    std::vector<double> got(n * n, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t e = g.row_ptr[i]; e < g.row_ptr[i + 1]; ++e) {
        if (e > g.row_ptr[i]) {
          EXPECT_LT(g.col[e - 1], g.col[e]) << "row " << i << " unsorted";
        }
        EXPECT_NE(g.col[e], i) << "self loop";
        EXPECT_GT(g.val[e], 0.0f);
        EXPECT_LE(g.val[e], 1.0f);
        got[i * n + g.col[e]] = g.val[e];
      }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const double a = dense[i * n + j], t = dense[j * n + i];
        const double want = mix * (a + t - a * t) + (1 - mix) * a * t;
        ASSERT_NEAR(got[i * n + j], want, 1e-6) << i << "," << j << " mix " << mix;
        ASSERT_EQ(got[i * n + j], got[j * n + i]) << "not symmetric at " << i << "," << j;
      }
  }
}

TEST(UmapFuzzy, RejectsBadInput) {
  KnnGraph g;
  g.n = 3;
  g.k = 1;
  g.indices = {1, 7, 0};  // 7 is out of range
  g.distances = {1, 1, 1};
  EXPECT_THROW(umap_fuzzy_graph(g, UmapParams{}), InputError);
  UmapParams p;
  p.set_op_mix_ratio = 1.5;
  g.indices = {1, 0, 0};
  EXPECT_THROW(umap_fuzzy_graph(g, p), InputError);
}

TEST(UmapInit, SpectralSeparatesTwoDisconnectedBlobs) {
  const auto blobs = test::make_blobs(600, 10, 2, 3);
  const KnnGraph knn = naive_knn(blobs.x, 15, &blobs.labels);
  const FuzzyGraph g = umap_fuzzy_graph(knn, UmapParams{});
  for (int dims : {2, 3}) {
    Matrix y;
    ASSERT_TRUE(umap_spectral_layout_cpu(g, dims, 0, y));
    ASSERT_TRUE(all_finite(y));
    // Two components sit at +-e1 with half the centre distance each: they
    // cannot overlap along the first axis.
    float max0 = -1e30f, min1 = 1e30f;
    for (int64_t i = 0; i < g.n; ++i) {
      if (blobs.labels[i] == 0) max0 = std::max(max0, y(i, 0));
      else min1 = std::min(min1, y(i, 0));
    }
    const bool separated = max0 < min1 || [&] {
      float min0 = 1e30f, max1 = -1e30f;
      for (int64_t i = 0; i < g.n; ++i) {
        if (blobs.labels[i] == 0) min0 = std::min(min0, y(i, 0));
        else max1 = std::max(max1, y(i, 0));
      }
      return max1 < min0;
    }();
    EXPECT_TRUE(separated) << dims << "D";
  }
  UmapParams p;
  p.n_epochs = 50;
  const Matrix y = run_umap(knn, p);
  EXPECT_TRUE(all_finite(y));
  EXPECT_GE(knn_accuracy(y, blobs.labels, y, blobs.labels, 10, true), 0.99);
}

// Many components are solved several at once (one per thread): the layout
// is the same on any thread count, and every component sits in its own cell
// (points nearer their own component's centroid than any other, but for a
// few at the edges: a cell's layout spans +-half the spacing). Groups of
// 700 points take the Lanczos path, groups of 40 the dense one.
TEST(UmapInit, ManyComponentsInParallelMatchOneThread) {
  const auto blobs = test::make_blobs(3200, 8, 1, 5);
  std::vector<int32_t> group(blobs.x.rows());
  for (int64_t i = 0; i < blobs.x.rows(); ++i)
    group[i] = i < 2800 ? static_cast<int32_t>(i / 700) : static_cast<int32_t>(4 + (i - 2800) / 40);
  const int groups = 14;
  const KnnGraph knn = naive_knn(blobs.x, 10, &group);
  const FuzzyGraph g = umap_fuzzy_graph(knn, UmapParams{});
  Matrix one, many;
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  ASSERT_TRUE(umap_spectral_layout_cpu(g, 2, 0, one));
  omp_set_num_threads(std::max(threads, 4));
  ASSERT_TRUE(umap_spectral_layout_cpu(g, 2, 0, many));
  omp_set_num_threads(threads);
  ASSERT_EQ(one.storage(), many.storage());
  std::vector<double> cx(groups, 0), cy(groups, 0), cnt(groups, 0);
  for (int64_t i = 0; i < g.n; ++i) cx[group[i]] += one(i, 0), cy[group[i]] += one(i, 1), ++cnt[group[i]];
  for (int c = 0; c < groups; ++c) cx[c] /= cnt[c], cy[c] /= cnt[c];
  int64_t misplaced = 0;
  for (int64_t i = 0; i < g.n; ++i) {
    int best = 0;
    double bd = 1e300;
    for (int c = 0; c < groups; ++c) {
      const double d = (one(i, 0) - cx[c]) * (one(i, 0) - cx[c]) + (one(i, 1) - cy[c]) * (one(i, 1) - cy[c]);
      if (d < bd) bd = d, best = c;
    }
    misplaced += best != group[i];
  }
  EXPECT_LE(misplaced, g.n / 200);
}

TEST(UmapInit, SpectralOfOneComponentIsTheLaplacianEigenbasis) {
  // The layout's columns must be eigenvectors of D^-1/2 A D^-1/2, orthogonal to
  // the trivial one (D^1/2 1). Checked with the Rayleigh residual |Mv - (v'Mv) v|.
  const auto blobs = test::make_blobs(1500, 6, 3, 9, 0.7f);
  const FuzzyGraph g = umap_fuzzy_graph(naive_knn(blobs.x, 15), UmapParams{});
  Matrix y;
  ASSERT_TRUE(umap_spectral_layout_cpu(g, 2, 0, y));
  std::vector<double> deg(g.n, 0);
  double deg_total = 0;
  for (int64_t i = 0; i < g.n; ++i) {
    for (int64_t e = g.row_ptr[i]; e < g.row_ptr[i + 1]; ++e) deg[i] += g.val[e];
    deg_total += deg[i];
  }
  for (int c = 0; c < 2; ++c) {
    std::vector<double> v(g.n), mv(g.n, 0);
    double norm = 0, triv = 0;
    for (int64_t i = 0; i < g.n; ++i) {
      v[i] = y(i, c);
      norm += v[i] * v[i];
      triv += v[i] * std::sqrt(deg[i]);
    }
    norm = std::sqrt(norm);
    for (auto& x : v) x /= norm;
    EXPECT_LT(std::abs(triv / norm / std::sqrt(deg_total)), 1e-3);
    double lambda = 0;
    for (int64_t i = 0; i < g.n; ++i) {
      for (int64_t e = g.row_ptr[i]; e < g.row_ptr[i + 1]; ++e)
        mv[i] += g.val[e] * v[g.col[e]] / std::sqrt(deg[i] * deg[g.col[e]]);
      lambda += v[i] * mv[i];
    }
    double res = 0;
    for (int64_t i = 0; i < g.n; ++i) res += (mv[i] - lambda * v[i]) * (mv[i] - lambda * v[i]);
    EXPECT_LT(std::sqrt(res), 1e-2) << "column " << c;
    EXPECT_GT(lambda, 0.5) << "column " << c << " is not a leading eigenvector";
  }
}

TEST(UmapInit, ScalingAndFallbacks) {
  const auto blobs = test::make_blobs(300, 5, 3, 2);
  const KnnGraph knn = naive_knn(blobs.x, 15);
  for (Init init : {Init::spectral, Init::random, Init::pca}) {
    UmapParams p;
    p.init = init;
    p.n_epochs = 10;
    Matrix pca(knn.n, 2);
    for (int64_t i = 0; i < knn.n; ++i)
      for (int j = 0; j < 2; ++j) pca(i, j) = blobs.x(i, j);
    auto r = make_umap_cpu(knn, &pca, p);
    // Before the first epoch every column spans [0, 10] exactly (umap-learn's rescale).
    const ConstView y = r->embedding();
    for (int j = 0; j < 2; ++j) {
      float lo = 1e30f, hi = -1e30f;
      for (int64_t i = 0; i < y.rows; ++i) {
        lo = std::min(lo, y(i, j));
        hi = std::max(hi, y(i, j));
      }
      EXPECT_NEAR(lo, 0.0f, 1e-5);
      EXPECT_NEAR(hi, 10.0f, 1e-4);
    }
  }
  UmapParams p;
  p.init = Init::pca;
  EXPECT_THROW(make_umap_cpu(knn, nullptr, p), InputError);
  Matrix wrong(knn.n, 3);
  EXPECT_THROW(make_umap_cpu(knn, &wrong, p), InputError);
}

class UmapBlobs : public ::testing::TestWithParam<int> {};

TEST_P(UmapBlobs, SeparatesClusters) {
  const int dims = GetParam();
  const auto blobs = test::make_blobs(2000, 20, 10, 42, 6.0f);
  const KnnGraph knn = naive_knn(blobs.x, 15);
  UmapParams p;
  p.dims = dims;
  p.seed = 7;
  const Matrix y = run_umap(knn, p);
  ASSERT_EQ(y.rows(), 2000);
  ASSERT_EQ(y.cols(), dims);
  ASSERT_TRUE(all_finite(y));
  const double acc = knn_accuracy(y, blobs.labels, y, blobs.labels, 10, true);
  EXPECT_GE(acc, 0.95) << dims << "D";
  // The result is a layout, not a collapse: clusters keep a spread.
  double var = 0;
  for (float v : y.storage()) var += v * v;
  EXPECT_GT(var / y.storage().size(), 1.0);
}

INSTANTIATE_TEST_SUITE_P(Dims, UmapBlobs, ::testing::Values(2, 3));

TEST(UmapCpu, SameSeedSameEmbedding) {
  const auto blobs = test::make_blobs(1000, 10, 5, 4);
  const KnnGraph knn = naive_knn(blobs.x, 15);
  UmapParams p;
  p.n_epochs = 100;
  p.seed = 123;
  const Matrix a = run_umap(knn, p);
  const Matrix b = run_umap(knn, p);
  EXPECT_EQ(a.storage(), b.storage());
  p.seed = 124;
  const Matrix c = run_umap(knn, p);
  EXPECT_NE(a.storage(), c.storage());
  p.init = Init::random;
  EXPECT_EQ(run_umap(knn, p).storage(), run_umap(knn, p).storage());
}

TEST(UmapCpu, ParallelEpochsAreReproducible) {
  // Enough edges (> 100k) for the epochs to run on a team of threads, each
  // moving its own copy of the layout, merged in a fixed order.
  const auto blobs = test::make_blobs(5000, 8, 6, 17);
  const KnnGraph knn = naive_knn(blobs.x, 15);
  UmapParams p;
  p.n_epochs = 20;
  p.seed = 99;
  const int before = omp_get_max_threads();
  omp_set_num_threads(2);
  const Matrix a = run_umap(knn, p);
  const Matrix b = run_umap(knn, p);
  omp_set_num_threads(before);
  EXPECT_EQ(a.storage(), b.storage());
  EXPECT_TRUE(all_finite(a));
  EXPECT_GE(knn_accuracy(a, blobs.labels, a, blobs.labels, 10, true), 0.95);
}

TEST(UmapCpu, AnyDimsAndParameterChecks) {
  const auto blobs = test::make_blobs(300, 6, 3, 8);
  const KnnGraph knn = naive_knn(blobs.x, 10);
  UmapParams p;
  p.n_neighbors = 10;
  p.dims = 5;
  p.n_epochs = 30;
  const Matrix y = run_umap(knn, p);
  EXPECT_EQ(y.cols(), 5);
  EXPECT_TRUE(all_finite(y));
  p.dims = 0;
  EXPECT_THROW(make_umap_cpu(knn, nullptr, p), InputError);
  p.dims = 2;
  p.learning_rate = 0;
  EXPECT_THROW(make_umap_cpu(knn, nullptr, p), InputError);
}

TEST(UmapTransform, PutsHeldOutPointsWithTheirCluster) {
  const auto blobs = test::make_blobs(2000, 20, 8, 21, 6.0f);
  // Every 10th point is held out.
  std::vector<int64_t> train_ids, test_ids;
  for (int64_t i = 0; i < 2000; ++i) (i % 10 == 3 ? test_ids : train_ids).push_back(i);
  auto rows = [&](const std::vector<int64_t>& ids, Matrix& x, std::vector<int32_t>& l) {
    x = Matrix(ids.size(), blobs.x.cols());
    for (size_t r = 0; r < ids.size(); ++r) {
      std::copy(blobs.x.row(ids[r]), blobs.x.row(ids[r]) + blobs.x.cols(), x.row(r));
      l.push_back(blobs.labels[ids[r]]);
    }
  };
  Matrix train_x, test_x;
  std::vector<int32_t> train_l, test_l;
  rows(train_ids, train_x, train_l);
  rows(test_ids, test_x, test_l);
  UmapParams p;
  p.seed = 3;
  const Matrix train_y = run_umap(naive_knn(train_x, 15), p);
  ASSERT_GE(knn_accuracy(train_y, train_l, train_y, train_l, 10, true), 0.95);

  const Matrix new_y = umap_transform(train_x, train_y, test_x, p, Metric::euclidean);
  ASSERT_EQ(new_y.rows(), static_cast<int64_t>(test_ids.size()));
  ASSERT_EQ(new_y.cols(), 2);
  ASSERT_TRUE(all_finite(new_y));
  EXPECT_GE(knn_accuracy(train_y, train_l, new_y, test_l, 10, false), 0.9);
  // Deterministic too.
  EXPECT_EQ(new_y.storage(),
            umap_transform(train_x, train_y, test_x, p, Metric::euclidean).storage());
  EXPECT_THROW(umap_transform(train_x, train_y, Matrix(3, 4), p, Metric::euclidean), InputError);
}

class AbortAfter : public Progress {
 public:
  explicit AbortAfter(int64_t n) : n_(n) {}
  void update(int64_t done, double) override { done_ = done; }
  bool aborted() const override { return done_ >= n_; }
  int64_t done_ = 0;

 private:
  int64_t n_;
};

TEST(UmapCpu, ProgressAbortStopsEarly) {
  const auto blobs = test::make_blobs(500, 6, 4, 1);
  const KnnGraph knn = naive_knn(blobs.x, 15);
  auto r = make_umap_cpu(knn, nullptr, UmapParams{});
  EXPECT_EQ(r->total_steps(), 500);
  AbortAfter stop(7);
  run_reducer(*r, &stop);
  EXPECT_EQ(r->steps_done(), 7);
  EXPECT_FALSE(r->done());
  EXPECT_TRUE(all_finite(r->embedding()));

  AbortAfter stop_transform(3);
  const Matrix y = to_matrix(r->embedding());
  const Matrix t = umap_transform(blobs.x, y, blobs.x, UmapParams{}, Metric::euclidean,
                                  &stop_transform);
  EXPECT_EQ(stop_transform.done_, 3);
  EXPECT_TRUE(all_finite(t));
}

}  // namespace
}  // namespace prism
