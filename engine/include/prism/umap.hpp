#pragma once
// UMAP (McInnes, Healy & Melville 2018), following umap-learn 0.5: fuzzy
// simplicial set, a/b curve fit, spectral initialisation, SGD with negative
// sampling on the epochs-per-sample schedule.
#include <memory>

#include "prism/knn.hpp"
#include "prism/reducer.hpp"

namespace prism {

struct UmapParams {
  int dims = 2;                      ///< 2 or 3 (any >= 1 works)
  int n_neighbors = 15;              ///< the kNN graph's k
  double min_dist = 0.1;
  double spread = 1.0;
  int n_epochs = 0;                  ///< 0: 500 for N <= 10,000, else 200
  double learning_rate = 1.0;        ///< decays linearly to 0
  int negative_sample_rate = 5;
  double repulsion_strength = 1.0;   ///< gamma
  double set_op_mix_ratio = 1.0;     ///< 1: fuzzy union
  double local_connectivity = 1.0;
  Init init = Init::spectral;        ///< spectral, pca or random
  bool deterministic = false;        ///< GPU: order-independent sums (pre-rounded atomics)
  uint64_t seed = 0;
  Backend backend = Backend::automatic;
};

/// a, b of the curve 1 / (1 + a d^(2b)) fitted to min_dist and spread (as
/// umap-learn's find_ab_params).
std::pair<double, double> umap_find_ab(double spread, double min_dist);

/// Weighted symmetric graph (CSR) from the kNN graph: umap-learn's
/// smooth_knn_dist + compute_membership_strengths + fuzzy union.
struct FuzzyGraph {
  int64_t n = 0;
  std::vector<int64_t> row_ptr;
  std::vector<int32_t> col;
  std::vector<float> val;
};
FuzzyGraph umap_fuzzy_graph(const KnnGraph& graph, const UmapParams& params);
/// Drops the edges too weak to be sampled in n_epochs (umap-learn: weights
/// below max / n_epochs are zeroed, then eliminated). Both backends use it.
FuzzyGraph umap_prune_graph(const FuzzyGraph& graph, int n_epochs);

/// `initial` (n x dims) is used for Init::pca (scaled inside as umap-learn
/// does); spectral and random are computed inside.
std::unique_ptr<Reducer> make_umap(const KnnGraph& graph, const Matrix* initial,
                                   const UmapParams& params);
std::unique_ptr<Reducer> make_umap_cpu(const KnnGraph& graph, const Matrix* initial,
                                       const UmapParams& params);

/// Embeds new points into an existing result: kNN of new_x into train_x, the
/// new points' memberships, initial positions at their neighbours' weighted
/// mean, then SGD with the training points fixed.
Matrix umap_transform(ConstView train_x, ConstView train_y, ConstView new_x,
                      const UmapParams& params, Metric metric, Progress* progress = nullptr);

}  // namespace prism
