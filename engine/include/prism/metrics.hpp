#pragma once
// Faithfulness of a low-dimensional embedding Y of high-dimensional X.
#include <cstdint>
#include <limits>
#include <vector>

#include "prism/knn.hpp"
#include "prism/matrix.hpp"

namespace prism {

struct MetricsParams {
  int k = 15;                  ///< neighbourhood size for trustworthiness and recall
  int64_t sample = 10000;      ///< rows evaluated (all when N <= sample); seeded
  int classifier_k = 10;       ///< k of the k-NN classifier in Y
  uint64_t seed = 0;
  Metric metric = Metric::euclidean;  ///< distance in X
};

struct Faithfulness {
  double trustworthiness = 0;  ///< Venna & Kaski, over the sample, neighbours among all N
  double knn_recall = 0;       ///< |kNN_X(i) ∩ kNN_Y(i)| / k averaged over the sample
  double knn_accuracy = std::numeric_limits<double>::quiet_NaN();  ///< NaN without labels
  int64_t sample = 0;
  int k = 0;
};

/// Evaluates Y against X. `labels` (N codes) enables the k-NN classifier:
/// each sampled point is classified by majority vote of its classifier_k nearest
/// non-sampled points in Y (ties to the nearest), as a held-out test set.
Faithfulness evaluate_embedding(ConstView x, ConstView y, const std::vector<int32_t>* labels,
                                const MetricsParams& params);

/// Trustworthiness@k for the rows in `rows` (all when empty): ranks in X are
/// over all N points. Equals scikit-learn's trustworthiness when rows covers all.
double trustworthiness(ConstView x, ConstView y, int k, Metric metric,
                       const std::vector<int64_t>& rows = {});

/// Seeded sample of `count` distinct row ids out of n (sorted); all when count >= n.
std::vector<int64_t> sample_rows(int64_t n, int64_t count, uint64_t seed);

}  // namespace prism
