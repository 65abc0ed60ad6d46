// The CPU t-SNE reducer: executes a TsnePlan (prism/tsne.hpp). Affinities once,
// then one gradient-descent iteration per step() on the plan's schedule.
#include <algorithm>
#include <cmath>

#include "tsne/stages.hpp"

namespace prism {

namespace {

class TsneCpu final : public Reducer {
 public:
  TsneCpu(const KnnGraph& graph, const TsnePlan& plan) : TsneCpu(plan, graph.n) {
    build(graph, tsne::calibrate_perplexity(graph, params_.perplexity), plan);
  }
  // Takes the graph: the conditional P overwrites its distances, and the
  // graph is gone once P is built.
  TsneCpu(KnnGraph&& graph, const TsnePlan& plan) : TsneCpu(plan, graph.n) {
    KnnGraph g = std::move(graph);
    tsne::ConditionalP c = tsne::calibrate_perplexity_in_place(g, params_.perplexity);
    build(g, std::move(c), plan);
  }

  int64_t total_steps() const override { return params_.max_iter; }
  int64_t steps_done() const override { return iter_; }
  Backend backend() const override { return Backend::cpu; }

  void step() override {
    if (iter_ >= params_.max_iter) return;
    if (schedule_.restarts_momentum(iter_)) std::fill(update_.begin(), update_.end(), 0.0);
    tsne::kl_gradient(p_, y_.data(), dims_, repulsion_, schedule_.exaggeration(iter_), grad_.data(),
                      scratch_.data());
    tsne::gradient_step(y_.data(), grad_.data(), update_.data(), gains_.data(), n_, dims_,
                        params_.learning_rate, schedule_.momentum(iter_), params_.min_gain);
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

  // KL(P || Q) at the current layout, exaggeration off: one Z-only repulsion
  // pass (tree or grid) and one pass over P (about the cost of one
  // iteration), cached per step.
  double objective() override {
    if (kl_iter_ != iter_) {
      const double z = repulsion_(y_.data(), n_, nullptr).z;
      kl_ = p_log_p_ + tsne::sum_p_log1p_d2(p_, y_.data(), dims_) + std::log(z) * p_sum_;
      kl_iter_ = iter_;
    }
    return kl_;
  }

 private:
  TsneCpu(const TsnePlan& plan, int64_t graph_n)
      : params_(plan.params),
        schedule_{plan.params, plan.n, {}},
        n_(graph_n),
        dims_(plan.dims()),
        repulsion_(plan.method_on(Backend::cpu), plan.dims(), plan.params.theta) {
    PRISM_CHECK(plan.n == graph_n, "t-SNE plan for ", plan.n, " points, graph of ", graph_n);
  }

  // P straight in the optimiser's numbering (no second copy), then the state.
  void build(const KnnGraph& graph, tsne::ConditionalP cond, const TsnePlan& plan) {
    order_ = tsne::locality_order(graph);
    p_ = tsne::symmetrize(graph, cond, &order_);
    cond = {};
    for (float v : p_.val) p_sum_ += v;
    p_log_p_ = tsne::sum_p_log_p(p_);
    const int64_t m = checked_mul(n_, dims_);
    y_.resize(m);
    update_.assign(m, 0.0);
    gains_.assign(m, 1.0);
    grad_.resize(m);
    scratch_.resize(m);
    // The plan's layout is in the caller's numbering; the optimiser works in order_'s.
    for (int64_t r = 0; r < n_; ++r)
      for (int d = 0; d < dims_; ++d) y_[r * dims_ + d] = plan.initial[int64_t(order_[r]) * dims_ + d];
  }

  const TsneParams params_;     // the plan's (checked, learning rate resolved)
  const TsnePlan schedule_;     // the plan without its initial layout
  SparseP p_;                   // renumbered by order_
  std::vector<int32_t> order_;  // order_[internal] = caller's index
  int64_t n_;
  int dims_;
  tsne::Repulsion repulsion_;   // Barnes-Hut or FFT, as the plan resolves for the CPU
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

std::unique_ptr<Reducer> make_tsne_cpu(const KnnGraph& graph, const TsnePlan& plan) {
  return std::make_unique<TsneCpu>(graph, plan);
}

std::unique_ptr<Reducer> make_tsne_cpu(KnnGraph&& graph, const TsnePlan& plan) {
  return std::make_unique<TsneCpu>(std::move(graph), plan);
}

}  // namespace prism
