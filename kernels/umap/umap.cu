// The GPU UMAP reducer. The fuzzy graph and the a/b fit come from the CPU
// stages (prism/umap.hpp: umap_fuzzy_graph, umap_find_ab), so both backends
// optimise exactly the same graph; the initial layout (spectral by subspace
// iteration on the GPU, or pca/random) and every SGD epoch run on the device.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <numbers>
#include <vector>

#include "core/rng.cuh"
#include "prism/cuda/api.hpp"
#include "umap/umap_internal.cuh"

namespace prism::cuda {
namespace detail {
namespace {

constexpr int kSpectralIterations = 300;

double uniform01(uint64_t seed, uint64_t stream, uint64_t counter) {
  return static_cast<double>(random_u64(seed, stream, counter) >> 11) * 0x1.0p-53;
}

// umap-learn's noisy_scale_coords: largest |coordinate| to 10, plus N(0, 1e-4^2).
void noisy_scale(std::vector<float>& y, uint64_t seed) {
  float mx = 0;
  for (float v : y) mx = std::max(mx, std::abs(v));
  const double s = mx > 0 ? 10.0 / mx : 1.0;
  for (size_t t = 0; t < y.size(); ++t) {
    const double u1 = 1.0 - uniform01(seed, 0x401e, 2 * t), u2 = uniform01(seed, 0x401e, 2 * t + 1);
    const double noise = std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
    y[t] = static_cast<float>(y[t] * s + 1e-4 * noise);
  }
}

// simplicial_set_embedding: each column mapped linearly onto [0, 10].
void rescale_to_box(std::vector<float>& y, int64_t n, int dims) {
  for (int d = 0; d < dims; ++d) {
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (int64_t i = 0; i < n; ++i) {
      lo = std::min(lo, y[i * dims + d]);
      hi = std::max(hi, y[i * dims + d]);
    }
    const float span = hi > lo ? hi - lo : 1.f;
    for (int64_t i = 0; i < n; ++i) y[i * dims + d] = 10.f * (y[i * dims + d] - lo) / span;
  }
}

std::vector<float> initial_layout(Context& ctx, const FuzzyGraph& g, const Matrix* initial,
                                  const UmapParams& p) {
  const int64_t n = g.n;
  std::vector<float> y;
  Init init = p.init;
  if (init == Init::spectral) {
    if (spectral_init_device(ctx, g, p.dims, p.seed, kSpectralIterations, y)) {
      noisy_scale(y, p.seed);
    } else {
      std::cerr << "prism: warning: GPU spectral initialisation failed; using a random layout\n";
      init = Init::random;
    }
  }
  if (init == Init::pca) {
    PRISM_EXPECTS(initial != nullptr, "UMAP with init 'pca' needs the initial layout (n x dims)");
    PRISM_EXPECTS(initial->rows() == n && initial->cols() == p.dims, "UMAP initial layout is ",
                  initial->rows(), " x ", initial->cols(), ", expected ", n, " x ", p.dims);
    y.assign(initial->data(), initial->data() + n * p.dims);
    noisy_scale(y, p.seed);
  }
  if (init == Init::random) {
    y.resize(static_cast<size_t>(n * p.dims));
    for (size_t t = 0; t < y.size(); ++t)
      y[t] = static_cast<float>(20.0 * uniform01(p.seed, 0x7a4d, t) - 10.0);
  }
  rescale_to_box(y, n, p.dims);
  return y;
}

class UmapCuda final : public Reducer {
 public:
  UmapCuda(std::shared_ptr<Context> ctx, const KnnGraph& knn, const Matrix* initial,
           const UmapParams& p)
      : ctx_(std::move(ctx)) {
    Context& c = *ctx_;
    const auto [a, b] = umap_find_ab(p.spread, p.min_dist);
    n_epochs_ = p.n_epochs > 0 ? p.n_epochs : (knn.n <= 10000 ? 500 : 200);
    lr_ = static_cast<float>(p.learning_rate);
    n_ = knn.n;
    dims_ = p.dims;
    const FuzzyGraph g = umap_prune_graph(umap_fuzzy_graph(knn, p), n_epochs_);
    const std::vector<float> y0 = initial_layout(c, g, initial, p);

    // Edges in CSR order (by head) and umap-learn's make_epochs_per_sample.
    const int64_t edges = g.row_ptr[g.n];
    std::vector<int32_t> head(edges);
    for (int64_t i = 0; i < g.n; ++i)
      for (int64_t e = g.row_ptr[i]; e < g.row_ptr[i + 1]; ++e) head[e] = static_cast<int32_t>(i);
    float wmax = 0;
    for (float w : g.val) wmax = std::max(wmax, w);
    std::vector<float> eps(edges, -1.f), eps_neg(edges);
    for (int64_t e = 0; e < edges; ++e) {
      const double n_samples = static_cast<double>(n_epochs_) * (g.val[e] / wmax);
      if (n_samples > 0) eps[e] = static_cast<float>(n_epochs_ / n_samples);
      eps_neg[e] = p.negative_sample_rate > 0 ? eps[e] / p.negative_sample_rate
                                              : std::numeric_limits<float>::infinity();
    }
    s_.n = n_;
    s_.edges = edges;
    s_.dims = dims_;
    s_.a = static_cast<float>(a);
    s_.b = static_cast<float>(b);
    s_.gamma = static_cast<float>(p.repulsion_strength);
    s_.seed = p.seed;
    s_.deterministic = p.deterministic;
    s_.head.reset(c, edges, "UMAP edges");
    s_.tail.reset(c, edges, "UMAP edges");
    s_.epochs_per_sample.reset(c, edges, "UMAP schedule");
    s_.next_sample.reset(c, edges, "UMAP schedule");
    s_.epochs_per_negative.reset(c, edges, "UMAP schedule");
    s_.next_negative.reset(c, edges, "UMAP schedule");
    s_.head.upload(head.data(), edges);
    s_.tail.upload(g.col.data(), edges);
    s_.epochs_per_sample.upload(eps.data(), edges);
    s_.next_sample.upload(eps.data(), edges);
    s_.epochs_per_negative.upload(eps_neg.data(), edges);
    s_.next_negative.upload(eps_neg.data(), edges);
    if (p.deterministic) {
      s_.grad_fixed.reset(c, checked_mul(n_, dims_), "UMAP deterministic gradients");
      s_.grad_fixed.fill_zero();
    }
    y_.reset(c, checked_mul(n_, dims_), "UMAP layout");
    y_.upload(y0.data(), checked_mul(n_, dims_));
    c.sync();
  }

  int64_t total_steps() const override { return n_epochs_; }
  int64_t steps_done() const override { return done_; }
  Backend backend() const override { return Backend::cuda; }

  void step() override {
    if (done()) return;
    const float alpha =
        lr_ * (1.0f - static_cast<float>(done_) / static_cast<float>(n_epochs_));
    launch_sgd_epoch(*ctx_, s_, y_.data(), static_cast<int>(done_), alpha);
    ++done_;
  }

  ConstView embedding() override {
    if (out_iter_ != done_ || out_.rows() != n_) {
      if (out_.rows() != n_) out_ = Matrix(n_, dims_);
      y_.download(out_.data(), checked_mul(n_, dims_));
      ctx_->sync();
      out_iter_ = done_;
    }
    return out_.view();
  }

 private:
  std::shared_ptr<Context> ctx_;  // first: outlives the buffers
  int64_t n_ = 0;
  int dims_ = 2;
  int n_epochs_ = 200;
  float lr_ = 1.f;
  SgdState s_;
  DeviceBuffer<float> y_;
  int64_t done_ = 0;
  Matrix out_;
  int64_t out_iter_ = -1;
};

}  // namespace
}  // namespace detail

std::unique_ptr<Reducer> make_umap(const KnnGraph& graph, const Matrix* initial,
                                   const UmapParams& p) {
  PRISM_EXPECTS(p.dims == 2 || p.dims == 3, "GPU UMAP embeds in 2 or 3 dimensions, got dims = ",
                p.dims, "; use --backend cpu for others");
  PRISM_EXPECTS(p.n_epochs >= 0, "UMAP n_epochs must be >= 0 (0: automatic), got ", p.n_epochs);
  PRISM_EXPECTS(p.learning_rate > 0, "UMAP learning_rate must be > 0, got ", p.learning_rate);
  PRISM_EXPECTS(p.negative_sample_rate >= 0, "UMAP negative_sample_rate must be >= 0");
  PRISM_EXPECTS(p.repulsion_strength >= 0, "UMAP repulsion_strength must be >= 0");
  PRISM_EXPECTS(graph.n >= 2 && graph.n <= INT32_MAX, "UMAP needs 2 .. 2^31 - 1 points, got ",
                graph.n);
  return std::make_unique<detail::UmapCuda>(Context::shared(), graph, initial, p);
}

}  // namespace prism::cuda
