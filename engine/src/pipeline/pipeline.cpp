// The reduce job: pre-reduction, kNN graph, initial layout, optimiser.
#include "prism/pipeline.hpp"
#include "prism/memory_estimate.hpp"

#include <chrono>
#include <cmath>

namespace prism {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// PCA's result as a reducer with one step, so every method runs the same way.
class PcaReducer final : public Reducer {
 public:
  PcaReducer(Matrix y, Backend b) : y_(std::move(y)), backend_(b) {}
  int64_t total_steps() const override { return 1; }
  int64_t steps_done() const override { return done_; }
  void step() override { done_ = 1; }
  ConstView embedding() override { return y_.view(); }
  Backend backend() const override { return backend_; }

 private:
  Matrix y_;
  Backend backend_;
  int64_t done_ = 0;
};

Matrix pca_layout(ConstView x, int dims, Backend backend, uint64_t seed, Progress* progress) {
  PcaParams pp;
  pp.dims = std::min<int>(dims, static_cast<int>(x.cols));
  pp.backend = backend;
  pp.seed = seed;
  const PcaModel model = fit_pca(x, pp, progress);
  Matrix y = model.transform(x);
  if (y.cols() < dims) {  // D < dims: pad with zeros (tiny inputs only)
    Matrix padded(y.rows(), dims);
    for (int64_t i = 0; i < y.rows(); ++i)
      for (int64_t c = 0; c < y.cols(); ++c) padded(i, c) = y(i, c);
    y = std::move(padded);
  }
  return y;
}

}  // namespace

void check_reduce_params(const ReduceParams& params, int64_t n, int64_t d) {
  PRISM_EXPECTS(params.dims >= 1, "dims must be at least 1, got ", params.dims);
  PRISM_EXPECTS(n >= 2, "need at least 2 rows to reduce, got ", n);
  switch (params.method) {
    case Method::pca:
      PRISM_EXPECTS(params.dims <= d, "PCA to ", params.dims, " dimensions needs D >= ", params.dims,
                    ", got D = ", d);
      break;
    case Method::tsne: {
      TsneParams tp = params.tsne;
      tp.dims = params.dims;
      check_tsne_params(tp, n);
      break;
    }
    case Method::umap: {
      UmapParams up = params.umap;
      up.dims = params.dims;
      check_umap_params(up, n);
      break;
    }
  }
}

PreparedReduction prepare_reduction(ConstView x, const ReduceParams& params, Progress* progress) {
  check_reduce_params(params, x.rows, x.cols);
  check_reduction_memory(x, params);  // fail now, not when killed halfway
  PreparedReduction out;
  RunRecord& record = out.record;
  // The FFT repulsion is CPU-only: asked for explicitly, it keeps an automatic backend on the CPU.
  const bool cpu_only = params.method == Method::tsne && params.tsne.method == TsneMethod::fft;
  record.backend = cpu_only && params.backend == Backend::automatic ? Backend::cpu : resolve_backend(params.backend);
  const Backend backend = record.backend;
  auto warn = [&](const std::string& message) {
    record.warnings.push_back(message);
    if (progress) progress->warning(message);
  };

  if (params.method == Method::pca) {
    auto t0 = Clock::now();
    PcaParams pp = params.pca;
    pp.dims = params.dims;
    pp.backend = backend;
    pp.seed = params.seed;
    const PcaModel model = fit_pca(x, pp, progress);
    out.reducer = std::make_unique<PcaReducer>(model.transform(x), backend);
    out.times.init = since(t0);
    return out;
  }

  // Cosine: unit rows, so that euclidean distances (and PCA) follow the angles.
  Matrix unit;
  ConstView data = x;
  Metric metric = params.metric;
  const bool tsne = params.method == Method::tsne;
  const int pre_dims = tsne ? params.tsne.pca_dims : 0;
  auto t0 = Clock::now();
  Matrix reduced;
  if (pre_dims > 0 && x.cols > 100 && pre_dims < x.cols) {
    // As openTSNE / scikit-learn users do: PCA to 50 dims first on wide data.
    if (metric == Metric::cosine) {
      unit = normalised_rows(x);
      data = unit.view();
      metric = Metric::euclidean;
      record.normalised = true;
    }
    reduced = pca_layout(data, pre_dims, backend, params.seed, progress);
    data = reduced.view();
    record.pca_dims = pre_dims;
  }
  out.times.preprocess = since(t0);

  t0 = Clock::now();
  KnnParams kp;
  kp.metric = metric;
  kp.mode = params.knn_mode;
  kp.seed = params.seed;
  kp.backend = backend;
  kp.k = tsne ? tsne_neighbors(params.tsne, x.rows) : umap_neighbors(params.umap, x.rows);
  KnnGraph graph = build_knn(data, kp, progress);
  out.times.knn = since(t0);
  record.knn_k = graph.k;
  record.knn_exact = resolve_knn_mode(data.rows, kp) == KnnMode::exact;

  t0 = Clock::now();
  // Affinities / fuzzy graph and the initial layout (seconds to a minute at 1M points).
  std::optional<ProgressScope> init_stage(std::in_place, progress, "init", 0);
  const Init init = tsne ? params.tsne.init : params.umap.init;
  Matrix initial;
  // UMAP's spectral start falls back to PCA when the eigensolver fails.
  const bool want_pca = init == Init::pca;
  if (want_pca) initial = pca_layout(data, params.dims, backend, params.seed, nullptr);
  const Matrix* init_ptr = want_pca ? &initial : nullptr;
  // The pre-reduced (or unit) rows are not read again: free them before the
  // affinities, the peak of the run (200 MB at 1M points in 50 dims).
  reduced = Matrix();
  unit = Matrix();
  data = ConstView{};
  if (tsne) {
    TsneParams tp = params.tsne;
    tp.dims = params.dims;
    tp.seed = params.seed;
    tp.backend = backend;
    const TsnePlan plan = plan_tsne(graph, init_ptr, tp);
    record.init = plan.params.init;
    record.n_epochs = plan.params.max_iter;
    record.learning_rate = plan.params.learning_rate;
    record.tsne_method = to_string(plan.method_on(backend));
    out.reducer = make_tsne(std::move(graph), plan);  // the CPU reducer frees the graph after P
  } else {
    UmapParams up = params.umap;
    up.dims = params.dims;
    up.seed = params.seed;
    up.backend = backend;
    UmapPlan plan = plan_umap(graph, init_ptr, up, progress);
    record.init = plan.init_used;
    record.n_epochs = plan.params.n_epochs;
    record.learning_rate = plan.params.learning_rate;
    if (!plan.warning.empty()) warn(plan.warning);
    out.reducer = make_umap(std::move(plan));
  }
  init_stage.reset();
  out.times.init = since(t0);
  return out;
}

Projection reduce(ConstView x, const ReduceParams& params, Progress* progress) {
  PreparedReduction prep = prepare_reduction(x, params, progress);
  Projection out;
  out.times = prep.times;
  out.record = std::move(prep.record);
  const auto t0 = Clock::now();
  run_reducer(*prep.reducer, progress, "optimise", params.method == Method::tsne ? 50 : 0);
  out.times.optimise = since(t0);
  out.aborted = !prep.reducer->done();
  out.objective = prep.reducer->objective();
  out.y = to_matrix(prep.reducer->embedding());
  return out;
}

}  // namespace prism
