#pragma once
// UMAP (McInnes, Healy & Melville 2018), following umap-learn 0.5: fuzzy
// simplicial set, a/b curve fit, spectral initialisation, SGD with negative
// sampling on the epochs-per-sample schedule.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "prism/knn.hpp"
#include "prism/reducer.hpp"

namespace prism {

struct UmapParams {
  int dims = 2;                      ///< 2 or 3 (any >= 1 works)
  int n_neighbors = 15;              ///< the kNN graph's k
  double min_dist = 0.1;
  double spread = 1.0;
  int n_epochs = 0;                  ///< 0: auto, 500 for N <= 10,000, else 200
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

/// Checks the parameters for a data set of n points before any work is done
/// (the pipeline calls it before building the kNN graph); throws InputError
/// saying which parameter is wrong and what it must be.
void check_umap_params(const UmapParams& params, int64_t n);

/// The kNN graph's k for UMAP on n points: min(n - 1, n_neighbors).
int umap_neighbors(const UmapParams& params, int64_t n);

/// The epoch count n_epochs stands for on n points (auto: 500 up to 10,000, else 200).
int umap_epochs(const UmapParams& params, int64_t n);

/// umap-learn's sampling clocks, one entry per edge: an edge of weight w fires
/// every max_w / w epochs (-1: never), and owes negative_sample_rate negative
/// samples per firing (an infinite period when the rate is 0).
struct UmapSchedule {
  std::vector<float> epochs_per_sample;
  std::vector<float> epochs_per_negative_sample;
  int negative_sample_rate = 0;  ///< negative samples per firing (the periods' ratio)
};
/// umap-learn's make_epochs_per_sample over `weights`, and the negative clock.
UmapSchedule umap_schedule(const std::vector<float>& weights, int n_epochs, int negative_sample_rate);

/// The dims leading non-trivial eigenvectors of the graph's normalised
/// Laplacian, per connected component (umap-learn's spectral_layout), into
/// `out` (n x dims); false when the eigensolver failed. Each backend has one.
using SpectralSolver = std::function<bool(const FuzzyGraph& graph, int dims, uint64_t seed, Matrix& out)>;

/// What every backend executes, decided once: the checked parameters with the
/// epoch count resolved, the curve, the pruned graph, its sampling schedule
/// and the initial layout (umap-learn's simplicial_set_embedding up to the
/// optimisation).
struct UmapPlan {
  UmapParams params;       ///< checked; n_epochs resolved (> 0)
  double a = 0, b = 0;     ///< the curve 1 / (1 + a d^(2b))
  FuzzyGraph graph;        ///< the fuzzy graph without edges too weak to be sampled
  UmapSchedule schedule;   ///< per edge of `graph`, in its CSR order
  Matrix initial;          ///< n x dims start, each column spanning [0, 10]
  Init init_used = Init::spectral;  ///< what made `initial`: params.init or its fallback
  std::string warning;     ///< why init_used differs from params.init; empty when it does not

  int64_t n() const { return graph.n; }
  int n_epochs() const { return params.n_epochs; }
  /// The learning rate of epoch `epoch` (0-based): linear decay to 0.
  float learning_rate(int64_t epoch) const {
    return static_cast<float>(params.learning_rate) *
           (1.0f - static_cast<float>(epoch) / static_cast<float>(params.n_epochs));
  }
};

/// Builds the plan: checks, fuzzy graph, pruning, a/b, schedule, and the
/// initial layout (spectral by `spectral`, falling back to `initial` (the PCA
/// layout, when given) or to a random one, recorded in init_used and warning;
/// pca from `initial`, scaled as umap-learn's noisy_scale_coords; random
/// uniform in [-10, 10)), then mapped onto [0, 10] per column.
UmapPlan make_umap_plan(const KnnGraph& graph, const Matrix* initial, const UmapParams& params,
                        const SpectralSolver& spectral);
/// make_umap_plan with the spectral solver of params.backend (automatic: CUDA
/// when present); `progress` can stop the CPU solver (Interrupted).
UmapPlan plan_umap(const KnnGraph& graph, const Matrix* initial, const UmapParams& params,
                   const Progress* progress = nullptr);
/// The CPU spectral solver (Spectra, per connected component). Throws
/// Interrupted within a matrix-vector product once progress->aborted().
bool umap_spectral_layout_cpu(const FuzzyGraph& graph, int dims, uint64_t seed, Matrix& out,
                              const Progress* progress = nullptr);

/// The reducer that executes `plan` on plan.params.backend (automatic: CUDA when present).
std::unique_ptr<Reducer> make_umap(UmapPlan plan);
/// The CPU reducer.
std::unique_ptr<Reducer> make_umap_cpu(UmapPlan plan);

/// plan_umap + make_umap; make_umap_plan with the CPU solver + make_umap_cpu.
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
