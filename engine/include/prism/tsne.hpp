#pragma once
// t-SNE in 2D and 3D (van der Maaten 2014; optimisation as in openTSNE /
// Kobak & Berens 2019), the repulsion by Barnes-Hut (2D, 3D) or by
// FFT-accelerated interpolation (2D; Linderman et al. 2019). Stages:
// perplexity calibration, P symmetrisation, attractive forces, repulsive
// forces (tree or grid), update.
#include <memory>
#include <string>
#include <vector>

#include "prism/knn.hpp"
#include "prism/reducer.hpp"

namespace prism {

/// How the repulsive forces are computed (openTSNE's negative_gradient_method).
enum class TsneMethod {
  automatic,   ///< fft in 2D on the CPU from kTsneFftMinPoints points, else barnes_hut
  barnes_hut,  ///< Barnes-Hut on a quadtree / octree at angle theta: 2D and 3D, CPU and CUDA
  fft,         ///< FFT-accelerated interpolation on a grid: 2D only, CPU only
};

/// Parses "auto" | "bh" | "fft" (also "barnes_hut", "barnes-hut"); throws InputError otherwise.
TsneMethod parse_tsne_method(const std::string& s);
/// "auto", "bh", "fft".
const char* to_string(TsneMethod m);

/// From this many points `automatic` picks the FFT method in 2D on the CPU.
/// Its cost per iteration is O(N) plus FFTs whose size follows the layout's
/// extent (a t-SNE layout of 70,000 points already spans ~200 unit boxes),
/// against Barnes-Hut's O(N log N): measured on one core on final layouts,
/// Barnes-Hut is 3x cheaper per pass at 70k (Fashion-MNIST) and the FFT 1.4x
/// cheaper at 1M (bench/RESULTS.md, "t-SNE at scale"; openTSNE's cut is 10k,
/// but its Barnes-Hut is slower than this one).
inline constexpr int64_t kTsneFftMinPoints = 500000;

struct TsneParams {
  int dims = 2;                     ///< 2 or 3
  double perplexity = 30.0;         ///< the kNN graph has k = min(N - 1, ceil(3 * perplexity))
  TsneMethod method = TsneMethod::automatic;  ///< repulsion: Barnes-Hut, FFT interpolation or auto
  double theta = 0.5;               ///< Barnes-Hut angle (scikit-learn's `angle`; 0: exact repulsion)
  int max_iter = 1000;              ///< iterations in all, early exaggeration included
  int early_exaggeration_iter = 250;  ///< iterations with early exaggeration
  double early_exaggeration = 12.0;
  double learning_rate = 0.0;       ///< 0: auto = max(N / early_exaggeration, 50)
  double initial_momentum = 0.5;    ///< during early exaggeration
  double final_momentum = 0.8;      ///< afterwards
  double min_gain = 0.01;           ///< delta-bar-delta gains never go below this
  Init init = Init::pca;            ///< pca (scaled to std 1e-4) or random
  int pca_dims = 50;                ///< the pipeline first reduces D > 100 to this many (0: never)
  uint64_t seed = 0;
  Backend backend = Backend::automatic;
};

/// Checks the parameters for a data set of n points before any work is done
/// (the pipeline calls it before building the kNN graph); throws InputError
/// saying which parameter is wrong and what it must be.
void check_tsne_params(const TsneParams& params, int64_t n);

/// The kNN graph's k for t-SNE on n points: min(n - 1, ceil(3 * perplexity)).
int tsne_neighbors(const TsneParams& params, int64_t n);

/// What every backend executes, decided once: the checked parameters with the
/// automatic values resolved, the initial layout and the optimisation schedule
/// (openTSNE / Kobak & Berens 2019: early exaggeration with momentum 0.5, then
/// exaggeration 1 with momentum 0.8, the momentum buffer restarting between
/// the phases, the gains kept).
struct TsnePlan {
  TsneParams params;            ///< checked; learning_rate resolved (> 0); method as requested
  int64_t n = 0;                ///< points
  /// n x dims (point i, coordinate d at [i * dims + d]) in the caller's
  /// numbering, centred: init pca is the given layout scaled so its first
  /// column has std 1e-4; init random is N(0, 1e-4^2) from the seed, one
  /// counter-based stream per point.
  std::vector<double> initial;

  int dims() const { return params.dims; }
  double exaggeration(int64_t iter) const {
    return iter < params.early_exaggeration_iter ? params.early_exaggeration : 1.0;
  }
  double momentum(int64_t iter) const {
    return iter < params.early_exaggeration_iter ? params.initial_momentum : params.final_momentum;
  }
  /// True for the first iteration after early exaggeration: the momentum
  /// (update) buffer is zeroed before it.
  bool restarts_momentum(int64_t iter) const {
    return iter == params.early_exaggeration_iter && iter > 0;
  }
  /// The repulsion `backend` (cpu or cuda) runs: the requested method, or for
  /// automatic fft in 2D from kTsneFftMinPoints points on the CPU and
  /// barnes_hut otherwise (the CUDA backend has Barnes-Hut only). Throws
  /// InputError when fft was asked for on cuda.
  TsneMethod method_on(Backend backend) const;
};

/// Checks the graph (every neighbour another point, every distance finite and
/// >= 0: NaN or negative distances are an InputError on every backend) and
/// the parameters, resolves the learning rate and makes the initial layout.
/// `initial` (n x dims) is required for Init::pca and ignored for Init::random.
TsnePlan plan_tsne(const KnnGraph& graph, const Matrix* initial, const TsneParams& params);

/// The reducer that executes `plan` on plan.params.backend (automatic: CUDA
/// when present). `graph` gives the affinities P (computed on that backend).
std::unique_ptr<Reducer> make_tsne(const KnnGraph& graph, const TsnePlan& plan);
/// The same, taking the graph: the CPU reducer reuses its distance array for
/// the conditional affinities and frees the graph once P is built (at 1M
/// points and k = 90 the graph is 720 MB).
std::unique_ptr<Reducer> make_tsne(KnnGraph&& graph, const TsnePlan& plan);
/// The CPU reducer.
std::unique_ptr<Reducer> make_tsne_cpu(const KnnGraph& graph, const TsnePlan& plan);
std::unique_ptr<Reducer> make_tsne_cpu(KnnGraph&& graph, const TsnePlan& plan);

/// plan_tsne + make_tsne / make_tsne_cpu.
std::unique_ptr<Reducer> make_tsne(const KnnGraph& graph, const Matrix* initial,
                                   const TsneParams& params);
std::unique_ptr<Reducer> make_tsne_cpu(const KnnGraph& graph, const Matrix* initial,
                                       const TsneParams& params);

/// Sparse symmetric joint probabilities P in CSR form (each row's entries sum
/// over all rows to 1 in total). Exposed for metrics (KL) and GPU tests.
struct SparseP {
  int64_t n = 0;
  std::vector<int64_t> row_ptr;  ///< n + 1
  std::vector<int32_t> col;      ///< nnz
  std::vector<float> val;        ///< nnz, sum of all = 1
};

/// Per-point Gaussian bandwidths by binary search to `perplexity` over the kNN
/// graph's (squared) distances, then P = (P_j|i + P_i|j) / 2N.
SparseP tsne_affinities(const KnnGraph& graph, double perplexity);

/// KL(P || Q) for an embedding y with Student-t Q (exact O(N^2) below 20k
/// points, Barnes-Hut normalisation above).
double tsne_kl_divergence(const SparseP& p, ConstView y);

}  // namespace prism
