// The GPU t-SNE reducer: executes the engine's TsnePlan (prism/tsne.hpp: the
// checked parameters, the learning rate, the initial layout and the schedule,
// shared with the CPU reducer). P once, then per step() one iteration entirely
// on the device (tree, repulsion, Z, attraction, update, re-centring: no host
// sync).
#include <cmath>
#include <vector>

#include "prism/cuda/api.hpp"
#include "tsne/tsne_internal.cuh"

namespace prism::cuda {
namespace detail {
namespace {

class TsneCuda final : public Reducer {
 public:
  TsneCuda(std::shared_ptr<Context> ctx, const KnnGraph& graph, const TsnePlan& plan)
      : ctx_(std::move(ctx)),
        params_(plan.params),
        schedule_{plan.params, plan.n, {}},
        n_(graph.n),
        dims_(plan.dims()),
        p_(tsne_affinities_device(*ctx_, graph, plan.params.perplexity)),
        tree_(*ctx_, graph.n, plan.dims()) {
    PRISM_CHECK(plan.n == graph.n, "t-SNE plan for ", plan.n, " points, graph of ", graph.n);
    Context& c = *ctx_;
    const int64_t m = checked_mul(n_, dims_);
    const std::vector<float> y0(plan.initial.begin(), plan.initial.end());
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
    c.sync();  // the host vectors above die here
  }

  int64_t total_steps() const override { return params_.max_iter; }
  int64_t steps_done() const override { return iter_; }
  Backend backend() const override { return Backend::cuda; }

  void step() override {
    if (iter_ >= params_.max_iter) return;
    Context& c = *ctx_;
    if (schedule_.restarts_momentum(iter_)) update_.fill_zero();
    tree_.build(y_.data());
    tree_.repulsion(y_.data(), params_.theta, rep_.data(), z_.data());
    launch_attraction(c, p_, y_.data(), dims_, static_cast<float>(schedule_.exaggeration(iter_)),
                      attr_.data());
    launch_gradient_step(c, y_.data(), attr_.data(), rep_.data(), z_.data(), update_.data(),
                         gains_.data(), checked_mul(n_, dims_),
                         static_cast<float>(params_.learning_rate),
                         static_cast<float>(schedule_.momentum(iter_)),
                         static_cast<float>(params_.min_gain));
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
      tree_.repulsion(y_.data(), params_.theta, rep_.data(), z_.data());
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
  const TsneParams params_;       // the plan's (checked, learning rate resolved)
  const TsnePlan schedule_;       // the plan without its initial layout
  int64_t n_;
  int dims_;
  DeviceP p_;
  BhTree tree_;
  DeviceBuffer<float> y_, update_, gains_, attr_, rep_;
  DeviceBuffer<double> z_, kl_sum_;
  int64_t iter_ = 0;
  Matrix out_;
  int64_t out_iter_ = -1;
  double kl_ = 0;
  int64_t kl_iter_ = -1;
};

}  // namespace
}  // namespace detail

std::unique_ptr<Reducer> make_tsne(const KnnGraph& graph, const TsnePlan& plan) {
  return std::make_unique<detail::TsneCuda>(Context::shared(), graph, plan);
}

}  // namespace prism::cuda
