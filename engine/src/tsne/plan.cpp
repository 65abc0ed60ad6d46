// The t-SNE policy, written once for every backend: parameter checks, the k of
// the kNN graph, the learning rate, the initial layout and the schedule
// (TsnePlan in prism/tsne.hpp). The reducers only execute it.
#include <algorithm>
#include <cmath>

#include "prism/random.hpp"
#include "tsne/stages.hpp"

namespace prism {

TsneMethod parse_tsne_method(const std::string& s) {
  if (s == "auto" || s == "automatic") return TsneMethod::automatic;
  if (s == "bh" || s == "barnes_hut" || s == "barnes-hut") return TsneMethod::barnes_hut;
  if (s == "fft") return TsneMethod::fft;
  throw InputError(cat("unknown t-SNE method '", s, "': expected auto, bh or fft"));
}

const char* to_string(TsneMethod m) {
  switch (m) {
    case TsneMethod::automatic: return "auto";
    case TsneMethod::barnes_hut: return "bh";
    case TsneMethod::fft: return "fft";
  }
  return "?";
}

void check_tsne_params(const TsneParams& p, int64_t n) {
  PRISM_EXPECTS(p.dims == 2 || p.dims == 3, "t-SNE embeds in 2 or 3 dimensions, got dims = ", p.dims);
  PRISM_EXPECTS(p.method == TsneMethod::automatic || p.method == TsneMethod::barnes_hut ||
                    p.method == TsneMethod::fft,
                "t-SNE method must be auto, bh or fft");
  PRISM_EXPECTS(p.method != TsneMethod::fft || p.dims == 2,
                "t-SNE method 'fft' is 2D only (its interpolation grid would grow with the cube of the "
                "layout's extent in 3D); use tsne_method 'bh' or 'auto' for ", p.dims, "D");
  PRISM_EXPECTS(std::isfinite(p.perplexity) && p.perplexity > 0, "t-SNE perplexity must be > 0, got ",
                p.perplexity);
  PRISM_EXPECTS(n >= 2, "t-SNE needs at least 2 points, got ", n);
  PRISM_EXPECTS(3 * p.perplexity < static_cast<double>(n), "t-SNE perplexity ", p.perplexity,
                " is too large for ", n, " points: it needs 3 * perplexity < N (at most ",
                std::max(1.0, std::ceil(static_cast<double>(n) / 3.0) - 1), " here)");
  PRISM_EXPECTS(p.theta >= 0 && std::isfinite(p.theta), "t-SNE angle (theta) must be >= 0 (0: exact), got ",
                p.theta);
  PRISM_EXPECTS(p.max_iter >= 0, "t-SNE max_iter must be >= 0, got ", p.max_iter);
  PRISM_EXPECTS(p.early_exaggeration_iter >= 0, "t-SNE early_exaggeration_iter must be >= 0, got ",
                p.early_exaggeration_iter);
  PRISM_EXPECTS(p.early_exaggeration > 0 && std::isfinite(p.early_exaggeration),
                "t-SNE early_exaggeration must be > 0, got ", p.early_exaggeration);
  PRISM_EXPECTS(p.learning_rate >= 0 && std::isfinite(p.learning_rate),
                "t-SNE learning_rate must be > 0, or 0 for auto; got ", p.learning_rate);
  PRISM_EXPECTS(p.initial_momentum >= 0 && p.initial_momentum < 1 && p.final_momentum >= 0 &&
                    p.final_momentum < 1,
                "t-SNE momentum must be in [0, 1), got ", p.initial_momentum, " and ", p.final_momentum);
  PRISM_EXPECTS(p.min_gain >= 0, "t-SNE min_gain must be >= 0, got ", p.min_gain);
  PRISM_EXPECTS(p.init == Init::pca || p.init == Init::random,
                "t-SNE starts from init 'pca' or 'random', not '", to_string(p.init), "'");
  PRISM_EXPECTS(p.pca_dims >= 0, "t-SNE pca_dims must be >= 0 (0: never), got ", p.pca_dims);
}

TsneMethod TsnePlan::method_on(Backend backend) const {
  if (backend == Backend::cuda) {
    PRISM_EXPECTS(params.method != TsneMethod::fft,
                  "t-SNE method 'fft' runs on the CPU only: use backend 'cpu', or tsne_method 'bh' (or "
                  "'auto') on the GPU");
    return TsneMethod::barnes_hut;
  }
  if (params.method != TsneMethod::automatic) return params.method;
  return params.dims == 2 && n >= kTsneFftMinPoints ? TsneMethod::fft : TsneMethod::barnes_hut;
}

int tsne_neighbors(const TsneParams& p, int64_t n) {
  return static_cast<int>(std::min<double>(static_cast<double>(n - 1), std::ceil(3 * p.perplexity)));
}

namespace {

constexpr uint64_t kRandomStartStream = 0x75E0;

// init random: N(0, 1e-4^2) per coordinate (openTSNE), one counter-based
// stream per point, so the layout does not depend on the thread count.
std::vector<double> random_start(int64_t n, int dims, uint64_t seed) {
  std::vector<double> y(static_cast<size_t>(checked_mul(n, dims)));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    Rng rng(seed, kRandomStartStream, static_cast<uint64_t>(i));
    for (int d = 0; d < dims; ++d) y[i * dims + d] = 1e-4 * rng.normal();
  }
  return y;
}

// init pca: the given layout, its first column scaled to std 1e-4 (openTSNE's
// rescale; Kobak & Berens): large initial distances would otherwise start in
// the heavy-tailed regime.
std::vector<double> scaled_start(const Matrix& initial, int64_t n, int dims) {
  PRISM_EXPECTS(initial.rows() == n && initial.cols() == dims, "t-SNE initial layout is ",
                initial.rows(), " x ", initial.cols(), ", expected ", n, " x ", dims);
  std::vector<double> y(static_cast<size_t>(checked_mul(n, dims)));
  for (int64_t t = 0; t < n * dims; ++t) {
    y[t] = initial.data()[t];
    PRISM_EXPECTS(std::isfinite(y[t]), "t-SNE initial layout has a non-finite value at row ", t / dims);
  }
  tsne::recentre(y.data(), n, dims);
  double var = 0;
  for (int64_t i = 0; i < n; ++i) var += y[i * dims] * y[i * dims];
  const double sd = std::sqrt(var / static_cast<double>(n));
  PRISM_EXPECTS(sd > 0, "t-SNE initial layout's first column is constant; use init 'random'");
  for (double& v : y) v *= 1e-4 / sd;
  return y;
}

}  // namespace

TsnePlan plan_tsne(const KnnGraph& graph, const Matrix* initial, const TsneParams& params) {
  check_tsne_params(params, graph.n);
  check_knn_graph(graph, "t-SNE");
  TsnePlan plan;
  plan.params = params;
  plan.n = graph.n;
  if (plan.params.learning_rate <= 0)  // auto (Belkina et al. 2019, openTSNE's "auto")
    plan.params.learning_rate = std::max(static_cast<double>(graph.n) / params.early_exaggeration, 50.0);
  if (params.init == Init::random) {
    plan.initial = random_start(graph.n, params.dims, params.seed);
    tsne::recentre(plan.initial.data(), graph.n, params.dims);
  } else {
    PRISM_EXPECTS(initial != nullptr, "t-SNE with init 'pca' needs the initial layout (n x dims)");
    plan.initial = scaled_start(*initial, graph.n, params.dims);
  }
  return plan;
}

std::unique_ptr<Reducer> make_tsne_cpu(const KnnGraph& graph, const Matrix* initial,
                                       const TsneParams& params) {
  return make_tsne_cpu(graph, plan_tsne(graph, initial, params));
}

}  // namespace prism
