#pragma once
// NN-descent (Dong, Moses & Li 2011) as in pynndescent: random-projection-tree
// forest initialisation, local joins over sampled new/old candidates, early
// termination on the update count. Private to the knn module.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "distance.hpp"
#include "prism/matrix.hpp"
#include "prism/progress.hpp"

namespace prism::knn_detail {

/// Rows in IEEE half precision, each padded with zeros to `d` (a multiple of
/// 8) columns and scaled by `scale` (see distance.hpp).
struct HalfRows {
  int64_t n = 0, d = 0;
  float scale = 1.0f;
  std::vector<uint16_t> h;
  const uint16_t* row(int64_t i) const { return h.data() + i * d; }
};

/// How x's rows (each scaled to unit norm first when `unit`) fit half
/// precision once centred: the column means, the largest |value - mean| and
/// the root mean square of value - mean.
struct HalfFit {
  std::vector<float> mean;
  float max_abs = 0;
  float max_norm = 0;  ///< the largest centred row norm (bounds any rotated component)
  double rms = 0;
  /// Half precision keeps about 11 bits relative to max_abs: refused when the
  /// typical value would keep fewer than 5 (a few far outliers), or when the
  /// values are not finite.
  bool suits() const { return std::isfinite(max_abs) && max_abs > 0 && max_abs <= 64 * rms; }
};
HalfFit half_fit(ConstView x, bool unit);

/// Half-precision copy of rows order[0], order[1], ... of x (all rows in order
/// when `order` is empty), each scaled to unit norm first when `unit`, then
/// centred on fit.mean (distances do not change), optionally rotated, and
/// scaled by the power of two that puts fit.max_abs (fit.max_norm when
/// rotated) in [2^13, 2^14). `rotation`: null, or an orthogonal x.cols^2
/// row-major matrix whose rows are the new axes (principal components,
/// leading first: see sq_l2_half_bounded); distances do not change either.
HalfRows to_half(ConstView x, const std::vector<int32_t>& order, bool unit, const HalfFit& fit,
                 const float* rotation = nullptr);

/// Row i becomes row order[i] (a permutation of 0..n-1), without a second copy.
void permute_in_place(HalfRows& h, const std::vector<int32_t>& order);

/// The vectors NN-descent works on: a float32 view or half-precision rows.
/// dist() is the squared L2 distance (times scale^2 for half rows: the same
/// order).
class Points {
 public:
  Points(ConstView x) : f_(x) {}  // NOLINT: implicit on purpose
  Points(const HalfRows& h) : h_(&h) {}  // NOLINT
  int64_t rows() const { return h_ ? h_->n : f_.rows; }
  int64_t dims() const { return h_ ? h_->d : f_.cols; }
  float dist(int64_t i, int64_t j) const {
    return h_ ? sq_l2_half(h_->row(i), h_->row(j), h_->d) : sq_l2(f_.row(i), f_.row(j), f_.cols);
  }
  /// dist(i, j), or any value >= bound when dist(i, j) >= bound (it may stop
  /// early: see sq_l2_half_bounded).
  float dist_below(int64_t i, int64_t j, float bound) const {
    return h_ ? sq_l2_half_bounded(h_->row(i), h_->row(j), h_->d, bound)
              : sq_l2(f_.row(i), f_.row(j), f_.cols);
  }
  /// <normal, row j> over the leading `cols` columns (a multiple of 8 for
  /// half rows; normal in the rows' scaled units).
  float proj(const float* normal, int64_t j, int64_t cols) const {
    return h_ ? dot_half(normal, h_->row(j), cols) : dot(normal, f_.row(j), cols);
  }
  /// The leading `cols` columns of row i in float.
  void decode(int64_t i, float* out, int64_t cols) const {
    if (h_) {
      for (int64_t j = 0; j < cols; ++j) out[j] = half_to_float(h_->row(i)[j]);
    } else {
      std::copy(f_.row(i), f_.row(i) + cols, out);
    }
  }
  /// The leading columns only (what a bounded distance usually reads).
  void prefetch_head(int64_t i) const {
    if (h_) {
      for (int64_t j = 0; j < std::min<int64_t>(h_->d, kHeadColumns); j += 32) __builtin_prefetch(h_->row(i) + j);
    } else {
      prefetch_row(f_.row(i), std::min<int64_t>(f_.cols, kHeadColumns));
    }
  }
  static constexpr int64_t kHeadColumns = 128;
  void prefetch(int64_t i) const {
    if (h_) {
      for (int64_t j = 0; j < h_->d; j += 32) __builtin_prefetch(h_->row(i) + j);
    } else {
      prefetch_row(f_.row(i), f_.cols);
    }
  }

 private:
  ConstView f_{};
  const HalfRows* h_ = nullptr;
};

struct NndParams {
  int k = 15;               ///< list length of forest_init
  int max_candidates = 15;  ///< new (and old) candidates sampled per point and iteration
  int n_trees = 8;          ///< random-projection trees for the initial graph
  int leaf_size = 32;       ///< largest RP-tree leaf
  int tree_columns = 0;     ///< leading columns the trees split on (0: all; a multiple of 8)
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
/// `columns`: as NndParams::tree_columns.
std::vector<int32_t> locality_order(const Points& x, int leaf_size, uint64_t seed, int columns = 0);

/// First lists (p.k per row, self excluded) from a random-projection forest
/// over x's rows, under squared L2 distance; all entries fresh. Needs x.rows > p.k + 1.
NeighborLists forest_init(const Points& x, const NndParams& p);

/// Improves the lists by NN-descent iterations on x (squared L2) until an
/// iteration changes fewer than p.delta * n * k entries or p.max_iters ran.
/// Reports each iteration to `progress` as progress_base + iteration. Returns
/// the iterations run. Deterministic for a fixed seed, whatever the thread count.
int descend(const Points& x, NeighborLists& g, const NndParams& p, ProgressScope* progress,
            int64_t progress_base);

/// Longer lists from a converged short graph: row i of the result holds the
/// k2 nearest (squared L2 in x) of i's neighbours and their neighbours in g
/// (up to g.k + g.k^2 candidates, each measured once), all entries fresh.
/// The cheap way to a large-k graph (t-SNE's 3 x perplexity): NN-descent's
/// joins grow with the square of the list length, this with g.k^2.
/// With `reverse` > 0 the hops also go through up to that many of the points
/// that list i (the reverse graph): on data with hubs a point's neighbours
/// often list others, not it, and what they list is then two hops away only
/// through the points listing i.
NeighborLists expand_lists(const Points& x, const NeighborLists& g, int k2, int reverse = 0);

}  // namespace prism::knn_detail
