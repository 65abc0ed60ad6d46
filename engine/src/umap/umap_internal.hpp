#pragma once
// UMAP's CPU pipeline stages, split as cuML does (cpp/src/umap/):
//   fuzzy_simplicial_set.cpp  smooth_knn_dist, membership strengths, fuzzy union
//   find_ab.cpp               the a/b curve fit (find_ab_params)
//   init_embedding.cpp        spectral / PCA / random initial layouts
//   simplicial_set_embed.cpp  epochs-per-sample schedule and the SGD epoch
//   transform.cpp             embedding new points into a fitted result
// Each function names the umap-learn 0.5 function it follows.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "prism/random.hpp"
#include "prism/umap.hpp"

namespace prism::umap_detail {

// ---- random numbers --------------------------------------------------------
// Counter-based seeding: every (seed, stream) pair gets its own generator, so a
// result never depends on which thread drew the numbers (uwot's approach).

using prism::splitmix64;

/// Small fast generator (xorshift64*), seeded from a mixed (seed, a, b) triple.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t a = 0, uint64_t b = 0)
      : s_(splitmix64(splitmix64(splitmix64(seed) ^ a) ^ (b * 0xD1B54A32D192ED03ULL)) | 1ULL) {}
  uint64_t next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1DULL;
  }
  /// Uniform integer in [0, n) (Lemire's multiply-shift; n < 2^32).
  uint32_t below(uint32_t n) {
    return static_cast<uint32_t>((static_cast<uint64_t>(next() >> 32) * n) >> 32);
  }
  /// Uniform double in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Standard normal (Box-Muller; one value per call keeps the stream simple).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t s_;
};

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

/// Zeroes the edges weaker than max / n_epochs and drops them (as
/// simplicial_set_embedding does before initialising): such edges would never be
/// sampled. Returns a new CSR graph.

// ---- a, b (find_ab.cpp) ----------------------------------------------------
// Declared in prism/umap.hpp: umap_find_ab.

// ---- initial layout (init_embedding.cpp) -------------------------------------

/// Writes a warning to stderr (the one place the umap module talks to the user
/// outside of exceptions).
void warn(const std::string& message);

/// umap-learn's spectral_layout: the dims eigenvectors after the trivial one of
/// the normalised Laplacian I - D^-1/2 A D^-1/2 (computed as the largest of
/// D^-1/2 A D^-1/2 with Spectra), laid out per connected component as
/// multi_component_layout does. Returns false (and leaves `out` unspecified)
/// when the eigensolver fails. out is n x dims.
bool spectral_layout(const FuzzyGraph& g, int dims, uint64_t seed, Matrix& out);

/// umap-learn's noisy_scale_coords: scales so the largest |coordinate| is
/// max_coord, then adds N(0, noise^2) noise (seeded).
void noisy_scale_coords(Matrix& y, uint64_t seed, double max_coord = 10.0, double noise = 1e-4);

/// Seeded uniform [-10, 10) layout (umap-learn's init="random").
Matrix random_layout(int64_t n, int dims, uint64_t seed);

/// Maps each column linearly onto [0, 10], as simplicial_set_embedding does
/// before optimising.
void rescale_to_box(Matrix& y);

/// The whole initialisation for make_umap_cpu: spectral, pca (from `initial`)
/// or random, including umap-learn's scaling; falls back (with a warning) from
/// spectral to pca/random when the eigensolver fails.
Matrix initial_layout(const FuzzyGraph& g, const Matrix* initial, const UmapParams& p);

// ---- layout optimisation (simplicial_set_embed.cpp) ---------------------------

/// umap-learn's make_epochs_per_sample: an edge of weight w is sampled every
/// max_w / w epochs; -1 where it never is.
std::vector<float> make_epochs_per_sample(const std::vector<float>& weights, int n_epochs);

/// The SGD state for one layout: edges in CSR order by head point, and the
/// per-edge sampling clocks of optimize_layout_euclidean.
struct Layout {
  // Graph (heads are rows of `head`, tails rows of `tail`; the same matrix when fitting).
  int64_t n_head = 0;
  int64_t n_tail = 0;
  int dims = 2;
  std::vector<int64_t> row_ptr;
  std::vector<int32_t> col;
  std::vector<float> epochs_per_sample;
  std::vector<float> epoch_of_next_sample;
  std::vector<float> epochs_per_negative_sample;
  std::vector<float> epoch_of_next_negative_sample;

  // Constants.
  float a = 1.577f, b = 0.895f;
  float gamma = 1.0f;           // repulsion strength
  float initial_alpha = 1.0f;   // learning rate at epoch 0
  int n_epochs = 200;
  bool move_other = true;       // fit: tails move too; transform: tails are fixed
  uint64_t seed = 0;

  // Work buffers for several threads with move_other: each thread's copy of the
  // layout and the layout at the last merge.
  std::vector<std::vector<float>> views;
  std::vector<float> base;

  /// Sets up the schedule from a CSR graph (rows = heads) and the epoch count.
  void init(const std::vector<int64_t>& rp, const std::vector<int32_t>& cols,
            const std::vector<float>& weights, int64_t n_tail_points, int dims_,
            int negative_sample_rate, int n_epochs_);

  /// One epoch of optimize_layout_euclidean (epoch counts from 0). `head` is
  /// n_head x dims; `tail` n_tail x dims (ignored and taken as `head` when
  /// move_other). Deterministic for a fixed seed and thread count.
  void epoch(int epoch_index, float* head, const float* tail);
};

}  // namespace prism::umap_detail
