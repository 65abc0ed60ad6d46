#pragma once
// The approximate CPU kNN path with its tuning knobs exposed, for the module's
// own experiments; knn_approx_cpu runs it with the defaults. Private.
#include "prism/knn.hpp"

namespace prism::knn_detail {

/// -1 means "chosen from the data"; see approx.cpp for the rules.
/// The graph that large k-lists are expanded from: 45 neighbours, 50 on wide
/// data that is not projected (raw 384-d text vectors need the larger base
/// for recall@90 0.95: 0.936 with 45, 0.954 with 50).
inline constexpr int kExpandBase = 45, kExpandBaseWide = 50;

struct ApproxTuning {
  int reduce_dims = -1;     ///< PCA dimensions of the projected stage; 0: never project
  int first_list = -1;      ///< list length of the first (projected or only) stage (k + min(k, 64))
  int max_candidates = -1;  ///< candidates sampled per point and iteration (default k, <= 60)
  int n_trees = -1;         ///< RP trees
  int leaf_size = -1;       ///< RP-tree leaf size
  int tree_columns = -1;    ///< leading columns of the rotated copy the trees split on; 0: all
  int max_iters = 12;       ///< iterations at most without a projection
  int reduced_iters = 2;    ///< iterations at most of the projected stage
  int full_iters = 6;       ///< iterations at most of the full-dimensional stage after it
  int full_list = -1;       ///< list length of the full-dimensional stage (k + k / 3)
  double delta = 0.001;     ///< early termination: fraction of list entries changed
  bool reorder = true;      ///< renumber the points in a locality order first
  bool half = true;         ///< the descent works on a half-precision copy (re-ranked in float32)
  bool rotate = true;       ///< the half copy is rotated onto its principal axes (bounded distances pay)
  int expand_above = 40;    ///< k above which the k-lists are expanded from a smaller graph; 0: never
  int expand_base = -1;     ///< neighbours of the graph that is expanded (-1: kExpandBase, kExpandBaseWide)
  int expand_reverse = -1;  ///< reverse neighbours per point the two hops also go through (-1: expand_base)
  int expand_iters = 0;     ///< NN-descent iterations at k after the expansion
  int expand_candidates = 15;  ///< candidates sampled per point in those iterations
};

KnnGraph knn_approx_tuned(ConstView x, int k, Metric metric, uint64_t seed, Progress* progress,
                          const ApproxTuning& tuning);

}  // namespace prism::knn_detail
