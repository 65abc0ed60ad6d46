// The CPU t-SNE reducer: affinities once, then one gradient-descent iteration
// per step() with the schedule of openTSNE / Kobak & Berens 2019 (early
// exaggeration with momentum 0.5, then exaggeration 1 with momentum 0.8, the
// momentum buffer restarting between the phases, the gains kept).
#include <cmath>
#include <algorithm>
#include <numbers>

#include "prism/random.hpp"
#include "tsne/stages.hpp"

namespace prism {

namespace {



void check_params(const TsneParams& p) {
  PRISM_EXPECTS(p.dims == 2 || p.dims == 3, "t-SNE embeds in 2 or 3 dimensions, got dims = ", p.dims);
  PRISM_EXPECTS(p.theta >= 0 && std::isfinite(p.theta), "t-SNE theta must be >= 0 (0: exact), got ", p.theta);
  PRISM_EXPECTS(p.n_iter >= 0, "t-SNE n_iter must be >= 0, got ", p.n_iter);
  PRISM_EXPECTS(p.exaggeration_iter >= 0, "t-SNE exaggeration_iter must be >= 0, got ", p.exaggeration_iter);
  PRISM_EXPECTS(p.early_exaggeration > 0, "t-SNE early_exaggeration must be > 0, got ", p.early_exaggeration);
  PRISM_EXPECTS(p.learning_rate >= 0, "t-SNE learning_rate must be > 0, or 0 for auto; got ", p.learning_rate);
  PRISM_EXPECTS(p.momentum >= 0 && p.momentum < 1 && p.final_momentum >= 0 && p.final_momentum < 1,
                "t-SNE momentum must be in [0, 1), got ", p.momentum, " and ", p.final_momentum);
  PRISM_EXPECTS(p.min_gain >= 0, "t-SNE min_gain must be >= 0, got ", p.min_gain);
  PRISM_EXPECTS(p.init == Init::pca || p.init == Init::random,
                "t-SNE starts from init 'pca' or 'random', not '", to_string(p.init), "'");
}

class TsneCpu final : public Reducer {
 public:
  TsneCpu(const KnnGraph& graph, const Matrix* initial, const TsneParams& params)
      : par_(params), n_(graph.n), dims_(params.dims) {
    {
      const SparseP p = tsne_affinities(graph, params.perplexity);
      order_ = tsne::locality_order(p);
      p_ = tsne::permute(p, order_);
    }
    for (float v : p_.val) p_sum_ += v;
    p_log_p_ = tsne::sum_p_log_p(p_);
    const int64_t m = checked_mul(n_, dims_);
    y_.resize(m);
    update_.assign(m, 0.0);
    gains_.assign(m, 1.0);
    grad_.resize(m);
    scratch_.resize(m);
    init_layout(initial);
    lr_ = par_.learning_rate > 0 ? par_.learning_rate
                                 : std::max(static_cast<double>(n_) / par_.early_exaggeration, 50.0);
  }

  int64_t total_steps() const override { return par_.n_iter; }
  int64_t steps_done() const override { return iter_; }
  Backend backend() const override { return Backend::cpu; }

  void step() override {
    if (iter_ >= par_.n_iter) return;
    const bool early = iter_ < par_.exaggeration_iter;
    if (iter_ == par_.exaggeration_iter && iter_ > 0) std::fill(update_.begin(), update_.end(), 0.0);
    tsne::kl_gradient(p_, y_.data(), dims_, par_.theta, early ? par_.early_exaggeration : 1.0,
                      grad_.data(), scratch_.data());
    tsne::gradient_step(y_.data(), grad_.data(), update_.data(), gains_.data(), n_, dims_, lr_,
                        early ? par_.momentum : par_.final_momentum, par_.min_gain);
    ++iter_;
  }

  ConstView embedding() override {
    if (out_iter_ != iter_ || out_.rows() != n_) {
      if (out_.rows() != n_) out_ = Matrix(n_, dims_);
      // Back to the caller's numbering.
      for (int64_t r = 0; r < n_; ++r)
        for (int d = 0; d < dims_; ++d) out_(order_[r], d) = static_cast<float>(y_[r * dims_ + d]);
      out_iter_ = iter_;
    }
    return out_.view();
  }

  // KL(P || Q) at the current layout, exaggeration off: one Z-only tree pass
  // and one pass over P (about the cost of one iteration), cached per step.
  double objective() override {
    if (kl_iter_ != iter_) {
      const double z = tsne::repulsive_forces(y_.data(), n_, dims_, par_.theta, nullptr).z;
      kl_ = p_log_p_ + tsne::sum_p_log1p_d2(p_, y_.data(), dims_) + std::log(z) * p_sum_;
      kl_iter_ = iter_;
    }
    return kl_;
  }

 private:
  // The layout is made in the caller's numbering (so it does not depend on
  // the internal one), then renumbered.
  void init_layout(const Matrix* initial) {
    std::vector<double> y(y_.size());
    make_layout(initial, y);
    for (int64_t r = 0; r < n_; ++r)
      for (int d = 0; d < dims_; ++d) y_[r * dims_ + d] = y[int64_t(order_[r]) * dims_ + d];
  }

  void make_layout(const Matrix* initial, std::vector<double>& y) {
    if (par_.init == Init::random) {
      // One stream per point: the same layout for any thread count. Box-Muller
      // turns two uniforms into one normal per coordinate; std 1e-4 as openTSNE.
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n_; ++i) {
        uint64_t state = splitmix64(par_.seed ^ splitmix64(static_cast<uint64_t>(i)));
        for (int d = 0; d < dims_; ++d) {
          state = splitmix64(state);
          const double u1 = unit_interval(state);
          state = splitmix64(state);
          const double u2 = unit_interval(state);
          y[i * dims_ + d] = 1e-4 * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
        }
      }
      tsne::recentre(y.data(), n_, dims_);
      return;
    }
    PRISM_EXPECTS(initial != nullptr, "t-SNE with init 'pca' needs the initial layout (n x dims)");
    PRISM_EXPECTS(initial->rows() == n_ && initial->cols() == dims_, "t-SNE initial layout is ",
                  initial->rows(), " x ", initial->cols(), ", expected ", n_, " x ", dims_);
    for (int64_t t = 0; t < n_ * dims_; ++t) {
      y[t] = initial->data()[t];
      PRISM_EXPECTS(std::isfinite(y[t]), "t-SNE initial layout has a non-finite value at row ",
                    t / dims_);
    }
    tsne::recentre(y.data(), n_, dims_);
    // Scale so the first column has std 1e-4 (openTSNE's rescale; Kobak & Berens):
    // large initial distances would otherwise start in the heavy-tailed regime.
    double var = 0;
    for (int64_t i = 0; i < n_; ++i) var += y[i * dims_] * y[i * dims_];
    const double sd = std::sqrt(var / static_cast<double>(n_));
    PRISM_EXPECTS(sd > 0, "t-SNE initial layout's first column is constant; use init 'random'");
    const double s = 1e-4 / sd;
    for (double& v : y) v *= s;
  }

  TsneParams par_;
  SparseP p_;                   // renumbered by order_
  std::vector<int32_t> order_;  // order_[internal] = caller's index
  int64_t n_;
  int dims_;
  double lr_ = 0;
  int64_t iter_ = 0;
  std::vector<double> y_, update_, gains_, grad_, scratch_;
  Matrix out_;
  int64_t out_iter_ = -1;
  double p_sum_ = 0;    // sum of P (1 up to float rounding)
  double p_log_p_ = 0;  // sum p log p, the constant part of KL
  double kl_ = 0;
  int64_t kl_iter_ = -1;
};

}  // namespace

std::unique_ptr<Reducer> make_tsne_cpu(const KnnGraph& graph, const Matrix* initial,
                                       const TsneParams& params) {
  check_params(params);
  return std::make_unique<TsneCpu>(graph, initial, params);
}

}  // namespace prism
