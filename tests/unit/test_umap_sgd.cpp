// UMAP's optimiser and its policy on inputs where a broken stage fails: the
// SGD against umap-learn's gradient on a single edge, the schedule and the
// pruning against hand-computed cases, fast_pow against std::pow, the plan's
// fallbacks, and epochs that must unroll a connected graph from a random start
// (no spectral placement to hide a do-nothing epoch).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "../../engine/src/umap/fast_pow.hpp"
#include "../../engine/src/umap/umap_internal.hpp"
#include "prism/umap.hpp"
#include "test_util.hpp"

namespace prism {
namespace {

const SpectralSolver cpu_solver = [](const FuzzyGraph& g, int dims, uint64_t seed, Matrix& out) {
  return umap_spectral_layout_cpu(g, dims, seed, out);
};

// umap-learn's attraction (optimize_layout_euclidean_single_epoch):
//   grad_coeff = -2 a b d^(2(b-1)) / (1 + a d^(2b));  grad_d = clip(grad_coeff (x_j - y_k), 4)
//   x_j += grad_d * alpha;  y_k -= grad_d * alpha  (move_other)
void umap_learn_attraction(float* head, float* tail, int dims, double a, double b, double alpha) {
  double d2 = 0;
  for (int j = 0; j < dims; ++j) d2 += double(head[j] - tail[j]) * (head[j] - tail[j]);
  const double coeff = -2.0 * a * b * std::pow(d2, b - 1.0) / (a * std::pow(d2, b) + 1.0);
  for (int j = 0; j < dims; ++j) {
    const double g = std::clamp(coeff * (head[j] - tail[j]), -4.0, 4.0);
    head[j] = static_cast<float>(head[j] + g * alpha);
    tail[j] = static_cast<float>(tail[j] - g * alpha);
  }
}

TEST(UmapSgd, SingleEdgeMatchesUmapLearnGradient) {
  const auto [a, b] = umap_find_ab(1.0, 0.1);
  for (int dims : {2, 3, 5}) {
    for (float scale : {0.05f, 0.7f, 3.0f}) {  // inside and outside the clip at 4
      // Two points, one edge 0 -> 1 of full weight, no negative samples.
      umap::SgdState sgd({0, 1, 1}, {1}, umap_schedule({1.0f}, 10, 0), 2, dims);
      sgd.a = static_cast<float>(a);
      sgd.b = static_cast<float>(b);
      std::vector<float> y(2 * dims), want;
      for (int j = 0; j < dims; ++j) {
        y[j] = 0.1f * j;
        y[dims + j] = y[j] + scale * (j % 2 ? -1.0f : 1.0f) * (1.0f + 0.3f * j);
      }
      // Epoch 0: the edge's clock (period 1) has not come round yet.
      want = y;
      sgd.epoch(0, 0.5f, y.data(), nullptr);
      EXPECT_EQ(y, want);
      // Epoch 1: exactly one attraction step.
      umap_learn_attraction(want.data(), want.data() + dims, dims, a, b, 0.5);
      sgd.epoch(1, 0.5f, y.data(), nullptr);
      for (int t = 0; t < 2 * dims; ++t)
        EXPECT_NEAR(y[t], want[t], 2e-5 * std::max(1.0f, std::abs(want[t])))
            << dims << "D, scale " << scale << ", coordinate " << t;
      EXPECT_NE(y, std::vector<float>(y.size(), 0.0f));
    }
  }
}

TEST(UmapSgd, ScheduleMatchesHandComputedClocks) {
  // umap-learn's make_epochs_per_sample: period n_epochs / (n_epochs * w / w_max).
  const UmapSchedule s = umap_schedule({1.0f, 0.5f, 0.25f, 0.0f}, 8, 5);
  ASSERT_EQ(s.epochs_per_sample.size(), 4u);
  EXPECT_FLOAT_EQ(s.epochs_per_sample[0], 1.0f);
  EXPECT_FLOAT_EQ(s.epochs_per_sample[1], 2.0f);
  EXPECT_FLOAT_EQ(s.epochs_per_sample[2], 4.0f);
  EXPECT_FLOAT_EQ(s.epochs_per_sample[3], -1.0f);  // never sampled
  EXPECT_FLOAT_EQ(s.epochs_per_negative_sample[0], 0.2f);
  EXPECT_FLOAT_EQ(s.epochs_per_negative_sample[1], 0.4f);
  EXPECT_FLOAT_EQ(s.epochs_per_negative_sample[2], 0.8f);
  const UmapSchedule none = umap_schedule({1.0f, 0.5f}, 8, 0);
  EXPECT_TRUE(std::isinf(none.epochs_per_negative_sample[0]));
  // The clocks drive the SGD: a star 0 -> 1, 2, 3 with weights 1, 1/2, 1/4 and
  // no negative samples; over 8 epochs the edges fire 7, 3 and 1 times (first
  // at epochs 1, 2 and 4), which shows as the tails moving.
  umap::SgdState sgd({0, 3, 3, 3, 3}, {1, 2, 3}, umap_schedule({1.0f, 0.5f, 0.25f}, 8, 0), 4, 2);
  float y[8] = {0, 0, 1, 1, -1, 1, 1, -1};
  std::vector<int> fired(3, 0);
  for (int epoch = 0; epoch < 8; ++epoch) {
    float before[8];
    std::copy(y, y + 8, before);
    sgd.epoch(epoch, 0.1f, y, nullptr);
    for (int t = 0; t < 3; ++t) fired[t] += y[2 + 2 * t] != before[2 + 2 * t];
  }
  EXPECT_EQ(fired, (std::vector<int>{7, 3, 1}));
}

TEST(UmapSgd, PruneDropsEdgesTooWeakToBeSampled) {
  FuzzyGraph g;
  g.n = 3;
  g.row_ptr = {0, 3, 4, 6};
  g.col = {1, 2, 0, 0, 1, 2};
  g.val = {1.0f, 0.05f, 0.3f, 0.2f, 0.19f, 0.5f};
  // n_epochs 5: the cut is max / 5 = 0.2, and an edge at the cut stays.
  const FuzzyGraph p = umap_prune_graph(g, 5);
  EXPECT_EQ(p.n, 3);
  EXPECT_EQ(p.row_ptr, (std::vector<int64_t>{0, 2, 3, 4}));
  EXPECT_EQ(p.col, (std::vector<int32_t>{1, 0, 0, 2}));
  EXPECT_EQ(p.val, (std::vector<float>{1.0f, 0.3f, 0.2f, 0.5f}));
  EXPECT_EQ(umap_prune_graph(g, 1).val, (std::vector<float>{1.0f}));
}

TEST(UmapSgd, FastPowHoldsItsToleranceOverItsRange) {
  const double lmin = std::log(umap::kFastPowMin), lmax = std::log(umap::kFastPowMax);
  double worst = 0, worst8 = 0;
  for (float y : {0.5f, 0.7915f, 0.8951f, 1.0f, 1.2f, 1.5f, 1.9f}) {
    std::vector<float> xs;
    for (int i = 0; i <= 20000; ++i) xs.push_back(static_cast<float>(std::exp(lmin + (lmax - lmin) * i / 20000.0)));
    // Only where x^y is a normal float; elsewhere it saturates, finite and positive.
    const double lo = std::ldexp(1.0, -126), hi = std::ldexp(1.0, 126);
    auto error = [&](float x, float got) {
      const double want = std::pow(double(x), double(y));
      EXPECT_TRUE(std::isfinite(got) && got > 0) << x << "^" << y;
      return want >= lo && want <= hi ? std::abs(got - want) / want : 0.0;
    };
    for (float x : xs) worst = std::max(worst, error(x, umap::fast_pow(x, y)));
#if defined(__AVX2__) && defined(__FMA__)
    for (size_t i = 0; i + 8 <= xs.size(); i += 8) {
      alignas(32) float out[8];
      _mm256_store_ps(out, umap::fast_pow8(_mm256_loadu_ps(xs.data() + i), y));
      for (int l = 0; l < 8; ++l) worst8 = std::max(worst8, error(xs[i + l], out[l]));
    }
#endif
  }
  EXPECT_LT(worst, umap::kFastPowTolerance);
  EXPECT_LT(worst8, umap::kFastPowTolerance);
}

/// A helix (two turns) in 10-D with a little noise: its kNN graph is one
/// long connected chain, which UMAP should unroll.
Matrix helix(int64_t n, uint64_t seed) {
  Matrix x(n, 10);
  const Matrix noise = test::random_matrix(n, 10, seed);
  for (int64_t i = 0; i < n; ++i) {
    const double t = 4 * M_PI * static_cast<double>(i) / static_cast<double>(n);
    x(i, 0) = static_cast<float>(std::cos(t));
    x(i, 1) = static_cast<float>(std::sin(t));
    x(i, 2) = static_cast<float>(0.3 * t);
    for (int j = 0; j < 10; ++j) x(i, j) += 0.01f * noise(i, j);
  }
  return x;
}

KnnGraph brute_knn(const Matrix& x, int k) {
  KnnGraph g;
  g.n = x.rows();
  g.k = k;
  std::vector<std::pair<double, int32_t>> cand;
  for (int64_t i = 0; i < g.n; ++i) {
    cand.clear();
    for (int64_t j = 0; j < g.n; ++j)
      if (j != i) cand.push_back({test::sq_dist(x.row(i), x.row(j), x.cols()), int32_t(j)});
    std::partial_sort(cand.begin(), cand.begin() + k, cand.end());
    for (int j = 0; j < k; ++j) {
      g.indices.push_back(cand[j].second);
      g.distances.push_back(static_cast<float>(std::sqrt(cand[j].first)));
    }
  }
  return g;
}

/// Mean fraction of each point's k nearest neighbours in y that are among its
/// k nearest in the graph (the input space).
double neighbours_kept(const KnnGraph& g, ConstView y, int k) {
  double sum = 0;
  for (int64_t i = 0; i < y.rows; ++i) {
    std::vector<std::pair<double, int32_t>> cand;
    for (int64_t j = 0; j < y.rows; ++j)
      if (j != i) cand.push_back({test::sq_dist(y.row(i), y.row(j), y.cols), int32_t(j)});
    std::partial_sort(cand.begin(), cand.begin() + k, cand.end());
    int hit = 0;
    for (int a = 0; a < k; ++a)
      for (int b = 0; b < k; ++b) hit += cand[a].second == g.indices[i * g.k + b];
    sum += double(hit) / k;
  }
  return sum / y.rows;
}

bool connected(const FuzzyGraph& g) {
  std::vector<char> seen(g.n, 0);
  std::vector<int64_t> queue{0};
  seen[0] = 1;
  for (size_t h = 0; h < queue.size(); ++h)
    for (int64_t e = g.row_ptr[queue[h]]; e < g.row_ptr[queue[h] + 1]; ++e)
      if (!seen[g.col[e]]) seen[g.col[e]] = 1, queue.push_back(g.col[e]);
  return static_cast<int64_t>(queue.size()) == g.n;
}

TEST(UmapSgd, EpochsUnrollAConnectedGraphFromARandomStart) {
  const Matrix x = helix(600, 5);
  const KnnGraph knn = brute_knn(x, 10);
  UmapParams p;
  p.n_neighbors = 10;
  p.init = Init::random;
  p.n_epochs = 300;
  p.seed = 11;
  UmapPlan plan = make_umap_plan(knn, nullptr, p, cpu_solver);
  ASSERT_TRUE(connected(plan.graph)) << "the test needs a connected graph";
  auto r = make_umap_cpu(std::move(plan));
  const double before = neighbours_kept(knn, r->embedding(), 10);
  run_reducer(*r, nullptr);
  const double after = neighbours_kept(knn, r->embedding(), 10);
  EXPECT_LT(before, 0.1);  // a random start keeps almost no neighbourhood
  EXPECT_GT(after, before + 0.5) << "before " << before << ", after " << after;
}

TEST(UmapPlan, SpectralFailureFallsBackAndSaysSo) {
  const Matrix x = helix(300, 2);
  const KnnGraph knn = brute_knn(x, 10);
  UmapParams p;
  p.n_neighbors = 10;
  p.seed = 4;
  const SpectralSolver fails = [](const FuzzyGraph&, int, uint64_t, Matrix&) { return false; };
  const UmapPlan random = make_umap_plan(knn, nullptr, p, fails);
  EXPECT_EQ(random.init_used, Init::random);
  EXPECT_NE(random.warning.find("spectral"), std::string::npos);
  Matrix pca(knn.n, 2);
  for (int64_t i = 0; i < knn.n; ++i) pca(i, 0) = x(i, 0), pca(i, 1) = x(i, 2);
  const UmapPlan from_pca = make_umap_plan(knn, &pca, p, fails);
  EXPECT_EQ(from_pca.init_used, Init::pca);
  EXPECT_FALSE(from_pca.warning.empty());
  const UmapPlan spectral = make_umap_plan(knn, nullptr, p, cpu_solver);
  EXPECT_EQ(spectral.init_used, Init::spectral);
  EXPECT_TRUE(spectral.warning.empty());
  // The random start is the plan's: any spectral solver gives the same one.
  p.init = Init::random;
  EXPECT_EQ(make_umap_plan(knn, nullptr, p, fails).initial.storage(),
            make_umap_plan(knn, nullptr, p, cpu_solver).initial.storage());
  // Resolved values.
  EXPECT_EQ(spectral.params.n_epochs, 500);  // auto for N <= 10,000
  EXPECT_EQ(spectral.schedule.epochs_per_sample.size(), spectral.graph.col.size());
  EXPECT_FLOAT_EQ(spectral.learning_rate(0), 1.0f);
  EXPECT_FLOAT_EQ(spectral.learning_rate(250), 0.5f);
}

TEST(UmapPlan, ChecksParametersAndDistances) {
  const KnnGraph knn = brute_knn(helix(100, 1), 10);
  UmapParams p;
  p.min_dist = 2.0;  // > spread
  EXPECT_THROW(check_umap_params(p, 100), InputError);
  p = {};
  p.n_neighbors = 1;
  EXPECT_THROW(check_umap_params(p, 100), InputError);
  EXPECT_THROW(check_umap_params(UmapParams{}, 1), InputError);
  EXPECT_EQ(umap_neighbors(UmapParams{}, 10), 9);
  EXPECT_EQ(umap_epochs(UmapParams{}, 10000), 500);
  EXPECT_EQ(umap_epochs(UmapParams{}, 10001), 200);
  KnnGraph bad = knn;
  bad.distances[17] = std::nanf("");
  try {
    make_umap_plan(bad, nullptr, UmapParams{}, cpu_solver);
    FAIL() << "a NaN distance was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("row 1 distance 7"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace prism
