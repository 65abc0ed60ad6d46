#include "reduce_options.hpp"

namespace prism::app {

void ReduceOptions::add_to(CLI::App& app, bool with_method) {
  if (with_method) {
    app.add_option("-m,--method", method, "pca | tsne | umap")->capture_default_str();
    app.add_option("-d,--dims", dims, "Output dimensions (2 or 3; PCA: any <= D)")->capture_default_str();
    app.add_option("--backend", backend, "auto | cpu | cuda (auto: CUDA when a GPU is present)")
        ->capture_default_str();
  }
  app.add_option("--metric", metric, "Distance in the input space: euclidean | cosine")->capture_default_str();
  app.add_option("--knn", knn, "kNN graph: auto | exact | approx (auto: approximate from 20,000 rows)")
      ->capture_default_str();
  app.add_option("--init", init, "Initial layout: pca | random | spectral (UMAP) [default: t-SNE pca, UMAP spectral]");
  auto& t = params.tsne;
  app.add_option("--perplexity", t.perplexity, "t-SNE perplexity (kNN uses k = 3 * perplexity)")
      ->capture_default_str()->group("t-SNE");
  app.add_option("--theta", t.theta, "t-SNE Barnes-Hut accuracy (0: exact)")->capture_default_str()->group("t-SNE");
  app.add_option("--iterations", t.n_iter, "t-SNE iterations, early exaggeration included")
      ->capture_default_str()->group("t-SNE");
  app.add_option("--exaggeration", t.early_exaggeration, "t-SNE early exaggeration")
      ->capture_default_str()->group("t-SNE");
  app.add_option("--exaggeration-iterations", t.exaggeration_iter, "t-SNE iterations with early exaggeration")
      ->capture_default_str()->group("t-SNE");
  app.add_option("--learning-rate", t.learning_rate, "t-SNE learning rate (0: auto = max(N/12, 50))")
      ->capture_default_str()->group("t-SNE");
  app.add_option("--pca-dims", t.pca_dims, "t-SNE: PCA to this many dims first when D > 100 (0: never)")
      ->capture_default_str()->group("t-SNE");
  auto& u = params.umap;
  app.add_option("--neighbors", u.n_neighbors, "UMAP n_neighbors (the kNN graph's k)")
      ->capture_default_str()->group("UMAP");
  app.add_option("--min-dist", u.min_dist, "UMAP min_dist")->capture_default_str()->group("UMAP");
  app.add_option("--spread", u.spread, "UMAP spread")->capture_default_str()->group("UMAP");
  app.add_option("--epochs", u.n_epochs, "UMAP epochs (0: 500 for N <= 10,000, else 200)")
      ->capture_default_str()->group("UMAP");
  app.add_option("--negative-sample-rate", u.negative_sample_rate, "UMAP negative samples per edge")
      ->capture_default_str()->group("UMAP");
  app.add_option("--umap-learning-rate", u.learning_rate, "UMAP initial learning rate")
      ->capture_default_str()->group("UMAP");
  app.add_flag("--deterministic", u.deterministic, "UMAP on CUDA: order-independent sums")->group("UMAP");
  app.add_flag("--whiten", whiten, "PCA: scale components to unit variance")->group("PCA");
}

ReduceParams ReduceOptions::resolve(uint64_t seed) const {
  ReduceParams p = params;
  p.method = parse_method(method);
  p.dims = dims;
  p.backend = parse_backend(backend);
  p.metric = parse_metric(metric);
  p.knn_mode = parse_knn_mode(knn);
  p.seed = seed;
  p.pca.whiten = whiten;
  if (!init.empty()) {
    const Init i = parse_init(init);
    p.tsne.init = i;
    p.umap.init = i;
  }
  PRISM_EXPECTS(p.method == Method::pca || p.dims == 2 || p.dims == 3, "--dims ", p.dims,
                ": t-SNE and UMAP embed in 2 or 3 dimensions");
  PRISM_EXPECTS(p.tsne.n_iter >= 1 && p.tsne.exaggeration_iter >= 0, "--iterations must be >= 1");
  PRISM_EXPECTS(p.tsne.theta >= 0 && p.tsne.theta <= 1.5, "--theta must be in [0, 1.5], got ", p.tsne.theta);
  PRISM_EXPECTS(p.umap.n_neighbors >= 2 && p.umap.n_neighbors <= 1000, "--neighbors must be in 2..1000");
  PRISM_EXPECTS(p.umap.min_dist >= 0 && p.umap.spread > 0 && p.umap.min_dist <= p.umap.spread,
                "--min-dist must be in [0, spread]");
  PRISM_EXPECTS(p.umap.n_epochs >= 0, "--epochs must be >= 0");
  return p;
}

nlohmann::json params_json(const ReduceParams& p) {
  nlohmann::json j = {{"method", to_string(p.method)}, {"dims", p.dims},       {"backend", to_string(p.backend)},
                      {"seed", p.seed},                {"metric", to_string(p.metric)}, {"knn", to_string(p.knn_mode)}};
  if (p.method == Method::tsne)
    j["tsne"] = {{"perplexity", p.tsne.perplexity},
                 {"theta", p.tsne.theta},
                 {"iterations", p.tsne.n_iter},
                 {"exaggeration", p.tsne.early_exaggeration},
                 {"exaggeration_iterations", p.tsne.exaggeration_iter},
                 {"learning_rate", p.tsne.learning_rate},
                 {"init", to_string(p.tsne.init)},
                 {"pca_dims", p.tsne.pca_dims}};
  if (p.method == Method::umap)
    j["umap"] = {{"n_neighbors", p.umap.n_neighbors},
                 {"min_dist", p.umap.min_dist},
                 {"spread", p.umap.spread},
                 {"n_epochs", p.umap.n_epochs},
                 {"learning_rate", p.umap.learning_rate},
                 {"negative_sample_rate", p.umap.negative_sample_rate},
                 {"init", to_string(p.umap.init)},
                 {"deterministic", p.umap.deterministic}};
  if (p.method == Method::pca) j["pca"] = {{"whiten", p.pca.whiten}};
  return j;
}

nlohmann::json times_json(const StageTimes& t) {
  return {{"preprocess_s", t.preprocess}, {"knn_s", t.knn}, {"init_s", t.init}, {"optimise_s", t.optimise},
          {"total_s", t.total()}};
}

}  // namespace prism::app
