#pragma once
// The whole job: (PCA pre-reduction) -> kNN graph -> initial layout -> optimiser.
// Used by `prism reduce`, `prism bench`, `prism batch` and the viewer.
#include <memory>
#include <optional>

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

/// A reducer ready to step, and what it took to get there.
struct PreparedReduction {
  std::unique_ptr<Reducer> reducer;
  StageTimes times;
  Backend backend = Backend::cpu;
};

/// Everything before the first optimiser step.
PreparedReduction prepare_reduction(ConstView x, const ReduceParams& params,
                                    Progress* progress = nullptr);

struct Projection {
  Matrix y;  ///< n x dims
  StageTimes times;
  Backend backend = Backend::cpu;
  double objective = 0;  ///< final KL for t-SNE, NaN otherwise
  bool aborted = false;
};

/// prepare_reduction + run_reducer.
Projection reduce(ConstView x, const ReduceParams& params, Progress* progress = nullptr);

}  // namespace prism
