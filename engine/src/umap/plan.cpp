// The UMAP policy, written once for every backend (UmapPlan in
// prism/umap.hpp): parameter checks, the k of the kNN graph, the epoch count,
// the fuzzy graph and its pruning, the a/b curve, the sampling schedule and
// the initial layout with its fallbacks (umap-learn's UMAP.fit and
// simplicial_set_embedding up to optimize_layout_euclidean). The reducers
// only execute it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "umap_internal.hpp"

namespace prism {

void check_umap_params(const UmapParams& p, int64_t n) {
  PRISM_EXPECTS(n >= 2, "UMAP needs at least 2 points, got ", n);
  PRISM_EXPECTS(p.dims >= 1, "UMAP dims must be >= 1, got ", p.dims);
  PRISM_EXPECTS(p.n_neighbors >= 2, "UMAP n_neighbors must be >= 2, got ", p.n_neighbors);
  PRISM_EXPECTS(std::isfinite(p.min_dist) && p.min_dist >= 0, "UMAP min_dist must be >= 0, got ", p.min_dist);
  PRISM_EXPECTS(std::isfinite(p.spread) && p.spread > 0, "UMAP spread must be > 0, got ", p.spread);
  PRISM_EXPECTS(p.min_dist <= p.spread, "UMAP min_dist (", p.min_dist, ") must not exceed spread (",
                p.spread, ")");
  PRISM_EXPECTS(p.n_epochs >= 0, "UMAP n_epochs must be >= 0 (0: auto), got ", p.n_epochs);
  PRISM_EXPECTS(std::isfinite(p.learning_rate) && p.learning_rate > 0,
                "UMAP learning_rate must be > 0, got ", p.learning_rate);
  PRISM_EXPECTS(p.negative_sample_rate >= 0, "UMAP negative_sample_rate must be >= 0, got ",
                p.negative_sample_rate);
  PRISM_EXPECTS(std::isfinite(p.repulsion_strength) && p.repulsion_strength >= 0,
                "UMAP repulsion_strength must be >= 0, got ", p.repulsion_strength);
  PRISM_EXPECTS(p.set_op_mix_ratio >= 0 && p.set_op_mix_ratio <= 1,
                "UMAP set_op_mix_ratio must be in [0, 1], got ", p.set_op_mix_ratio);
  PRISM_EXPECTS(std::isfinite(p.local_connectivity) && p.local_connectivity >= 0,
                "UMAP local_connectivity must be >= 0, got ", p.local_connectivity);
}

int umap_neighbors(const UmapParams& p, int64_t n) {
  return static_cast<int>(std::min<int64_t>(p.n_neighbors, n - 1));
}

int umap_epochs(const UmapParams& p, int64_t n) {
  return p.n_epochs > 0 ? p.n_epochs : (n <= 10000 ? 500 : 200);
}

UmapSchedule umap_schedule(const std::vector<float>& weights, int n_epochs, int negative_sample_rate) {
  UmapSchedule s;
  s.negative_sample_rate = std::max(negative_sample_rate, 0);
  s.epochs_per_sample.assign(weights.size(), -1.0f);
  float wmax = 0;
  for (float w : weights) wmax = std::max(wmax, w);
  if (wmax > 0)
    for (size_t e = 0; e < weights.size(); ++e) {
      const double n_samples = static_cast<double>(n_epochs) * (weights[e] / wmax);
      if (n_samples > 0) s.epochs_per_sample[e] = static_cast<float>(n_epochs / n_samples);
    }
  s.epochs_per_negative_sample.resize(weights.size());
  // negative_sample_rate 0: the negative clock never fires (infinite period).
  for (size_t e = 0; e < weights.size(); ++e)
    s.epochs_per_negative_sample[e] = negative_sample_rate > 0
                                          ? s.epochs_per_sample[e] / static_cast<float>(negative_sample_rate)
                                          : std::numeric_limits<float>::infinity();
  return s;
}

namespace {

/// umap-learn's init: the eigenvectors (or the given PCA layout) scaled by
/// noisy_scale_coords, or a uniform random layout; a failed eigensolve falls
/// back to PCA when its layout was given, else to random, and says so.
void initial_layout(UmapPlan& plan, const Matrix* initial, const SpectralSolver& spectral) {
  const UmapParams& p = plan.params;
  const int64_t n = plan.n();
  auto from_initial = [&] {
    PRISM_EXPECTS(initial->rows() == n && initial->cols() == p.dims, "UMAP initial layout is ",
                  initial->rows(), " x ", initial->cols(), ", expected ", n, " x ", p.dims);
    plan.initial = *initial;
    umap::noisy_scale_coords(plan.initial, p.seed);
  };
  plan.init_used = p.init;
  switch (p.init) {
    case Init::spectral:
      if (spectral(plan.graph, p.dims, p.seed, plan.initial)) {
        PRISM_CHECK(plan.initial.rows() == n && plan.initial.cols() == p.dims, "spectral layout is ",
                    plan.initial.rows(), " x ", plan.initial.cols());
        umap::noisy_scale_coords(plan.initial, p.seed);
      } else if (initial) {
        plan.init_used = Init::pca;
        plan.warning = "UMAP spectral initialisation failed (the eigensolver did not converge): started from PCA";
        from_initial();
      } else {
        plan.init_used = Init::random;
        plan.warning = "UMAP spectral initialisation failed (the eigensolver did not converge): started from a random layout";
        plan.initial = umap::random_layout(n, p.dims, p.seed);
      }
      break;
    case Init::pca:
      PRISM_EXPECTS(initial != nullptr, "UMAP init=pca needs the PCA layout of the input (initial is null)");
      from_initial();
      break;
    case Init::random:
      plan.initial = umap::random_layout(n, p.dims, p.seed);
      break;
  }
  umap::rescale_to_box(plan.initial);
}

}  // namespace

UmapPlan make_umap_plan(const KnnGraph& knn, const Matrix* initial, const UmapParams& params,
                        const SpectralSolver& spectral) {
  check_umap_params(params, knn.n);
  check_knn_graph(knn, "UMAP", /*allow_missing=*/true);
  UmapPlan plan;
  plan.params = params;
  plan.params.n_epochs = umap_epochs(params, knn.n);
  std::tie(plan.a, plan.b) = umap_find_ab(params.spread, params.min_dist);
  // Edges too weak to be sampled in n_epochs are dropped before the
  // initialisation too, as simplicial_set_embedding does.
  plan.graph = umap_prune_graph(umap_fuzzy_graph(knn, params), plan.params.n_epochs);
  plan.schedule = umap_schedule(plan.graph.val, plan.params.n_epochs, params.negative_sample_rate);
  initial_layout(plan, initial, spectral);
  return plan;
}

std::unique_ptr<Reducer> make_umap_cpu(const KnnGraph& graph, const Matrix* initial,
                                       const UmapParams& params) {
  const SpectralSolver cpu = [](const FuzzyGraph& g, int dims, uint64_t seed, Matrix& out) {
    return umap_spectral_layout_cpu(g, dims, seed, out);
  };
  return make_umap_cpu(make_umap_plan(graph, initial, params, cpu));
}

}  // namespace prism
