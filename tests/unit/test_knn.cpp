// The CPU kNN module: exact search against a brute-force oracle, self
// exclusion with duplicates, knn_query, NN-descent recall and reproducibility,
// and input errors.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../../engine/src/knn/nndescent.hpp"
#include "prism/knn.hpp"
#include "test_util.hpp"

namespace prism {
namespace {

// Distances from FAISS are recomputed directly in float; against a double
// oracle they agree to float rounding of sums over <= 64 terms of O(1) values.
constexpr double kDistTol = 1e-4;

double oracle_dist(const float* a, const float* b, int64_t d, Metric m) {
  if (m == Metric::euclidean) return std::sqrt(test::sq_dist(a, b, d));
  double ab = 0, aa = 0, bb = 0;
  for (int64_t j = 0; j < d; ++j) {
    ab += double(a[j]) * b[j];
    aa += double(a[j]) * a[j];
    bb += double(b[j]) * b[j];
  }
  return 1.0 - ab / std::sqrt(aa * bb);
}

// Brute force: the sorted true distances from query q to every base row
// except `skip` (-1: none).
std::vector<double> oracle_sorted(ConstView base, const float* q, int64_t skip, Metric m) {
  std::vector<double> d;
  for (int64_t j = 0; j < base.rows; ++j)
    if (j != skip) d.push_back(oracle_dist(q, base.row(j), base.cols, m));
  std::sort(d.begin(), d.end());
  return d;
}

// Checks row i of g against the oracle: no self, no repeats, ascending,
// each reported distance true, and the r-th distance equal to the true r-th
// smallest (ties may pick either point, so ids are checked through distances).
void expect_row_exact(const KnnGraph& g, int64_t i, ConstView base, const float* q, int64_t self,
                      Metric m) {
  const std::vector<double> truth = oracle_sorted(base, q, self, m);
  std::set<int32_t> seen;
  for (int r = 0; r < g.k; ++r) {
    const int32_t j = g.neighbors(i)[r];
    ASSERT_GE(j, 0);
    ASSERT_LT(j, base.rows);
    EXPECT_NE(j, self) << "row " << i << " lists itself";
    EXPECT_TRUE(seen.insert(j).second) << "row " << i << " lists " << j << " twice";
    if (r > 0) {
      EXPECT_LE(g.dists(i)[r - 1], g.dists(i)[r]) << "row " << i << " not ascending";
    }
    EXPECT_NEAR(g.dists(i)[r], oracle_dist(q, base.row(j), base.cols, m), kDistTol)
        << "row " << i << " rank " << r;
    EXPECT_NEAR(g.dists(i)[r], truth[r], kDistTol) << "row " << i << " rank " << r;
  }
}

struct ExactCase {
  int64_t n, d;
  int k;
  Metric metric;
  uint64_t seed;
};

class ExactKnn : public ::testing::TestWithParam<ExactCase> {};

TEST_P(ExactKnn, MatchesBruteForce) {
  const ExactCase c = GetParam();
  const Matrix x = test::random_matrix(c.n, c.d, c.seed);
  const KnnGraph g = knn_exact_cpu(x, c.k, c.metric);
  ASSERT_EQ(g.n, c.n);
  ASSERT_EQ(g.k, c.k);
  EXPECT_EQ(g.metric, c.metric);
  ASSERT_EQ(g.indices.size(), size_t(c.n * c.k));
  // The oracle is O(n^2 D): on the larger case check a spread of rows (all batches).
  const int64_t step = c.n > 1000 ? 7 : 1;
  for (int64_t i = 0; i < c.n; i += step) expect_row_exact(g, i, x, x.row(i), i, c.metric);
}

INSTANTIATE_TEST_SUITE_P(
    Grid, ExactKnn,
    ::testing::Values(ExactCase{300, 8, 1, Metric::euclidean, 1},
                      ExactCase{300, 8, 10, Metric::euclidean, 2},
                      ExactCase{500, 37, 15, Metric::euclidean, 3},
                      ExactCase{64, 3, 63, Metric::euclidean, 4},  // k = n - 1: everyone else
                      ExactCase{300, 8, 1, Metric::cosine, 5},
                      ExactCase{500, 37, 15, Metric::cosine, 6},
                      ExactCase{5000, 16, 5, Metric::euclidean, 7}),  // several query batches
    [](const auto& info) {
      const ExactCase& c = info.param;
      return std::string(to_string(c.metric)) + "_n" + std::to_string(c.n) + "_d" +
             std::to_string(c.d) + "_k" + std::to_string(c.k);
    });

TEST(ExactKnn, StridedViewMatchesContiguous) {
  const Matrix wide = test::random_matrix(200, 12, 11);
  const ConstView left(wide.data(), 200, 8, 12);  // first 8 of 12 columns
  const Matrix packed = to_matrix(left);
  for (Metric m : {Metric::euclidean, Metric::cosine}) {
    const KnnGraph a = knn_exact_cpu(left, 6, m);
    const KnnGraph b = knn_exact_cpu(packed, 6, m);
    EXPECT_EQ(a.indices, b.indices);
    EXPECT_EQ(a.distances, b.distances);
  }
}

TEST(ExactKnn, DuplicatesNeverListThemselves) {
  // Every row appears three times: its two twins are at distance 0, and the
  // query's own row (also at 0) must be the one dropped, whichever order FAISS
  // returned the three in.
  const Matrix base = test::random_matrix(100, 6, 21);
  Matrix x(300, 6);
  for (int64_t i = 0; i < 300; ++i) std::copy(base.row(i / 3), base.row(i / 3) + 6, x.row(i));
  for (Metric m : {Metric::euclidean, Metric::cosine}) {
    const KnnGraph g = knn_exact_cpu(x, 4, m);
    for (int64_t i = 0; i < 300; ++i) {
      std::set<int32_t> twins;
      for (int r = 0; r < 2; ++r) {
        EXPECT_NEAR(g.dists(i)[r], 0.0, kDistTol);
        twins.insert(g.neighbors(i)[r]);
      }
      std::set<int32_t> expect;
      for (int64_t t = i / 3 * 3; t < i / 3 * 3 + 3; ++t)
        if (t != i) expect.insert(static_cast<int32_t>(t));
      EXPECT_EQ(twins, expect) << "row " << i;
      for (int r = 0; r < 4; ++r) EXPECT_NE(g.neighbors(i)[r], i);
      EXPECT_GT(g.dists(i)[2], 1e-3);
    }
  }
}

TEST(ExactKnn, AllIdenticalRowsDropsTheLast) {
  // More twins than k + 1: the query may be missing from FAISS's list; then
  // the farthest entry is dropped and the list still excludes the query.
  Matrix x(50, 4, 1.5f);
  const KnnGraph g = knn_exact_cpu(x, 5, Metric::euclidean);
  for (int64_t i = 0; i < 50; ++i) {
    std::set<int32_t> ids(g.neighbors(i), g.neighbors(i) + 5);
    EXPECT_EQ(ids.size(), 5u);
    EXPECT_EQ(ids.count(static_cast<int32_t>(i)), 0u);
    for (int r = 0; r < 5; ++r) EXPECT_EQ(g.dists(i)[r], 0.0f);
  }
}

TEST(KnnQuery, SeparateQueriesMatchBruteForce) {
  const Matrix base = test::random_matrix(400, 10, 31);
  const Matrix q = test::random_matrix(50, 10, 32);
  for (Metric m : {Metric::euclidean, Metric::cosine}) {
    const KnnGraph g = knn_query(base, q, 7, m);
    ASSERT_EQ(g.n, 50);
    for (int64_t i = 0; i < 50; ++i) expect_row_exact(g, i, base, q.row(i), -1, m);
  }
}

TEST(KnnQuery, QueryIdsExcludeTheQueryRow) {
  const Matrix base = test::random_matrix(400, 10, 41);
  const std::vector<int64_t> ids = {0, 17, 399, 200};
  Matrix q(4, 10);
  for (int i = 0; i < 4; ++i) std::copy(base.row(ids[i]), base.row(ids[i]) + 10, q.row(i));
  const KnnGraph with = knn_query(base, q, 5, Metric::euclidean, &ids);
  const KnnGraph without = knn_query(base, q, 5, Metric::euclidean);
  const KnnGraph full = knn_exact_cpu(base, 5, Metric::euclidean);
  for (int i = 0; i < 4; ++i) {
    expect_row_exact(with, i, base, q.row(i), ids[i], Metric::euclidean);
    // Without exclusion the row finds itself first, at distance 0.
    EXPECT_EQ(without.neighbors(i)[0], ids[i]);
    EXPECT_EQ(without.dists(i)[0], 0.0f);
    // With it, the answer is the self-graph's row.
    for (int r = 0; r < 5; ++r) EXPECT_EQ(with.neighbors(i)[r], full.neighbors(ids[i])[r]);
  }
}

TEST(KnnQuery, RejectsBadInput) {
  const Matrix base = test::random_matrix(20, 4, 51);
  const Matrix q3 = test::random_matrix(2, 3, 52);
  const Matrix q4 = test::random_matrix(2, 4, 53);
  EXPECT_THROW(knn_query(base, q3, 3, Metric::euclidean), InputError);  // column mismatch
  EXPECT_THROW(knn_query(base, q4, 0, Metric::euclidean), InputError);
  EXPECT_THROW(knn_query(base, q4, 21, Metric::euclidean), InputError);  // more than the base
  EXPECT_NO_THROW(knn_query(base, q4, 20, Metric::euclidean));
  const std::vector<int64_t> ids = {0, 1};
  EXPECT_THROW(knn_query(base, q4, 20, Metric::euclidean, &ids), InputError);  // 20 + self
  const std::vector<int64_t> bad = {0, 20};
  EXPECT_THROW(knn_query(base, q4, 3, Metric::euclidean, &bad), InputError);
  const std::vector<int64_t> short_ids = {0};
  EXPECT_THROW(knn_query(base, q4, 3, Metric::euclidean, &short_ids), InputError);
}

TEST(KnnErrors, BadKAndTooFewRows) {
  const Matrix x = test::random_matrix(30, 4, 61);
  const Matrix one = test::random_matrix(1, 4, 62);
  for (int k : {0, -1, 1001, 30, 31}) {
    EXPECT_THROW(knn_exact_cpu(x, k, Metric::euclidean), InputError) << "k = " << k;
    EXPECT_THROW(knn_approx_cpu(x, k, Metric::euclidean, 0), InputError) << "k = " << k;
  }
  EXPECT_THROW(knn_exact_cpu(one, 1, Metric::euclidean), InputError);
  EXPECT_THROW(knn_approx_cpu(one, 1, Metric::euclidean, 0), InputError);
  EXPECT_NO_THROW(knn_exact_cpu(x, 29, Metric::euclidean));
}

TEST(KnnErrors, NonFiniteValues) {
  Matrix x = test::random_matrix(3000, 4, 63);
  x(17, 2) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(knn_exact_cpu(x, 5, Metric::euclidean), InputError);
  EXPECT_THROW(knn_approx_cpu(x, 5, Metric::euclidean, 0), InputError);
  x(17, 2) = std::numeric_limits<float>::infinity();
  EXPECT_THROW(knn_exact_cpu(x, 5, Metric::cosine), InputError);
}

TEST(KnnRecall, CountsSharedNeighbours) {
  KnnGraph exact{3, 2, Metric::euclidean, {1, 2, 0, 2, 0, 1}, {1, 2, 1, 2, 1, 2}};
  KnnGraph approx = exact;
  EXPECT_DOUBLE_EQ(knn_recall(approx, exact), 1.0);
  approx.indices = {2, 1, 0, 1, 1, 2};  // row 0: both (order ignored); rows 1, 2: one each
  EXPECT_DOUBLE_EQ(knn_recall(approx, exact), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(knn_recall(approx, exact, {1}), 0.5);
  // An exact graph built for the listed rows only.
  KnnGraph sub{1, 2, Metric::euclidean, {0, 2}, {1, 2}};
  EXPECT_DOUBLE_EQ(knn_recall(approx, sub, {1}), 0.5);
  EXPECT_THROW(knn_recall(approx, sub), InputError);
  EXPECT_THROW(knn_recall(approx, exact, {3}), InputError);
}

// Seeded blobs of a few thousand points: NN-descent (not the exact fallback,
// which only covers n < 1024 at this k) must find >= 95% of the true neighbours.
TEST(ApproxKnn, RecallOnBlobs) {
  const test::Blobs b = test::make_blobs(4000, 16, 8, 71, 4.0f);
  for (Metric m : {Metric::euclidean, Metric::cosine}) {
    const KnnGraph exact = knn_exact_cpu(b.x, 15, m);
    const KnnGraph approx = knn_approx_cpu(b.x, 15, m, 7);
    ASSERT_EQ(approx.n, 4000);
    ASSERT_EQ(approx.k, 15);
    const double r = knn_recall(approx, exact);
    EXPECT_GE(r, 0.95) << to_string(m);
    // Lists exclude self, hold distinct ids, ascend, and report true distances.
    for (int64_t i = 0; i < approx.n; i += 37) {
      std::set<int32_t> ids(approx.neighbors(i), approx.neighbors(i) + 15);
      EXPECT_EQ(ids.size(), 15u);
      EXPECT_EQ(ids.count(static_cast<int32_t>(i)), 0u);
      for (int s = 0; s < 15; ++s) {
        if (s > 0) {
          EXPECT_LE(approx.dists(i)[s - 1], approx.dists(i)[s]);
        }
        EXPECT_NEAR(approx.dists(i)[s],
                    oracle_dist(b.x.row(i), b.x.row(approx.neighbors(i)[s]), 16, m), kDistTol);
      }
    }
  }
}

// High-dimensional data with low-rank structure takes the PCA-projected path
// (D > 128, most variance in a few directions) and must still re-rank to
// >= 95% recall in the full space.
TEST(ApproxKnn, RecallThroughProjection) {
  const int64_t n = 3000, latent = 12, d = 300;
  const test::Blobs z = test::make_blobs(n, latent, 6, 81, 3.0f);
  const Matrix mix = test::random_matrix(latent, d, 82);
  const Matrix noise = test::random_matrix(n, d, 83);
  Matrix x(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      double s = 0.05 * noise(i, j);
      for (int64_t l = 0; l < latent; ++l) s += z.x(i, l) * mix(l, j);
      x(i, j) = static_cast<float>(s);
    }
  const KnnGraph exact = knn_exact_cpu(x, 10, Metric::euclidean);
  const KnnGraph approx = knn_approx_cpu(x, 10, Metric::euclidean, 3);
  EXPECT_GE(knn_recall(approx, exact), 0.95);
}

// Data built to behave like sentence-model embeddings rather than blobs:
// unit vectors sharing a strong common direction (mean cosine ~0.5, as in
// MiniLM/CLIP outputs), 60 weak topics, a power-law spectrum (variance spread
// over many dimensions), and per-point noise scales drawn log-normally, which
// makes the low-noise points hubs: the exact 15-NN graph has points listed
// by over 150 others while a fifth of the points are nobody's neighbour.
Matrix text_like(int64_t n, int64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::lognormal_distribution<double> noise_scale(0.0, 0.5);
  const int topics = 60;
  std::vector<double> spectrum(d), mean(d), centre(static_cast<size_t>(topics * d));
  for (int64_t j = 0; j < d; ++j) spectrum[j] = 1.0 / std::sqrt(j + 1.0);
  for (auto& v : mean) v = normal(rng);
  for (int t = 0; t < topics; ++t)
    for (int64_t j = 0; j < d; ++j) centre[t * d + j] = normal(rng) * spectrum[j];
  Matrix x(n, d);
  for (int64_t i = 0; i < n; ++i) {
    const int t = static_cast<int>(rng() % topics);
    const double r = noise_scale(rng);
    double sq = 0;
    for (int64_t j = 0; j < d; ++j) {
      const double v = 0.25 * mean[j] + 0.5 * centre[t * d + j] + r * normal(rng) * spectrum[j];
      x(i, j) = static_cast<float>(v);
      sq += v * v;
    }
    for (int64_t j = 0; j < d; ++j) x(i, j) = static_cast<float>(x(i, j) / std::sqrt(sq));
  }
  return x;
}

// The case where NN-descent on a PCA projection (with short full-space
// lists) fell to recall 0.93 here and 0.905 on real MiniLM word vectors:
// cosine, D = 192 > 128 (the projected path's domain), hubs, weak clusters.
TEST(ApproxKnn, RecallOnTextLikeCosine) {
  const Matrix x = text_like(6000, 192, 17);
  const KnnGraph exact = knn_exact_cpu(x, 15, Metric::cosine);
  // The input keeps its character: strong hubs, many points nobody lists.
  std::vector<int> in_degree(x.rows());
  for (int32_t j : exact.indices) ++in_degree[j];
  EXPECT_GE(*std::max_element(in_degree.begin(), in_degree.end()), 150);
  EXPECT_GE(std::count(in_degree.begin(), in_degree.end(), 0), x.rows() / 5);
  const KnnGraph approx = knn_approx_cpu(x, 15, Metric::cosine, 3);
  EXPECT_GE(knn_recall(approx, exact), 0.95);
}

// ---- half precision (NN-descent's working copy) -----------------------------

// binary16 by its definition, in double: (-1)^s 2^(e-15) (1 + m/1024), or
// 2^-14 m/1024 for e = 0.
double half_by_definition(uint16_t h) {
  const int e = (h >> 10) & 0x1F, m = h & 0x3FF;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (e == 0x1F) return m ? std::numeric_limits<double>::quiet_NaN() : sign * INFINITY;
  return sign * (e ? std::ldexp(1.0 + m / 1024.0, e - 15) : std::ldexp(m / 1024.0, -14));
}

TEST(HalfPrecision, EveryHalfDecodesAndRoundTrips) {
  using namespace knn_detail;
  for (uint32_t u = 0; u < 65536; ++u) {
    const auto h = static_cast<uint16_t>(u);
    const double want = half_by_definition(h);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(half_to_float(h)) && std::isnan(half_to_float_portable(h))) << u;
      continue;
    }
    ASSERT_EQ(half_to_float(h), want) << u;
    ASSERT_EQ(half_to_float_portable(h), want) << u;
    ASSERT_EQ(float_to_half(static_cast<float>(want)), h) << u;
    ASSERT_EQ(float_to_half_portable(static_cast<float>(want)), h) << u;
  }
}

TEST(HalfPrecision, RoundsToNearestEvenAndSaturates) {
  using namespace knn_detail;
  const float tie_down = 1.0f + std::ldexp(1.0f, -11);      // halfway between 0x3C00 and 0x3C01
  const float tie_up = 1.0f + 3 * std::ldexp(1.0f, -11);    // halfway between 0x3C01 and 0x3C02
  const float above = 1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20);
  for (auto f2h : {&float_to_half, &float_to_half_portable}) {
    EXPECT_EQ(f2h(tie_down), 0x3C00);
    EXPECT_EQ(f2h(tie_up), 0x3C02);
    EXPECT_EQ(f2h(above), 0x3C01);
    EXPECT_EQ(f2h(-tie_up), 0xBC02);
    EXPECT_EQ(f2h(65504.0f), 0x7BFF);
    EXPECT_EQ(f2h(65519.0f), 0x7BFF);
    EXPECT_EQ(f2h(65520.0f), 0x7C00);  // rounds up to 2^16: infinity
    EXPECT_EQ(f2h(1e30f), 0x7C00);
    EXPECT_EQ(f2h(std::ldexp(1.0f, -25)), 0x0000);  // halfway to the smallest subnormal: even
    EXPECT_EQ(f2h(std::ldexp(1.5f, -25)), 0x0001);
    EXPECT_EQ(f2h(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 subnormal steps: tie to even
  }
}

TEST(HalfPrecision, DistancesMatchFloatOnTheSameValues) {
  using namespace knn_detail;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal(0.0f, 300.0f);
  for (int64_t d = 8; d <= 392; d += 24) {
    std::vector<uint16_t> a(d), b(d);
    std::vector<float> fa(d), fb(d), w(d);
    for (int64_t j = 0; j < d; ++j) {
      a[j] = float_to_half(normal(rng));
      b[j] = float_to_half(normal(rng));
      fa[j] = half_to_float(a[j]);
      fb[j] = half_to_float(b[j]);
      w[j] = normal(rng) / 300.0f;
    }
    double sq = 0, ip = 0;
    for (int64_t j = 0; j < d; ++j) {
      sq += (double(fa[j]) - fb[j]) * (double(fa[j]) - fb[j]);
      ip += double(w[j]) * fb[j];
    }
    EXPECT_NEAR(sq_l2_half(a.data(), b.data(), d), sq, 1e-5 * sq) << d;
    EXPECT_NEAR(dot_half(w.data(), b.data(), d), ip, 1e-4 * (std::abs(ip) + 300.0 * std::sqrt(d))) << d;
  }
}

// The joins' bounded distance: exact (bit for bit) whenever the distance is
// below the bound; otherwise some partial sum that is at least the bound and
// at most the distance, taken after a multiple of kBoundStride columns.
TEST(HalfPrecision, BoundedDistanceIsExactBelowItsBound) {
  using namespace knn_detail;
  std::mt19937_64 rng(8);
  std::normal_distribution<float> normal(0.0f, 300.0f);
  for (int64_t d : {8, 32, 56, 64, 96, 128, 152, 200, 384, 392, 768}) {
    std::vector<uint16_t> a(d), b(d);
    for (int64_t j = 0; j < d; ++j) {
      a[j] = float_to_half(normal(rng));
      b[j] = float_to_half(normal(rng));
    }
    const float full = sq_l2_half(a.data(), b.data(), d);
    for (float bound : {0.0f, 0.1f * full, 0.5f * full, 0.9f * full, full, std::nextafter(full, INFINITY),
                        2.0f * full, INFINITY}) {
      const float r = sq_l2_half_bounded(a.data(), b.data(), d, bound);
      if (full < bound) {
        EXPECT_EQ(r, full) << d << " " << bound;
      } else {
        EXPECT_GE(r, bound) << d;
        EXPECT_LE(r, full) << d;
      }
    }
    // A bound of zero stops at the first check: the first kBoundStride columns.
    const float head = d > kBoundStride ? sq_l2_half(a.data(), b.data(), kBoundStride) : full;
    EXPECT_EQ(sq_l2_half_bounded(a.data(), b.data(), d, 0.0f), head) << d;
  }
}

// Gaussian rows with a decaying spectrum, offset from the origin.
Matrix spread_rows(int64_t n, int64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Matrix x(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) x(i, j) = 3.0f + normal(rng) / std::sqrt(1.0f + j);
  return x;
}

// A random orthogonal d x d matrix (Gram-Schmidt on Gaussian rows).
std::vector<float> random_rotation(int64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> q(static_cast<size_t>(d * d));
  for (int64_t r = 0; r < d; ++r) {
    double* v = q.data() + r * d;
    for (int64_t j = 0; j < d; ++j) v[j] = normal(rng);
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t p = 0; p < r; ++p) {
        const double* u = q.data() + p * d;
        double ip = 0;
        for (int64_t j = 0; j < d; ++j) ip += u[j] * v[j];
        for (int64_t j = 0; j < d; ++j) v[j] -= ip * u[j];
      }
    double nn = 0;
    for (int64_t j = 0; j < d; ++j) nn += v[j] * v[j];
    for (int64_t j = 0; j < d; ++j) v[j] /= std::sqrt(nn);
  }
  return std::vector<float>(q.begin(), q.end());
}

// The rotated half copy holds row order[i]'s coordinates on the rotation's
// axes (rows of R, not columns), and keeps every distance; more rows than one
// of to_half's blocks, and unit rows (the cosine path).
TEST(HalfPrecision, RotatedCopyHoldsTheRotatedRows) {
  using namespace knn_detail;
  const int64_t n = 6000, d = 768;
  const Matrix x = spread_rows(n, d, 3);
  const std::vector<float> rot = random_rotation(d, 4);
  std::vector<int32_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = static_cast<int32_t>((i * 7919) % n);
  for (bool unit : {false, true}) {
    const HalfFit fit = half_fit(x, unit);
    const HalfRows h = to_half(x, order, unit, fit, rot.data());
    ASSERT_EQ(h.n, n);
    ASSERT_EQ(h.d, d);
    auto source = [&](int64_t i) {  // row order[i], unit-scaled if asked, centred
      std::vector<double> c(d);
      double nn = 0;
      for (int64_t j = 0; j < d; ++j) nn += double(x(order[i], j)) * x(order[i], j);
      for (int64_t j = 0; j < d; ++j) c[j] = x(order[i], j) / (unit ? std::sqrt(nn) : 1.0) - fit.mean[j];
      return c;
    };
    for (int64_t i : {int64_t{0}, int64_t{1}, int64_t{5460}, int64_t{5461}, n - 1}) {  // blocks of 5461 rows
      const std::vector<double> c = source(i);
      double worst = 0, top = 0;
      for (int64_t axis = 0; axis < d; ++axis) {
        double want = 0;
        for (int64_t j = 0; j < d; ++j) want += c[j] * rot[axis * d + j];
        worst = std::max(worst, std::abs(half_to_float(h.row(i)[axis]) / h.scale - want));
        top = std::max(top, std::abs(want));
      }
      EXPECT_LE(worst, 2e-3 * top) << i << (unit ? " unit" : "");
    }
    for (int64_t i = 0; i < n; i += 997) {
      const int64_t j = (i * 31 + 5) % n;
      const std::vector<double> ci = source(i), cj = source(j);
      double want = 0;
      for (int64_t c = 0; c < d; ++c) want += (ci[c] - cj[c]) * (ci[c] - cj[c]);
      EXPECT_NEAR(sq_l2_half(h.row(i), h.row(j), d) / (double(h.scale) * h.scale), want, 1e-2 * want) << i;
    }
  }
}

TEST(HalfPrecision, PermuteInPlaceMatchesAGather) {
  using namespace knn_detail;
  const Matrix x = spread_rows(3000, 40, 6);
  const HalfFit fit = half_fit(x, false);
  std::vector<int32_t> order(3000);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
  HalfRows h = to_half(x, {}, false, fit);
  permute_in_place(h, order);
  EXPECT_EQ(h.h, to_half(x, order, false, fit).h);
}

// Half precision keeps ~11 bits relative to the largest value it holds: the
// working copy is centred first, so data far from the origin (1e4 + unit
// blobs: uncentred, the blobs' structure would sit below the rounding step
// of 8) keeps its neighbours, and the reported distances are float32 ones.
TEST(ApproxKnn, FarFromTheOriginKeepsRecall) {
  test::Blobs b = test::make_blobs(4000, 16, 8, 91, 4.0f);
  for (auto& v : b.x.storage()) v += 1e4f;
  const KnnGraph approx = knn_approx_cpu(b.x, 15, Metric::euclidean, 7);
  // The oracle in double on a sample (FAISS's |x|^2 + |y|^2 - 2xy in float
  // cancels at this offset).
  int64_t hits = 0, total = 0;
  for (int64_t i = 0; i < approx.n; i += 41) {
    std::vector<std::pair<double, int32_t>> all;
    for (int64_t j = 0; j < b.x.rows(); ++j)
      if (j != i) all.push_back({test::sq_dist(b.x.row(i), b.x.row(j), 16), static_cast<int32_t>(j)});
    std::partial_sort(all.begin(), all.begin() + 15, all.end());
    std::set<int32_t> truth;
    for (int s = 0; s < 15; ++s) truth.insert(all[s].second);
    for (int s = 0; s < 15; ++s) {
      hits += truth.count(approx.neighbors(i)[s]);
      EXPECT_NEAR(approx.dists(i)[s],
                  oracle_dist(b.x.row(i), b.x.row(approx.neighbors(i)[s]), 16, Metric::euclidean), 2e-2);
    }
    total += 15;
  }
  EXPECT_GE(double(hits) / total, 0.95);
}

// A few far outliers would leave the bulk of the points a handful of bits:
// such data keeps the float32 descent (HalfFit::suits) and its recall.
TEST(ApproxKnn, FarOutliersKeepRecall) {
  test::Blobs b = test::make_blobs(4000, 16, 8, 93, 4.0f);
  for (int64_t i = 0; i < 4; ++i) b.x(i * 1000, 0) = 1e6f;
  EXPECT_FALSE(knn_detail::half_fit(b.x, false).suits());
  EXPECT_TRUE(knn_detail::half_fit(test::make_blobs(4000, 16, 8, 93, 4.0f).x, false).suits());
  const KnnGraph exact = knn_exact_cpu(b.x, 15, Metric::euclidean);
  const KnnGraph approx = knn_approx_cpu(b.x, 15, Metric::euclidean, 7);
  EXPECT_GE(knn_recall(approx, exact), 0.95);
}

// t-SNE's k = 3 x perplexity = 90 without NN-descent on 90-lists: the graph
// comes from two hops over a smaller one (a 20-NN base finds only ~0.85 of
// the true 90 here, so the base size matters).
TEST(ApproxKnn, LargeKFromTwoHops) {
  const test::Blobs b = test::make_blobs(6000, 12, 6, 121, 3.0f);
  const int k = 90;
  const KnnGraph exact = knn_exact_cpu(b.x, k, Metric::euclidean);
  const KnnGraph approx = knn_approx_cpu(b.x, k, Metric::euclidean, 9);
  ASSERT_EQ(approx.k, k);
  EXPECT_GE(knn_recall(approx, exact), 0.95);
  for (int64_t i = 0; i < approx.n; i += 101) {
    std::set<int32_t> ids(approx.neighbors(i), approx.neighbors(i) + k);
    EXPECT_EQ(ids.size(), size_t(k));
    EXPECT_EQ(ids.count(static_cast<int32_t>(i)), 0u);
    for (int s = 1; s < k; ++s) EXPECT_LE(approx.dists(i)[s - 1], approx.dists(i)[s]);
  }
  // Thread count does not change the graph (unprojected path: no BLAS).
  const int threads = omp_get_max_threads();
  omp_set_num_threads(threads == 1 ? 2 : 1);
  const KnnGraph again = knn_approx_cpu(b.x, k, Metric::euclidean, 9);
  omp_set_num_threads(threads);
  EXPECT_EQ(approx.indices, again.indices);
}

// A hub: every point lists point 0 and nothing else, point 0 lists point 1.
// Two forward hops from 0 reach only 1; through the points that list it (the
// reverse graph) they reach everyone, so its 2-list is the true {1, 2}. The
// cap on reverse hops holds: with one, only its first lister (1) is used.
TEST(ApproxKnn, ExpansionHopsThroughTheReverseGraph) {
  const int64_t n = 64;
  Matrix x(n, 8);
  for (int64_t i = 0; i < n; ++i) x.row(i)[0] = static_cast<float>(i * i);  // 1 and 2 nearest to 0
  knn_detail::NeighborLists g;
  g.n = n;
  g.k = 1;
  g.idx.assign(n, 0);
  g.idx[0] = 1;
  for (int64_t i = 0; i < n; ++i) g.dist.push_back(i == 0 ? 1.0f : float(i * i) * float(i * i));
  g.fresh.assign(n, 0);
  const knn_detail::Points pts(ConstView(x.view()));
  auto list_of_0 = [&](int reverse) {
    const knn_detail::NeighborLists out = knn_detail::expand_lists(pts, g, 2, reverse);
    return std::set<int32_t>(out.idx.begin(), out.idx.begin() + 2);
  };
  const std::set<int32_t> truth = {1, 2};
  EXPECT_EQ(list_of_0(static_cast<int>(n)), truth);
  // Forward hops only: 1, then a filler from outside the two-hop set.
  const std::set<int32_t> forward = list_of_0(0);
  EXPECT_EQ(forward.count(1), 1u);
  EXPECT_EQ(forward.size(), 2u);
  EXPECT_NE(forward, truth);
  // One reverse hop: point 1 (the first lister), whose list is {0}: no more.
  EXPECT_EQ(list_of_0(1), forward);
}

TEST(KnnMode, AutomaticNeverGoesExactOnLargeInputs) {
  KnnParams p;
  p.k = 15;
  EXPECT_EQ(resolve_knn_mode(10000, p), KnnMode::exact);
  EXPECT_EQ(resolve_knn_mode(20000, p), KnnMode::approx);
  p.k = 90;  // t-SNE, perplexity 30: two hops over a 45-NN graph
  EXPECT_EQ(resolve_knn_mode(20000, p), KnnMode::exact);
  EXPECT_EQ(resolve_knn_mode(49999, p), KnnMode::exact);
  EXPECT_EQ(resolve_knn_mode(70000, p), KnnMode::approx);  // Fashion-MNIST
  EXPECT_EQ(resolve_knn_mode(150000, p), KnnMode::approx);
  EXPECT_EQ(resolve_knn_mode(200000, p), KnnMode::approx);
  EXPECT_EQ(resolve_knn_mode(1000000, p), KnnMode::approx);
  p.k = 45;  // NN-descent on lists of 90: exact up to large_k_approx_rows
  EXPECT_EQ(resolve_knn_mode(70000, p), KnnMode::exact);
  EXPECT_EQ(resolve_knn_mode(150000, p), KnnMode::approx);
  p.k = 1000;
  EXPECT_EQ(resolve_knn_mode(200000, p), KnnMode::approx);
  p.mode = KnnMode::exact;
  EXPECT_EQ(resolve_knn_mode(1000000, p), KnnMode::exact);
  p.mode = KnnMode::approx;
  EXPECT_EQ(resolve_knn_mode(100, p), KnnMode::approx);
}

TEST(ApproxKnn, SmallInputsAreExact) {
  const Matrix x = test::random_matrix(500, 6, 91);
  const KnnGraph exact = knn_exact_cpu(x, 8, Metric::euclidean);
  const KnnGraph approx = knn_approx_cpu(x, 8, Metric::euclidean, 1);
  EXPECT_EQ(approx.indices, exact.indices);
}

// Same seed, same graph; and the same graph with one or two threads (the
// descent applies its updates in an order that does not depend on threads;
// this data takes the unprojected path, so no BLAS is involved).
TEST(ApproxKnn, ReproducibleForASeed) {
  const test::Blobs b = test::make_blobs(3000, 12, 5, 101, 4.0f);
  const KnnGraph a = knn_approx_cpu(b.x, 10, Metric::euclidean, 5);
  const KnnGraph a2 = knn_approx_cpu(b.x, 10, Metric::euclidean, 5);
  EXPECT_EQ(a.indices, a2.indices);
  EXPECT_EQ(a.distances, a2.distances);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(threads == 1 ? 2 : 1);
  const KnnGraph a3 = knn_approx_cpu(b.x, 10, Metric::euclidean, 5);
  omp_set_num_threads(threads);
  EXPECT_EQ(a.indices, a3.indices);
  EXPECT_EQ(a.distances, a3.distances);
  // Wide cosine data takes the rotated half-precision path (PCA, GEMM,
  // bounded distances, trees on the leading columns): the same there.
  const Matrix w = text_like(4000, 192, 9);
  const KnnGraph c = knn_approx_cpu(w, 15, Metric::cosine, 5);
  omp_set_num_threads(threads == 1 ? 2 : 1);
  const KnnGraph c2 = knn_approx_cpu(w, 15, Metric::cosine, 5);
  omp_set_num_threads(threads);
  EXPECT_EQ(c.indices, c2.indices);
  EXPECT_EQ(c.distances, c2.distances);
}

class CountingProgress : public Progress {
 public:
  void begin(std::string_view stage, int64_t total) override {
    stages.emplace_back(stage);
    totals.push_back(total);
  }
  void update(int64_t done, double) override {
    last = done;
    ++updates;
  }
  void end() override { ++ends; }
  std::vector<std::string> stages;
  std::vector<int64_t> totals;
  int64_t last = 0, updates = 0, ends = 0;
};

TEST(KnnProgress, ReportsTheKnnStage) {
  const test::Blobs b = test::make_blobs(3000, 8, 4, 111, 4.0f);
  for (int approx = 0; approx < 2; ++approx) {
    CountingProgress p;
    if (approx)
      knn_approx_cpu(b.x, 5, Metric::euclidean, 0, &p);
    else
      knn_exact_cpu(b.x, 5, Metric::euclidean, &p);
    ASSERT_EQ(p.stages.size(), 1u);
    EXPECT_EQ(p.stages[0], "knn");
    EXPECT_EQ(p.ends, 1);
    EXPECT_GT(p.updates, 0);
    EXPECT_EQ(p.last, p.totals[0]) << "the stage should end complete";
  }
}

}  // namespace
}  // namespace prism
