// The GPU UMAP reducer: executes the engine's UmapPlan (prism/umap.hpp: the
// checked parameters, the pruned fuzzy graph, a/b, the sampling schedule and
// the initial layout, shared with the CPU reducer), every SGD epoch on the
// device. The plan's spectral initialisation can run here too
// (umap_spectral_layout, block subspace iteration in spectral.cu).
#include <algorithm>
#include <vector>

#include "prism/cuda/api.hpp"
#include "umap/umap_internal.cuh"

namespace prism::cuda {
namespace detail {
namespace {

constexpr int kSpectralIterations = 300;

class UmapCuda final : public Reducer {
 public:
  UmapCuda(std::shared_ptr<Context> ctx, UmapPlan plan)
      : ctx_(std::move(ctx)), schedule_{.params = plan.params}, n_(plan.n()), dims_(plan.params.dims) {
    Context& c = *ctx_;
    const FuzzyGraph& g = plan.graph;
    // Edges in CSR order, with their heads.
    const int64_t edges = g.row_ptr[g.n];
    std::vector<int32_t> head(edges);
    for (int64_t i = 0; i < g.n; ++i)
      for (int64_t e = g.row_ptr[i]; e < g.row_ptr[i + 1]; ++e) head[e] = static_cast<int32_t>(i);
    const UmapSchedule& clock = plan.schedule;
    sgd_.n = n_;
    sgd_.edges = edges;
    sgd_.dims = dims_;
    sgd_.a = static_cast<float>(plan.a);
    sgd_.b = static_cast<float>(plan.b);
    sgd_.gamma = static_cast<float>(plan.params.repulsion_strength);
    sgd_.seed = plan.params.seed;
    sgd_.deterministic = plan.params.deterministic;
    sgd_.head.reset(c, edges, "UMAP edges");
    sgd_.tail.reset(c, edges, "UMAP edges");
    sgd_.epochs_per_sample.reset(c, edges, "UMAP schedule");
    sgd_.next_sample.reset(c, edges, "UMAP schedule");
    sgd_.epochs_per_negative.reset(c, edges, "UMAP schedule");
    sgd_.next_negative.reset(c, edges, "UMAP schedule");
    sgd_.head.upload(head.data(), edges);
    sgd_.tail.upload(g.col.data(), edges);
    sgd_.epochs_per_sample.upload(clock.epochs_per_sample.data(), edges);
    sgd_.next_sample.upload(clock.epochs_per_sample.data(), edges);
    sgd_.epochs_per_negative.upload(clock.epochs_per_negative_sample.data(), edges);
    sgd_.next_negative.upload(clock.epochs_per_negative_sample.data(), edges);
    if (sgd_.deterministic) {
      sgd_.grad_fixed.reset(c, checked_mul(n_, dims_), "UMAP deterministic gradients");
      sgd_.grad_fixed.fill_zero();
    }
    y_.reset(c, checked_mul(n_, dims_), "UMAP layout");
    y_.upload(plan.initial.data(), checked_mul(n_, dims_));
    c.sync();  // the plan's host arrays die here
  }

  int64_t total_steps() const override { return schedule_.n_epochs(); }
  int64_t steps_done() const override { return done_; }
  Backend backend() const override { return Backend::cuda; }

  void step() override {
    if (done()) return;
    launch_sgd_epoch(*ctx_, sgd_, y_.data(), static_cast<int>(done_), schedule_.learning_rate(done_));
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
  const UmapPlan schedule_;       // the plan's parameters, for the learning-rate schedule
  int64_t n_ = 0;
  int dims_ = 2;
  SgdState sgd_;
  DeviceBuffer<float> y_;
  int64_t done_ = 0;
  Matrix out_;
  int64_t out_iter_ = -1;
};

}  // namespace
}  // namespace detail

std::unique_ptr<Reducer> make_umap(UmapPlan plan) {
  PRISM_EXPECTS(plan.params.dims == 2 || plan.params.dims == 3,
                "GPU UMAP embeds in 2 or 3 dimensions, got dims = ", plan.params.dims,
                "; use --backend cpu for others");
  return std::make_unique<detail::UmapCuda>(Context::shared(), std::move(plan));
}

bool umap_spectral_layout(const FuzzyGraph& graph, int dims, uint64_t seed, Matrix& out) {
  std::vector<float> y;
  if (!detail::spectral_init_device(*Context::shared(), graph, dims, seed, detail::kSpectralIterations, y))
    return false;
  PRISM_CHECK(static_cast<int64_t>(y.size()) == checked_mul(graph.n, dims), "spectral layout of ",
              y.size(), " values");
  out = Matrix(graph.n, dims);
  std::copy(y.begin(), y.end(), out.data());
  return true;
}

}  // namespace prism::cuda
