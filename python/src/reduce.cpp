// The estimators' work: UMAP (fit, transform), t-SNE, PCA, kNN graphs and the
// faithfulness metrics, each with the GIL released.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "binding.hpp"
#include "prism/memory_estimate.hpp"
#include "prism/metrics.hpp"

namespace prism::py {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// What ran, for the estimators' run_info_ (the pipeline's RunRecord and times).
nb::dict info_dict(const RunRecord& r, const StageTimes& t, uint64_t seed, const std::vector<std::string>& warnings) {
  nb::dict d;
  d["backend"] = to_string(r.backend);
  d["init"] = to_string(r.init);
  d["knn_k"] = r.knn_k;
  d["knn_exact"] = r.knn_exact;
  d["pca_dims"] = r.pca_dims;
  d["normalised"] = r.normalised;
  d["n_epochs"] = r.n_epochs;
  d["learning_rate"] = r.learning_rate;
  d["seed"] = seed;
  nb::dict times;
  times["preprocess"] = t.preprocess;
  times["knn"] = t.knn;
  times["init"] = t.init;
  times["optimise"] = t.optimise;
  times["total"] = t.total();
  d["times"] = times;
  nb::list w;
  for (const auto& s : r.warnings) w.append(s);
  for (const auto& s : warnings)
    if (std::find(r.warnings.begin(), r.warnings.end(), s) == r.warnings.end()) w.append(s);
  d["warnings"] = w;
  return d;
}

/// The pipeline's PCA start (prism::pipeline's pca_layout): dims columns, zero-padded when D < dims.
Matrix pca_layout(ConstView x, int dims, Backend backend, uint64_t seed) {
  PcaParams pp;
  pp.dims = std::min<int>(dims, static_cast<int>(x.cols));
  pp.backend = backend;
  pp.seed = seed;
  Matrix y = fit_pca(x, pp).transform(x);
  if (y.cols() < dims) {
    Matrix padded(y.rows(), dims);
    for (int64_t i = 0; i < y.rows(); ++i)
      for (int64_t c = 0; c < y.cols(); ++c) padded(i, c) = y(i, c);
    y = std::move(padded);
  }
  return y;
}

struct UmapFit {
  Matrix y;
  FuzzyGraph graph;  // umap-learn's graph_: the fuzzy union before pruning
  RunRecord record;
  StageTimes times;
};

/// prepare_reduction's UMAP branch, keeping the kNN graph's fuzzy set for graph_.
UmapFit fit_umap(ConstView x, const ReduceParams& rp, PyProgress& progress) {
  check_finite(x, "X");
  check_reduce_params(rp, x.rows, x.cols);
  check_reduction_memory(x, rp);
  UmapFit out;
  RunRecord& record = out.record;
  record.backend = resolve_backend(rp.backend);

  auto t0 = Clock::now();
  KnnParams kp;
  kp.metric = rp.metric;
  kp.mode = rp.knn_mode;
  kp.seed = rp.seed;
  kp.backend = record.backend;
  kp.k = umap_neighbors(rp.umap, x.rows);
  const KnnGraph knn = build_knn(x, kp, &progress);
  out.times.knn = since(t0);
  record.knn_k = knn.k;
  record.knn_exact = resolve_knn_mode(x.rows, kp) == KnnMode::exact;

  t0 = Clock::now();
  UmapParams up = rp.umap;
  up.dims = rp.dims;
  up.seed = rp.seed;
  up.backend = record.backend;
  Matrix initial;
  if (up.init == Init::pca) initial = pca_layout(x, rp.dims, record.backend, rp.seed);
  out.graph = umap_fuzzy_graph(knn, up);
  UmapPlan plan = plan_umap(knn, up.init == Init::pca ? &initial : nullptr, up);
  record.init = plan.init_used;
  record.n_epochs = plan.params.n_epochs;
  record.learning_rate = plan.params.learning_rate;
  if (!plan.warning.empty()) {
    record.warnings.push_back(plan.warning);
    progress.warning(plan.warning);
  }
  auto reducer = make_umap(std::move(plan));
  record.backend = reducer->backend();
  out.times.init = since(t0);

  t0 = Clock::now();
  run_reducer(*reducer, &progress, "optimise", 0);
  out.times.optimise = since(t0);
  if (progress.aborted()) throw Interrupted();
  out.y = to_matrix(reducer->embedding());
  return out;
}

nb::dict umap_fit(InMatrix xin, int dims, uint64_t seed, const std::string& backend, nb::dict params,
                  bool verbose, int threads) {
  const ReduceParams rp = make_params(Method::umap, dims, seed, backend, params);
  std::vector<std::string> warnings;
  UmapFit fit = run_job(
      verbose, threads, [xin, rp](PyProgress& progress) { return fit_umap(view_of(xin), rp, progress); }, &warnings);
  nb::dict d;
  const auto n = static_cast<size_t>(fit.graph.n);
  const auto nnz = fit.graph.col.size();
  d["embedding"] = owned_array(std::move(fit.y));
  d["graph_indptr"] = owned_array(std::move(fit.graph.row_ptr), {n + 1});
  d["graph_indices"] = owned_array(std::move(fit.graph.col), {nnz});
  d["graph_data"] = owned_array(std::move(fit.graph.val), {nnz});
  d["info"] = info_dict(fit.record, fit.times, seed, warnings);
  return d;
}

nb::ndarray<nb::numpy, float> umap_transform(InMatrix train_x, InMatrix train_y, InMatrix new_x, uint64_t seed,
                                             nb::dict params, bool verbose, int threads) {
  const ReduceParams rp = make_params(Method::umap, static_cast<int>(train_y.shape(1)), seed, "cpu", params);
  UmapParams up = rp.umap;
  up.dims = rp.dims;
  up.seed = seed;
  Matrix y = run_job(verbose, threads, [train_x, train_y, new_x, up, metric = rp.metric](PyProgress& progress) {
    check_finite(view_of(new_x), "X");
    Matrix out = umap_transform(view_of(train_x), view_of(train_y), view_of(new_x), up, metric, &progress);
    if (progress.aborted()) throw Interrupted();
    return out;
  });
  return owned_array(std::move(y));
}

nb::dict tsne_fit(InMatrix xin, int dims, uint64_t seed, const std::string& backend, nb::dict params,
                  bool verbose, int threads) {
  const ReduceParams rp = make_params(Method::tsne, dims, seed, backend, params);
  struct Out {
    Matrix y;
    double kl = 0;
    RunRecord record;
    StageTimes times;
  };
  std::vector<std::string> warnings;
  Out out = run_job(verbose, threads, [xin, rp, verbose](PyProgress& progress) {
    const ConstView x = view_of(xin);
    check_finite(x, "X");
    PreparedReduction prep = prepare_reduction(x, rp, &progress);
    Out o;
    const auto t0 = Clock::now();
    run_reducer(*prep.reducer, &progress, "optimise", verbose ? 50 : 0);
    if (progress.aborted()) throw Interrupted();
    o.kl = prep.reducer->objective();
    prep.times.optimise = since(t0);
    o.y = to_matrix(prep.reducer->embedding());
    o.record = std::move(prep.record);
    o.times = prep.times;
    return o;
  }, &warnings);
  nb::dict d;
  d["embedding"] = owned_array(std::move(out.y));
  d["kl_divergence"] = out.kl;
  d["info"] = info_dict(out.record, out.times, seed, warnings);
  return d;
}

nb::dict pca_fit(InMatrix xin, int dims, uint64_t seed, const std::string& backend, nb::dict params,
                 bool transform, bool verbose, int threads) {
  const ReduceParams rp = make_params(Method::pca, dims, seed, backend, params);
  struct Out {
    PcaModel model;
    Matrix y;
    Backend backend = Backend::cpu;
  };
  Out out = run_job(verbose, threads, [xin, rp, transform](PyProgress& progress) {
    const ConstView x = view_of(xin);
    check_finite(x, "X");
    check_reduce_params(rp, x.rows, x.cols);
    check_reduction_memory(x, rp);
    Out o;
    PcaParams pp = rp.pca;
    pp.dims = rp.dims;
    pp.seed = rp.seed;
    pp.backend = o.backend = resolve_backend(rp.backend);
    o.model = fit_pca(x, pp, &progress);
    if (transform) o.y = o.model.transform(x);
    return o;
  });
  nb::dict d;
  const auto k = static_cast<size_t>(out.model.components.rows()), dd = static_cast<size_t>(xin.shape(1));
  d["mean"] = owned_array(std::move(out.model.mean), {dd});
  d["components"] = owned_array(std::move(out.model.components));
  d["explained_variance"] = owned_array(std::move(out.model.explained_variance), {k});
  d["explained_variance_ratio"] = owned_array(std::move(out.model.explained_variance_ratio), {k});
  if (transform) d["embedding"] = owned_array(std::move(out.y));
  d["backend"] = to_string(out.backend);
  return d;
}

using InVector = nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using InVectorD = nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

nb::ndarray<nb::numpy, float> pca_transform(InMatrix xin, InVector mean, InMatrix components,
                                            InVectorD explained_variance, bool whiten, int threads) {
  PcaModel model;
  model.mean.assign(mean.data(), mean.data() + mean.shape(0));
  model.components = to_matrix(view_of(components));
  model.explained_variance.assign(explained_variance.data(), explained_variance.data() + explained_variance.shape(0));
  model.whiten = whiten;
  PRISM_EXPECTS(model.components.cols() == static_cast<int64_t>(model.mean.size()) &&
                    model.explained_variance.size() == static_cast<size_t>(model.components.rows()),
                "PCA model: inconsistent shapes");
  Matrix y = run_job(false, threads, [xin, model](PyProgress&) {
    check_finite(view_of(xin), "X");
    return model.transform(view_of(xin));
  });
  return owned_array(std::move(y));
}

nb::tuple knn(InMatrix xin, int k, const std::string& metric, const std::string& mode, const std::string& backend,
              uint64_t seed, bool verbose, int threads) {
  KnnParams kp;
  kp.k = k;
  kp.metric = parse_metric(metric);
  kp.mode = parse_knn_mode(mode);
  kp.backend = parse_backend(backend);
  kp.seed = seed;
  KnnGraph g = run_job(verbose, threads, [xin, kp](PyProgress& progress) {
    const ConstView x = view_of(xin);
    check_finite(x, "X");
    check_knn_memory(x.rows, x.cols, kp);
    return build_knn(x, kp, &progress);
  });
  const auto n = static_cast<size_t>(g.n), kk = static_cast<size_t>(g.k);
  return nb::make_tuple(owned_array(std::move(g.indices), {n, kk}), owned_array(std::move(g.distances), {n, kk}));
}

/// `prism metrics` (app/cmd_metrics.cpp) on arrays: the same parameters, the same numbers.
nb::dict metrics(InMatrix xin, InMatrix yin, std::optional<std::vector<std::string>> labels, int k, int64_t sample,
                 int classifier_k, uint64_t seed, const std::string& metric, bool kl, double perplexity,
                 int threads) {
  MetricsParams mp;
  mp.k = k;
  mp.sample = sample;
  mp.classifier_k = classifier_k;
  mp.seed = seed;
  mp.metric = parse_metric(metric);
  const ConstView x = view_of(xin), y = view_of(yin);
  PRISM_EXPECTS(y.rows == x.rows, "Y has ", y.rows, " rows, but X has ", x.rows,
                " (expected one embedding row per input vector)");
  PRISM_EXPECTS(!labels || static_cast<int64_t>(labels->size()) == x.rows, "labels have ", labels ? labels->size() : 0,
                " values, but X has ", x.rows, " rows");
  PRISM_EXPECTS(!kl || perplexity > 0, "perplexity must be > 0, got ", perplexity);
  struct Out {
    Faithfulness f;
    double kl = std::numeric_limits<double>::quiet_NaN();
  };
  Out out = run_job(false, threads, [xin, yin, labels, mp, kl, perplexity](PyProgress& progress) {
    const ConstView x = view_of(xin), y = view_of(yin);
    check_finite(x, "X");
    check_finite(y, "Y");
    LabelCodes codes;
    if (labels) codes = encode_labels(*labels);
    Out o;
    o.f = evaluate_embedding(x, y, labels ? &codes.codes : nullptr, mp);
    if (kl) {
      KnnParams kp;
      kp.k = static_cast<int>(std::min<double>(x.rows - 1, std::ceil(3 * perplexity)));
      kp.mode = KnnMode::exact;
      kp.metric = mp.metric;
      check_knn_memory(x.rows, x.cols, kp);
      o.kl = tsne_kl_divergence(tsne_affinities(build_knn(x, kp, &progress), perplexity), y);
    }
    return o;
  });
  nb::dict d;
  d["k"] = out.f.k;
  d["sample"] = out.f.sample;
  d["trustworthiness"] = out.f.trustworthiness;
  d["knn_recall"] = out.f.knn_recall;
  d["knn_accuracy"] = std::isnan(out.f.knn_accuracy) ? nb::none() : nb::cast(out.f.knn_accuracy);
  if (kl) d["kl_divergence"] = out.kl;
  return d;
}

}  // namespace

void bind_reduce(nb::module_& m) {
  using namespace nb::literals;
  m.def("umap_fit", &umap_fit, "x"_a, "dims"_a, "seed"_a, "backend"_a, "params"_a, "verbose"_a, "threads"_a);
  m.def("umap_transform", &umap_transform, "train_x"_a, "train_y"_a, "new_x"_a, "seed"_a, "params"_a, "verbose"_a,
        "threads"_a);
  m.def("tsne_fit", &tsne_fit, "x"_a, "dims"_a, "seed"_a, "backend"_a, "params"_a, "verbose"_a, "threads"_a);
  m.def("pca_fit", &pca_fit, "x"_a, "dims"_a, "seed"_a, "backend"_a, "params"_a, "transform"_a, "verbose"_a,
        "threads"_a);
  m.def("pca_transform", &pca_transform, "x"_a, "mean"_a, "components"_a, "explained_variance"_a, "whiten"_a,
        "threads"_a);
  m.def("knn", &knn, "x"_a, "k"_a, "metric"_a, "mode"_a, "backend"_a, "seed"_a, "verbose"_a, "threads"_a);
  m.def("metrics", &metrics, "x"_a, "y"_a, "labels"_a.none(), "k"_a, "sample"_a, "classifier_k"_a, "seed"_a,
        "metric"_a, "kl"_a, "perplexity"_a, "threads"_a);
}

}  // namespace prism::py
