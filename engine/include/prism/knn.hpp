#pragma once
// k-nearest-neighbour graphs: exact (FAISS on the CPU, tiled GEMM on the GPU)
// and approximate (NN-descent) for large N.
#include <cstdint>
#include <string>
#include <vector>

#include "prism/backend.hpp"
#include "prism/matrix.hpp"
#include "prism/progress.hpp"

namespace prism {

enum class Metric { euclidean, cosine };
enum class KnnMode { automatic, exact, approx };

Metric parse_metric(const std::string& s);
KnnMode parse_knn_mode(const std::string& s);
const char* to_string(Metric m);
const char* to_string(KnnMode m);

struct KnnParams {
  int k = 15;                              ///< neighbours per point, 1..1000 (self excluded)
  Metric metric = Metric::euclidean;       ///< euclidean: L2 distance; cosine: 1 - cos
  KnnMode mode = KnnMode::automatic;       ///< automatic: exact below approx_threshold rows,
                                           ///< and while N <= 8 (k + min(k, 64))^2 (large k)
  int64_t approx_threshold = 20000;        ///< rows from which `automatic` goes approximate
  uint64_t seed = 0;                       ///< seeds the approximate method
  Backend backend = Backend::automatic;
};

/// Row i's neighbours are indices[i*k .. i*k+k), nearest first; distances are
/// true distances (L2, not squared; or 1 - cosine similarity).
struct KnnGraph {
  int64_t n = 0;
  int k = 0;
  Metric metric = Metric::euclidean;
  std::vector<int32_t> indices;
  std::vector<float> distances;

  const int32_t* neighbors(int64_t i) const { return indices.data() + i * k; }
  const float* dists(int64_t i) const { return distances.data() + i * k; }
};

/// The kNN graph of x's rows among themselves (each point excluded from its own list).
KnnGraph build_knn(ConstView x, const KnnParams& params, Progress* progress = nullptr);

/// The k nearest rows of `base` for each row of `queries` (exact, CPU). Used by
/// UMAP's transform, the metrics and the viewer's neighbour search. When
/// `exclude_self` is set, queries[i] is base row query_ids[i] and is skipped.
KnnGraph knn_query(ConstView base, ConstView queries, int k, Metric metric,
                   const std::vector<int64_t>* query_ids = nullptr);

/// Exact and approximate CPU paths, callable directly (benchmarks, tests).
KnnGraph knn_exact_cpu(ConstView x, int k, Metric metric, Progress* progress = nullptr);
KnnGraph knn_approx_cpu(ConstView x, int k, Metric metric, uint64_t seed,
                        Progress* progress = nullptr);

/// Fraction of approx's neighbours found in exact's lists, over the rows in `rows`
/// (all rows when empty); `exact` may have been built for those rows only (n == rows.size()).
double knn_recall(const KnnGraph& approx, const KnnGraph& exact,
                  const std::vector<int64_t>& rows = {});

}  // namespace prism
