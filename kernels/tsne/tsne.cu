// The GPU t-SNE reducer: P once, then per step() one iteration entirely on the
// device (tree, repulsion, Z, attraction, update, re-centring: no host sync),
// with the CPU reducer's schedule (engine/src/tsne/tsne_cpu.cpp): early
// exaggeration with momentum 0.5, then exaggeration 1 and momentum 0.8, the
// momentum buffer restarting between the phases, gains kept.
#include <cmath>
#include <numbers>
#include <vector>

#include "prism/cuda/api.hpp"
#include "prism/random.hpp"
#include "tsne/tsne_internal.cuh"

namespace prism::cuda {
namespace detail {
namespace {



void check_params(const TsneParams& p) {
  PRISM_EXPECTS(p.dims == 2 || p.dims == 3, "t-SNE embeds in 2 or 3 dimensions, got dims = ", p.dims);
  PRISM_EXPECTS(p.theta >= 0 && std::isfinite(p.theta), "t-SNE theta must be >= 0 (0: exact), got ",
                p.theta);
  PRISM_EXPECTS(p.n_iter >= 0, "t-SNE n_iter must be >= 0, got ", p.n_iter);
  PRISM_EXPECTS(p.exaggeration_iter >= 0, "t-SNE exaggeration_iter must be >= 0, got ",
                p.exaggeration_iter);
  PRISM_EXPECTS(p.early_exaggeration > 0, "t-SNE early_exaggeration must be > 0, got ",
                p.early_exaggeration);
  PRISM_EXPECTS(p.learning_rate >= 0, "t-SNE learning_rate must be > 0, or 0 for auto; got ",
                p.learning_rate);
  PRISM_EXPECTS(p.momentum >= 0 && p.momentum < 1 && p.final_momentum >= 0 && p.final_momentum < 1,
                "t-SNE momentum must be in [0, 1), got ", p.momentum, " and ", p.final_momentum);
  PRISM_EXPECTS(p.min_gain >= 0, "t-SNE min_gain must be >= 0, got ", p.min_gain);
  PRISM_EXPECTS(p.init == Init::pca || p.init == Init::random,
                "t-SNE starts from init 'pca' or 'random', not '", to_string(p.init), "'");
}

// The CPU reducer's initial layout, bit for bit in double, then rounded to float.
std::vector<float> initial_layout(int64_t n, int dims, const Matrix* initial, const TsneParams& p) {
  std::vector<double> y(static_cast<size_t>(checked_mul(n, dims)));
  if (p.init == Init::random) {
    for (int64_t i = 0; i < n; ++i) {
      uint64_t state = splitmix64(p.seed ^ splitmix64(static_cast<uint64_t>(i)));
      for (int d = 0; d < dims; ++d) {
        state = splitmix64(state);
        const double u1 = unit_interval(state);
        state = splitmix64(state);
        const double u2 = unit_interval(state);
        y[i * dims + d] =
            1e-4 * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
      }
    }
  } else {
    PRISM_EXPECTS(initial != nullptr, "t-SNE with init 'pca' needs the initial layout (n x dims)");
    PRISM_EXPECTS(initial->rows() == n && initial->cols() == dims, "t-SNE initial layout is ",
                  initial->rows(), " x ", initial->cols(), ", expected ", n, " x ", dims);
    for (int64_t t = 0; t < n * dims; ++t) {
      y[t] = initial->data()[t];
      PRISM_EXPECTS(std::isfinite(y[t]), "t-SNE initial layout has a non-finite value at row ",
                    t / dims);
    }
  }
  double mean[3] = {};
  for (int64_t i = 0; i < n; ++i)
    for (int d = 0; d < dims; ++d) mean[d] += y[i * dims + d];
  for (int64_t i = 0; i < n; ++i)
    for (int d = 0; d < dims; ++d) y[i * dims + d] -= mean[d] / static_cast<double>(n);
  if (p.init == Init::pca) {
    // First column to std 1e-4 (openTSNE's rescale, Kobak & Berens 2019).
    double var = 0;
    for (int64_t i = 0; i < n; ++i) var += y[i * dims] * y[i * dims];
    const double sd = std::sqrt(var / static_cast<double>(n));
    PRISM_EXPECTS(sd > 0, "t-SNE initial layout's first column is constant; use init 'random'");
    for (double& v : y) v *= 1e-4 / sd;
  }
  return std::vector<float>(y.begin(), y.end());
}

class TsneCuda final : public Reducer {
 public:
  TsneCuda(std::shared_ptr<Context> ctx, const KnnGraph& graph, const Matrix* initial,
           const TsneParams& params)
      : ctx_(std::move(ctx)),
        par_(params),
        n_(graph.n),
        dims_(params.dims),
        p_(tsne_affinities_device(*ctx_, graph, params.perplexity)),
        tree_(*ctx_, graph.n, params.dims) {
    Context& c = *ctx_;
    const int64_t m = checked_mul(n_, dims_);
    const std::vector<float> y0 = initial_layout(n_, dims_, initial, par_);
    y_.reset(c, m, "t-SNE layout");
    y_.upload(y0.data(), m);
    update_.reset(c, m, "t-SNE update");
    update_.fill_zero();
    gains_.reset(c, m, "t-SNE gains");
    const std::vector<float> ones(static_cast<size_t>(m), 1.f);
    gains_.upload(ones.data(), m);
    attr_.reset(c, m, "t-SNE attraction");
    rep_.reset(c, m, "t-SNE repulsion");
    z_.reset(c, 1, "t-SNE Z");
    kl_sum_.reset(c, 1, "t-SNE KL");
    lr_ = par_.learning_rate > 0 ? par_.learning_rate
                                 : std::max(static_cast<double>(n_) / par_.early_exaggeration, 50.0);
    c.sync();  // the host vectors above die here
  }

  int64_t total_steps() const override { return par_.n_iter; }
  int64_t steps_done() const override { return iter_; }
  Backend backend() const override { return Backend::cuda; }

  void step() override {
    if (iter_ >= par_.n_iter) return;
    Context& c = *ctx_;
    const bool early = iter_ < par_.exaggeration_iter;
    if (iter_ == par_.exaggeration_iter && iter_ > 0) update_.fill_zero();
    tree_.build(y_.data());
    tree_.repulsion(y_.data(), par_.theta, rep_.data(), z_.data());
    launch_attraction(c, p_, y_.data(), dims_,
                      static_cast<float>(early ? par_.early_exaggeration : 1.0), attr_.data());
    launch_gradient_step(c, y_.data(), attr_.data(), rep_.data(), z_.data(), update_.data(),
                         gains_.data(), checked_mul(n_, dims_), static_cast<float>(lr_),
                         static_cast<float>(early ? par_.momentum : par_.final_momentum),
                         static_cast<float>(par_.min_gain));
    launch_recentre(c, y_.data(), n_, dims_);
    ++iter_;
  }

  ConstView embedding() override {
    if (out_iter_ != iter_ || out_.rows() != n_) {
      if (out_.rows() != n_) out_ = Matrix(n_, dims_);
      y_.download(out_.data(), checked_mul(n_, dims_));
      ctx_->sync();
      out_iter_ = iter_;
    }
    return out_.view();
  }

  // KL(P || Q) at the current layout, exaggeration off: a Z-only tree pass and
  // a pass over P, cached per step (as the CPU reducer).
  double objective() override {
    if (kl_iter_ != iter_) {
      Context& c = *ctx_;
      tree_.build(y_.data());
      tree_.repulsion(y_.data(), par_.theta, rep_.data(), z_.data());
      launch_kl_terms(c, p_, y_.data(), dims_, kl_sum_.data());
      double z = 0, s = 0;
      z_.download(&z, 1);
      kl_sum_.download(&s, 1);
      c.sync();
      // P sums to 1 up to float rounding of its entries.
      kl_ = s + std::log(z);
      kl_iter_ = iter_;
    }
    return kl_;
  }

 private:
  std::shared_ptr<Context> ctx_;  // first: outlives every buffer below
  TsneParams par_;
  int64_t n_;
  int dims_;
  DeviceP p_;
  BhTree tree_;
  DeviceBuffer<float> y_, update_, gains_, attr_, rep_;
  DeviceBuffer<double> z_, kl_sum_;
  double lr_ = 0;
  int64_t iter_ = 0;
  Matrix out_;
  int64_t out_iter_ = -1;
  double kl_ = 0;
  int64_t kl_iter_ = -1;
};

}  // namespace
}  // namespace detail

std::unique_ptr<Reducer> make_tsne(const KnnGraph& graph, const Matrix* initial,
                                   const TsneParams& params) {
  detail::check_params(params);
  return std::make_unique<detail::TsneCuda>(Context::shared(), graph, initial, params);
}

}  // namespace prism::cuda
