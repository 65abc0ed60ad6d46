#pragma once
// Barnes-Hut t-SNE in 2D and 3D (van der Maaten 2014; optimisation as in
// openTSNE / Kobak & Berens 2019). Stages: perplexity calibration, P
// symmetrisation, attractive forces, tree build, repulsive forces, update.
#include <memory>

#include "prism/knn.hpp"
#include "prism/reducer.hpp"

namespace prism {

struct TsneParams {
  int dims = 2;                     ///< 2 or 3
  double perplexity = 30.0;         ///< the kNN graph should have k = 3 * perplexity
  double theta = 0.5;               ///< Barnes-Hut accuracy (0: exact repulsion)
  int n_iter = 1000;                ///< iterations in all, early exaggeration included
  int exaggeration_iter = 250;      ///< iterations with early exaggeration
  double early_exaggeration = 12.0;
  double learning_rate = 0.0;       ///< 0: auto = max(N / early_exaggeration, 50)
  double momentum = 0.5;            ///< during early exaggeration
  double final_momentum = 0.8;      ///< afterwards
  double min_gain = 0.01;           ///< delta-bar-delta gains never go below this
  Init init = Init::pca;            ///< pca (scaled to std 1e-4) or random
  int pca_dims = 50;                ///< the pipeline first reduces D > 100 to this many (0: never)
  uint64_t seed = 0;
  Backend backend = Backend::automatic;
};

/// Builds a t-SNE reducer from the input's kNN graph. `initial` (n x dims)
/// is the starting layout for Init::pca (rescaled inside so that its first
/// column has std 1e-4); nullptr with Init::random draws one from the seed.
std::unique_ptr<Reducer> make_tsne(const KnnGraph& graph, const Matrix* initial,
                                   const TsneParams& params);

/// The CPU implementation (what make_tsne returns for Backend::cpu).
std::unique_ptr<Reducer> make_tsne_cpu(const KnnGraph& graph, const Matrix* initial,
                                       const TsneParams& params);

/// Sparse symmetric joint probabilities P in CSR form (each row's entries sum
/// over all rows to 1 in total). Exposed for metrics (KL) and GPU tests.
struct SparseP {
  int64_t n = 0;
  std::vector<int64_t> row_ptr;  ///< n + 1
  std::vector<int32_t> col;      ///< nnz
  std::vector<float> val;        ///< nnz, sum of all = 1
};

/// Per-point Gaussian bandwidths by binary search to `perplexity` over the kNN
/// graph's (squared) distances, then P = (P_j|i + P_i|j) / 2N.
SparseP tsne_affinities(const KnnGraph& graph, double perplexity);

/// KL(P || Q) for an embedding y with Student-t Q (exact O(N^2) below 20k
/// points, Barnes-Hut normalisation above).
double tsne_kl_divergence(const SparseP& p, ConstView y);

}  // namespace prism
