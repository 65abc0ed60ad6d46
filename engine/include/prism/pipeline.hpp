#pragma once
// The whole job: (PCA pre-reduction) -> kNN graph -> initial layout -> optimiser.
// Used by `prism reduce`, `prism bench`, `prism batch` and the viewer.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prism/knn.hpp"
#include "prism/pca.hpp"
#include "prism/reducer.hpp"
#include "prism/tsne.hpp"
#include "prism/umap.hpp"

namespace prism {

struct ReduceParams {
  Method method = Method::umap;
  int dims = 2;
  Backend backend = Backend::automatic;
  uint64_t seed = 0;
  Metric metric = Metric::euclidean;
  KnnMode knn_mode = KnnMode::automatic;
  PcaParams pca;    ///< method pca (dims, whiten, solver)
  TsneParams tsne;  ///< method tsne (dims/seed/backend are taken from above)
  UmapParams umap;  ///< method umap (dims/seed/backend are taken from above)
};

/// Seconds spent in each stage.
struct StageTimes {
  double preprocess = 0;  ///< PCA pre-reduction (t-SNE on D > 100)
  double knn = 0;
  double init = 0;        ///< affinities + initial layout
  double optimise = 0;
  double total() const { return preprocess + knn + init + optimise; }
};

/// What actually ran, as reports record it (it can differ from what was asked:
/// a fallback, a backend chosen automatically, a kNN graph for fewer rows).
struct RunRecord {
  Backend backend = Backend::cpu;  ///< where the reducer ran
  Init init = Init::pca;           ///< the initial layout actually used (t-SNE, UMAP)
  int knn_k = 0;                   ///< neighbours per point of the kNN graph (0: none built)
  bool knn_exact = false;          ///< exact search (false: approximate)
  int pca_dims = 0;                ///< the PCA pre-reduction's output dims (0: none)
  bool normalised = false;         ///< rows scaled to unit length first (cosine)
  int n_epochs = 0;                ///< UMAP epochs / t-SNE iterations planned
  double learning_rate = 0;        ///< the resolved learning rate
  std::string tsne_method;         ///< t-SNE: the repulsion that ran ("bh" or "fft"); empty otherwise
  std::vector<std::string> warnings;  ///< fallbacks and other notes, in order
};

/// A reducer ready to step, and what it took to get there.
struct PreparedReduction {
  std::unique_ptr<Reducer> reducer;
  StageTimes times;
  RunRecord record;
};

/// Checks `params` for an input of n rows x d columns before any work (the
/// same checks the plans make, so a bad value fails in milliseconds, not
/// after the kNN graph); throws InputError naming the parameter.
void check_reduce_params(const ReduceParams& params, int64_t n, int64_t d);

/// Everything before the first optimiser step.
PreparedReduction prepare_reduction(ConstView x, const ReduceParams& params,
                                    Progress* progress = nullptr);

struct Projection {
  Matrix y;  ///< n x dims
  StageTimes times;
  RunRecord record;
  double objective = 0;  ///< final KL for t-SNE, NaN otherwise
  bool aborted = false;
};

/// prepare_reduction + run_reducer.
Projection reduce(ConstView x, const ReduceParams& params, Progress* progress = nullptr);

}  // namespace prism
