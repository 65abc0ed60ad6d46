#pragma once
// UMAP's CPU pipeline stages, split as cuML does (cpp/src/umap/):
//   fuzzy_simplicial_set.cpp  smooth_knn_dist, membership strengths, fuzzy union
//   find_ab.cpp               the a/b curve fit (find_ab_params)
//   init_embedding.cpp        spectral / PCA / random initial layouts
//   plan.cpp                  the policy both backends execute (UmapPlan)
//   simplicial_set_embed.cpp  the SGD epoch and the CPU reducer
//   transform.cpp             embedding new points into a fitted result
// Each function names the umap-learn 0.5 function it follows.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "prism/random.hpp"
#include "prism/umap.hpp"

namespace prism::umap {

// ---- fuzzy simplicial set (fuzzy_simplicial_set.cpp) -----------------------

/// umap-learn's smooth_knn_dist for `n` rows of `k` distances (self excluded,
/// nearest first, row i at dists[i*k]): per row, rho = distance to the
/// local_connectivity-th nearest non-zero neighbour and sigma found by binary
/// search so that sum_j exp(-max(0, d_j - rho) / sigma) = log2(k) * bandwidth.
void smooth_knn_dist(const float* dists, int64_t n, int k, double local_connectivity,
                     float* sigma, float* rho, int n_iter = 64, double bandwidth = 1.0);

/// umap-learn's compute_membership_strengths: w_ij = exp(-max(0, d_ij - rho_i) / sigma_i)
/// (1 when sigma is 0), written to w (n x k, same layout as dists). Entries with a
/// negative index are set to 0.
void membership_strengths(const int32_t* indices, const float* dists, int64_t n, int k,
                          const float* sigma, const float* rho, float* w);

// ---- a, b (find_ab.cpp) ----------------------------------------------------
// Declared in prism/umap.hpp: umap_find_ab.

// ---- initial layout (init_embedding.cpp) -------------------------------------

// umap_spectral_layout_cpu (prism/umap.hpp) is umap-learn's spectral_layout:
// the dims eigenvectors after the trivial one of the normalised Laplacian
// I - D^-1/2 A D^-1/2 (computed as the largest of D^-1/2 A D^-1/2 with
// Spectra), laid out per connected component as multi_component_layout does.

/// umap-learn's noisy_scale_coords: scales so the largest |coordinate| is
/// max_coord, then adds N(0, noise^2) noise (seeded).
void noisy_scale_coords(Matrix& y, uint64_t seed, double max_coord = 10.0, double noise = 1e-4);

/// Seeded uniform [-10, 10) layout (umap-learn's init="random").
Matrix random_layout(int64_t n, int dims, uint64_t seed);

/// Maps each column linearly onto [0, 10], as simplicial_set_embedding does
/// before optimising.
void rescale_to_box(Matrix& y);

// ---- layout optimisation (simplicial_set_embed.cpp) ---------------------------

/// The CPU's SGD over a graph's edges (umap-learn's optimize_layout_euclidean):
/// edges in CSR order by head point with their sampling clocks. Heads are rows
/// of `head`, tails rows of `tail` (the same matrix when fitting).
/// Fixed-point one of SgdState::rate: 2^30, so rates (at most 1) and the
/// fractional parts of t * rate fit a signed 32-bit lane.
inline constexpr uint32_t kRateOne = uint32_t{1} << 30;

struct SgdState {
  int64_t n_head = 0;
  int64_t n_tail = 0;
  int dims = 2;
  std::vector<int64_t> row_ptr;
  std::vector<int32_t> col;
  // The clocks in closed form (see draw_samples): an edge fires for the m-th
  // time in the first epoch t with floor(t * rate) = m, rate = 1 / its period
  // (0: never), and then draws negative_rate negative samples. No per-edge
  // state changes, so an epoch streams 8 bytes per edge and writes none.
  std::vector<uint32_t> rate;  // per edge, in units of 1 / kRateOne
  int negative_rate = 0;

  float a = 1.577f, b = 0.895f;
  float gamma = 1.0f;           // repulsion strength
  bool move_other = true;       // fit: tails move too; transform: tails are fixed
  uint64_t seed = 0;

  // Work buffers for several threads with move_other: each thread's copy of the
  // layout and the layout at the last merge.
  std::vector<std::vector<float>> views;
  std::vector<float> base;

  /// Takes a CSR graph (rows = heads, columns = tails among n_tail points)
  /// and its schedule.
  SgdState(std::vector<int64_t> row_ptr, std::vector<int32_t> col, UmapSchedule schedule,
           int64_t n_tail, int dims);

  /// One epoch at learning rate `alpha` (epoch counts from 0). `head` is
  /// n_head x dims; `tail` n_tail x dims (ignored and taken as `head` when
  /// move_other). Deterministic for a fixed seed and thread count.
  void epoch(int epoch_index, float alpha, float* head, const float* tail);
};

}  // namespace prism::umap
