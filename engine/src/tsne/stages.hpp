#pragma once
// Private stages of the CPU Barnes-Hut t-SNE, one per file (tests include this
// header to check each stage against a naive oracle):
//   affinities.cpp  perplexity calibration and P symmetrisation
//   locality.cpp    renumbering of the points for cache locality
//   attraction.cpp  exact attractive forces over the sparse P
//   tree.hpp/.cpp   Morton-ordered quadtree (2D) / octree (3D)
//   repulsion.cpp   Barnes-Hut repulsive forces and the normalisation Z
//   fft_repulsion.cpp  the same by FFT-accelerated interpolation (2D)
//   update.cpp      delta-bar-delta gradient descent with momentum, re-centring
//   tsne_cpu.cpp    the Reducer that strings them together
//
// Embeddings inside the optimiser are double precision, row-major n x D
// (point i, coordinate d is y[i * D + d]); the public interface hands out floats.
#include <cstdint>
#include <memory>
#include <vector>

#include "prism/tsne.hpp"

namespace prism::tsne {

/// Below this many points the per-iteration loops run on one thread: the work
/// is too small to pay for the fork/join, which on a busy machine (threads
/// waiting for a core at every barrier) costs more than the loop itself.
inline constexpr int64_t kParallelMinPoints = 8192;

/// Conditional affinities P_j|i over the kNN graph, same layout as the graph
/// (row i's k values sum to 1), and the precision beta_i = 1 / (2 sigma_i^2)
/// found for each row (in units of 1 / squared input distance).
struct ConditionalP {
  int64_t n = 0;
  int k = 0;
  std::vector<float> p;      ///< n * k (found in double, stored as float: P's own precision)
  std::vector<double> beta;  ///< n
};

/// Largest |H_i - log(perplexity)| the binary search accepts (H in nats).
inline constexpr double kEntropyTolerance = 1e-8;

/// Per-row binary search of beta_i so that the entropy of P_.|i over the row's
/// neighbours equals log(perplexity) (as openTSNE's compute_gaussian_perplexity,
/// over squared distances, shifted by the nearest one so exp() never underflows
/// for every neighbour at once). A perplexity above k is clamped to k (uniform rows).
ConditionalP calibrate_perplexity(const KnnGraph& graph, double perplexity);
/// The same, written over the graph's own distances (moved into the result's
/// p; the graph keeps its indices): no second n * k array.
ConditionalP calibrate_perplexity_in_place(KnnGraph& graph, double perplexity);

/// P = (P_j|i + P_i|j) / 2N as CSR with sorted, unique columns per row
/// (as openTSNE's joint_probabilities_nn); normalised to sum to 1 in double.
/// With `order` (order[new] = old), rows and columns are renumbered by it.
SparseP symmetrize(const KnnGraph& graph, const ConditionalP& cond, const std::vector<int32_t>* order);

/// A renumbering of the points (order[new] = old) that puts P's neighbours
/// close together in memory: breadth-first over the kNN graph's lists and
/// their reverse (P's structure), before P exists.
std::vector<int32_t> locality_order(const KnnGraph& graph);

/// Attractive part of the gradient (openTSNE's estimate_positive_gradient_nn):
/// attr_i = exaggeration * sum_j p_ij w_ij (y_i - y_j), w_ij = 1 / (1 + |y_i - y_j|^2).
/// `attr` is n * dims, overwritten. Parallel over rows, no shared writes.
void attractive_forces(const SparseP& p, const double* y, int dims, double exaggeration,
                       double* attr);

/// The pieces of KL(P || Q) = sum p log p + sum p log(1 + d_ij^2) + log(Z) sum p
/// (exaggeration off): sum_ij p_ij log(1 + |y_i - y_j|^2) over the stored entries
/// (changes with y), and sum_ij p_ij log p_ij (constant: computed once).
double sum_p_log1p_d2(const SparseP& p, const double* y, int dims);
double sum_p_log_p(const SparseP& p);

/// Result of a repulsion pass: rep_i = sum_{j != i} w_ij^2 (y_i - y_j) into
/// the caller's n * dims array, and Z = sum_{i != j} w_ij.
struct RepulsionStats {
  double z = 0;
};

/// Barnes-Hut estimate of the repulsive forces and Z (van der Maaten 2014,
/// criterion width / distance < theta as in openTSNE's quad_tree.pyx); theta = 0
/// visits every pair. Positions and the tree are double; the interactions are
/// summed in float (relative error ~1e-6, far below theta's). Z is summed over
/// per-point partials in point order, so the result does not depend on the
/// thread count. `rep` may be nullptr for Z only.
RepulsionStats repulsive_forces(const double* y, int64_t n, int dims, double theta, double* rep);

/// Exact O(N^2) repulsion in double (the oracle for tests and the small-N KL).
RepulsionStats repulsive_forces_exact(const double* y, int64_t n, int dims, double* rep);

/// Grid of the FFT-accelerated interpolation (openTSNE's names and defaults:
/// n_interpolation_points, min_num_intervals, ints_in_interval).
struct FftGrid {
  static constexpr int kMaxInterpolationPoints = 8;
  int interpolation_points = 3;   ///< Lagrange nodes per box and axis
  int min_intervals = 50;         ///< boxes per axis at least
  double ints_in_interval = 1.0;  ///< box side (embedding units) once the layout is wider than min_intervals boxes
  int max_intervals = 1000;       ///< boxes per axis at most (openTSNE's cap: beyond it boxes grow)
};

/// Repulsive forces and Z in 2D by FFT-accelerated interpolation (Linderman
/// et al. 2019, FIt-SNE; openTSNE's negative_gradient_method="fft"): O(N)
/// per call plus FFTs on a grid that grows with the layout's extent, not with
/// N. Same outputs as repulsive_forces (rep: n x 2, may be nullptr for Z
/// only). Holds its grid, FFTW plans and buffers between calls (one per
/// optimiser: not to be shared between threads); reproducible for any thread
/// count.
class FftRepulsion {
 public:
  explicit FftRepulsion(FftGrid grid = {});
  ~FftRepulsion();
  FftRepulsion(FftRepulsion&&) noexcept;
  FftRepulsion& operator=(FftRepulsion&&) noexcept;
  RepulsionStats operator()(const double* y, int64_t n, double* rep);
  /// Boxes per axis of the last call (0 before the first).
  int boxes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The repulsion a plan asked for: Barnes-Hut at angle theta (2D, 3D) or the
/// FFT interpolation (2D).
class Repulsion {
 public:
  Repulsion(TsneMethod method, int dims, double theta);
  RepulsionStats operator()(const double* y, int64_t n, double* rep);
  TsneMethod method() const { return method_; }

 private:
  TsneMethod method_;
  int dims_;
  double theta_;
  std::unique_ptr<FftRepulsion> fft_;
};

/// The gradient in openTSNE's / bhtsne's convention (the true dKL/dy_i is 4x
/// this; the auto learning rate N / early_exaggeration assumes it):
/// grad_i = exaggeration * attr_i - rep_i / Z. `scratch` holds n * dims doubles.
/// Returns Z.
double kl_gradient(const SparseP& p, const double* y, int dims, Repulsion& repulsion,
                   double exaggeration, double* grad, double* scratch);

/// One delta-bar-delta step (Jacobs 1988, as openTSNE's gradient_descent and
/// scikit-learn's _gradient_descent): gains grow by 0.2 where the gradient
/// changes sign against the previous update, shrink by x0.8 otherwise, never
/// below min_gain; update = momentum * update - learning_rate * gain * grad;
/// y += update; then y is re-centred on the origin. All arrays n * dims.
void gradient_step(double* y, const double* grad, double* update, double* gains, int64_t n,
                   int dims, double learning_rate, double momentum, double min_gain);

/// Subtracts the column means (summed in point order: reproducible).
void recentre(double* y, int64_t n, int dims);

}  // namespace prism::tsne
