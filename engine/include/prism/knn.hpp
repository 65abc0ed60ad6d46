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
  KnnMode mode = KnnMode::automatic;       ///< automatic: see resolve_knn_mode
  int64_t approx_threshold = 20000;        ///< rows from which `automatic` goes approximate
  int64_t large_k_approx_rows = 100000;    ///< with 30 < k <= 45: rows from which `automatic` goes
                                           ///< approximate (NN-descent on lists of 2k)
  int64_t expanded_k_approx_rows = 50000;  ///< with k > 45: rows from which `automatic` goes
                                           ///< approximate (two hops over a 45- or 50-NN graph)
  uint64_t seed = 0;                       ///< seeds the approximate method
  Backend backend = Backend::automatic;
};

/// The method `automatic` picks for `rows` points (exact or approx; an explicit
/// mode is returned as is). Exact below approx_threshold rows; for k <= 30
/// exact while rows <= 8 (k + min(k, 64))^2 (NN-descent's joins grow with the
/// square of its lists, brute force with N); for larger k (t-SNE's 3 x
/// perplexity) exact below large_k_approx_rows (k <= 45) or
/// expanded_k_approx_rows (k > 45, where the k-lists come cheaply from two
/// hops): above them exact search is O(N^2) (654 s for 1M points) while the
/// approximate path grows with N.
KnnMode resolve_knn_mode(int64_t rows, const KnnParams& params);

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

/// Checks that `graph` is a kNN graph of its n points as the reducers need it:
/// arrays of n * k, every neighbour another point in [0, n), every distance
/// finite and >= 0. Throws InputError naming `who` ("t-SNE", "UMAP"), the row
/// and the entry otherwise. Both backends call it, so bad distances give the
/// same error everywhere. `allow_missing`: a neighbour id of -1 (an
/// approximate graph that found fewer than k) is accepted and skipped.
void check_knn_graph(const KnnGraph& graph, const char* who, bool allow_missing = false);

}  // namespace prism
