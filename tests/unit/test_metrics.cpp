// Faithfulness metrics: a hand-computed case, scikit-learn's trustworthiness
// (reference values in tests/data, made by make_metric_reference.py), and
// the sampled estimates against the full computation.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "prism/io.hpp"
#include "prism/metrics.hpp"
#include "test_util.hpp"

using namespace prism;

namespace {

constexpr double kSklearnTolerance = 1e-9;  // same formula, exact distances

Matrix column(std::initializer_list<float> v) {
  Matrix m(static_cast<int64_t>(v.size()), 1);
  int64_t i = 0;
  for (float f : v) m(i++, 0) = f;
  return m;
}

}  // namespace

TEST(Metrics, HandComputedLine) {
  // X on a line: 0, 1, 2.5, 10; Y: 0, 3, 1, 10. Each point's Y-neighbour is its
  // second X-neighbour: penalty 4 * (2 - 1) -> T = 1 - 2/(4*1*(8-3-1)) * 4 = 0.5.
  const Matrix x = column({0, 1, 2.5f, 10}), y = column({0, 3, 1, 10});
  EXPECT_DOUBLE_EQ(trustworthiness(x.view(), y.view(), 1, Metric::euclidean), 0.5);
  const std::vector<int32_t> labels{0, 0, 1, 1};
  MetricsParams p;
  p.k = 1;
  p.classifier_k = 1;
  const Faithfulness f = evaluate_embedding(x.view(), y.view(), &labels, p);
  EXPECT_DOUBLE_EQ(f.trustworthiness, 0.5);
  EXPECT_DOUBLE_EQ(f.knn_recall, 0.0);
  EXPECT_DOUBLE_EQ(f.knn_accuracy, 0.0);  // every nearest Y-neighbour has the other label
  // Y = X: perfect trust and recall; 1-NN accuracy 3/4 (2.5's nearest is 1).
  const Faithfulness same = evaluate_embedding(x.view(), x.view(), &labels, p);
  EXPECT_DOUBLE_EQ(same.trustworthiness, 1.0);
  EXPECT_DOUBLE_EQ(same.knn_recall, 1.0);
  EXPECT_DOUBLE_EQ(same.knn_accuracy, 0.75);
}

TEST(Metrics, MatchesScikitLearnTrustworthiness) {
  const std::string dir = PRISM_TEST_DATA_DIR;
  const Dataset x = read_dataset(dir + "/metric_x.npy");
  const Dataset y = read_dataset(dir + "/metric_y.npy");
  std::ifstream f(dir + "/metric_reference.json");
  const auto ref = nlohmann::json::parse(f);
  for (int k = 1; k <= 10; ++k) {
    EXPECT_NEAR(trustworthiness(x.x, y.x, k, Metric::euclidean), ref["euclidean"][k - 1].get<double>(),
                kSklearnTolerance) << "k = " << k;
    EXPECT_NEAR(trustworthiness(x.x, y.x, k, Metric::cosine), ref["cosine"][k - 1].get<double>(),
                kSklearnTolerance) << "cosine, k = " << k;
  }
}

TEST(Metrics, SampledEstimatesAreCloseToFull) {
  const auto blobs = prism::test::make_blobs(3000, 20, 6, 11, 4.0f);
  Matrix y(3000, 2);
  for (int64_t i = 0; i < 3000; ++i) {
    y(i, 0) = blobs.x(i, 0) + blobs.x(i, 2);
    y(i, 1) = blobs.x(i, 1) - blobs.x(i, 3);
  }
  MetricsParams all;
  all.sample = 3000;
  MetricsParams some = all;
  some.sample = 600;
  some.seed = 5;
  const Faithfulness a = evaluate_embedding(blobs.x.view(), y.view(), &blobs.labels, all);
  const Faithfulness b = evaluate_embedding(blobs.x.view(), y.view(), &blobs.labels, some);
  EXPECT_EQ(a.sample, 3000);
  EXPECT_EQ(b.sample, 600);
  EXPECT_NEAR(a.trustworthiness, b.trustworthiness, 0.02);
  EXPECT_NEAR(a.knn_recall, b.knn_recall, 0.03);
  EXPECT_NEAR(a.knn_accuracy, b.knn_accuracy, 0.05);
  EXPECT_DOUBLE_EQ(a.trustworthiness, trustworthiness(blobs.x.view(), y.view(), 15, Metric::euclidean));
  // Better embeddings score higher: the first two informative directions beat noise.
  Matrix noise = prism::test::random_matrix(3000, 2, 3);
  const Faithfulness c = evaluate_embedding(blobs.x.view(), noise.view(), &blobs.labels, some);
  EXPECT_LT(c.trustworthiness, b.trustworthiness - 0.1);
  EXPECT_LT(c.knn_accuracy, 0.3);
}

TEST(Metrics, SampleRowsIsSeededAndDistinct) {
  const auto a = sample_rows(1000, 100, 1), b = sample_rows(1000, 100, 1), c = sample_rows(1000, 100, 2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::adjacent_find(a.begin(), a.end()), a.end());
  EXPECT_EQ(sample_rows(10, 50, 1).size(), 10u);
}
