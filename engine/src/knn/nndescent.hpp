#pragma once
// NN-descent (Dong, Moses & Li 2011) as in pynndescent: random-projection-tree
// forest initialisation, local joins over sampled new/old candidates, early
// termination on the update count. Private to the knn module.
#include <cstdint>
#include <vector>

#include "prism/matrix.hpp"
#include "prism/progress.hpp"

namespace prism::knn_detail {

struct NndParams {
  int k = 15;               ///< list length of forest_init
  int max_candidates = 15;  ///< new (and old) candidates sampled per point and iteration
  int n_trees = 8;          ///< random-projection trees for the initial graph
  int leaf_size = 32;       ///< largest RP-tree leaf
  int max_iters = 10;       ///< NN-descent iterations at most
  double delta = 0.001;     ///< stop when fewer than delta * n * k lists changed in an iteration
  uint64_t seed = 0;
};

/// Per-point neighbour lists: row i is idx/dist[i*k .. i*k+k). During the
/// descent each row is a max-heap on squared L2 distance (entry 0 is the
/// farthest, the admission threshold), unordered otherwise.
struct NeighborLists {
  int64_t n = 0;
  int k = 0;
  std::vector<int32_t> idx;
  std::vector<float> dist;     ///< squared L2 distances
  std::vector<uint8_t> fresh;  ///< 1 while the entry has not yet been joined
};

/// The rows of x in the leaf order of one random-projection tree: rows close
/// in space come out close in the order (a cheap space-filling order).
std::vector<int32_t> locality_order(ConstView x, int leaf_size, uint64_t seed);

/// First lists (p.k per row, self excluded) from a random-projection forest
/// over x's rows, under squared L2 distance; all entries fresh. Needs x.rows > p.k + 1.
NeighborLists forest_init(ConstView x, const NndParams& p);

/// Improves the lists by NN-descent iterations on x (squared L2) until an
/// iteration changes fewer than p.delta * n * k entries or p.max_iters ran.
/// Reports each iteration to `progress` as progress_base + iteration. Returns
/// the iterations run. Deterministic for a fixed seed, whatever the thread count.
int descend(ConstView x, NeighborLists& g, const NndParams& p, ProgressScope* progress,
            int64_t progress_base);

/// Longer lists from a converged short graph: row i of the result holds the
/// k2 nearest (squared L2 in x) of i's neighbours and their neighbours in g
/// (up to g.k + g.k^2 candidates, each measured once), all entries fresh.
/// The cheap way to a large-k graph (t-SNE's 3 x perplexity): NN-descent's
/// joins grow with the square of the list length, this with g.k^2.
NeighborLists expand_lists(ConstView x, const NeighborLists& g, int k2);

}  // namespace prism::knn_detail
