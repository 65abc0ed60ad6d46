// prism reduce INPUT --method pca|tsne|umap --dims 2|3 --out OUT
// and UMAP's transform: prism reduce --method umap --fit TRAIN --transform NEW --out NEW_Y
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "common.hpp"
#include "figure.hpp"
#include "prism/metrics.hpp"
#include "reduce_options.hpp"
#include "run_report.hpp"

namespace prism::app {
namespace {

CommandSetup setup = [](CLI::App& sub) {
  struct State {
    InputOptions in;
    ReduceOptions ro;
    SeedOption seed;
    std::string out, csv, summary, png, fit, transform, fit_out;
    bool metrics = false;
  };
  auto s = std::make_shared<State>();
  sub.add_option("input", s->in.path, "Input vectors (any format prism reads)");
  s->in.add_to(sub, false);
  s->ro.add_to(sub);
  s->seed.add_to(sub);
  sub.add_option("-o,--out", s->out, "Output coordinates: .npy, .csv or .tsv (CSV/TSV with the metadata columns)")
      ->required();
  sub.add_option("--csv", s->csv, "Also write a CSV (or .tsv) with the metadata columns");
  sub.add_option("--summary", s->summary, "Write a JSON summary: parameters, stage times, metrics");
  sub.add_flag("--metrics", s->metrics,
               "Measure trustworthiness@15, kNN recall@15 and 10-NN accuracy (10k-point sample)");
  sub.add_option("--png", s->png, "Also render the projection to a PNG (needs the renderer)");
  sub.add_option("--fit", s->fit, "UMAP transform: the training vectors to fit on")->group("UMAP transform");
  sub.add_option("--transform", s->transform, "UMAP transform: new vectors to embed into the fitted result")
      ->group("UMAP transform");
  sub.add_option("--fit-out", s->fit_out, "UMAP transform: also write the training embedding here")
      ->group("UMAP transform");
  sub.footer(
      "Parameters carry umap-learn's and scikit-learn's names (--n-neighbors, --min-dist, --n-epochs,\n"
      "--perplexity, --early-exaggeration, --max-iter, --angle); the defaults are theirs: t-SNE\n"
      "perplexity 30, 1000 iterations (early exaggeration 12 for 250), learning rate max(N/12, 50),\n"
      "PCA init, PCA to 50 dims first when D > 100; UMAP 15 neighbours, min_dist 0.1, spectral init,\n"
      "500 epochs up to 10,000 points, else 200. A parameter of another method is ignored, with a note.\n"
      "--seed makes a CPU run bit-for-bit reproducible at the same thread count (OMP_NUM_THREADS);\n"
      "different thread counts may give different (equally good) results.\n\n"
      "Examples:\n"
      "  prism reduce vectors.npy --method umap --dims 3 --out umap3d.npy\n"
      "  prism reduce /usr/share/datasets/fashion-mnist --method tsne --out tsne.csv --seed 1 --metrics\n"
      "  prism reduce vectors.npy --method umap --n-neighbors 50 --min-dist 0.3 --out umap.npy\n"
      "  prism reduce glove.txt --metric cosine --method umap --out words.tsv --png words.png\n"
      "  prism reduce --method umap --fit train.npy --transform new.npy --out new_umap.npy");
  return [s]() {
    const uint64_t seed = s->seed.resolve();
    ReduceParams params = s->ro.resolve(seed);
    for (const auto& line : s->ro.ignored_for(params.method)) note(line);
    const bool transform = !s->fit.empty() || !s->transform.empty();
    if (transform) {
      PRISM_EXPECTS(!s->fit.empty() && !s->transform.empty(), "--fit and --transform go together");
      PRISM_EXPECTS(params.method == Method::umap, "--fit/--transform needs --method umap");
      PRISM_EXPECTS(s->in.path.empty(), "with --fit/--transform, give no positional input");
    } else {
      PRISM_EXPECTS(!s->in.path.empty(), "an input file is required (or --fit TRAIN --transform NEW)");
    }
    ProgressBar bar;
    nlohmann::json summary;
    summary["prism_version"] = PRISM_VERSION;
    summary["params"] = params_json(params);

    auto t0 = std::chrono::steady_clock::now();
    InputOptions train_in = s->in;
    if (transform) train_in.path = s->fit;
    const Dataset ds = train_in.read();
    const double load_s = seconds_since(t0);
    summary["input"] = {{"path", ds.source}, {"rows", ds.rows()}, {"dims", ds.cols()}, {"format", ds.format}};

    Projection proj = reduce(ds.x, params, &bar);
    throw_if_interrupted();
    summary["backend"] = to_string(proj.record.backend);
    summary["ran"] = record_json(proj.record);
    summary["times"] = times_json(proj.times);
    summary["times"]["load_s"] = load_s;
    summary["times"]["total_s"] = load_s + proj.times.total();
    if (!std::isnan(proj.objective)) summary["kl_divergence"] = proj.objective;
    note(cat(to_string(params.method), " ", params.dims, "D of ", ds.rows(), " x ", ds.cols(), " on ",
             to_string(proj.record.backend), ": load ", load_s, " s, kNN ", proj.times.knn, " s, init ",
             proj.times.init, " s, optimise ", proj.times.optimise, " s",
             proj.record.tsne_method.empty() ? std::string() : cat(" (repulsion ", proj.record.tsne_method, ")"),
             std::isnan(proj.objective) ? std::string() : cat(", KL ", proj.objective)));

    const Dataset* out_ds = &ds;
    Dataset new_ds;
    Matrix y = std::move(proj.y);
    if (transform) {
      if (!s->fit_out.empty()) write_matrix(s->fit_out, y.view(), &ds.meta);
      InputOptions new_in = s->in;
      new_in.path = s->transform;
      new_in.metadata.clear();
      new_ds = new_in.read();
      PRISM_EXPECTS(new_ds.cols() == ds.cols(), s->transform, ": ", new_ds.cols(),
                    " dims, but the training vectors have ", ds.cols());
      UmapParams up = params.umap;
      up.dims = params.dims;
      up.seed = params.seed;
      up.backend = Backend::cpu;
      t0 = std::chrono::steady_clock::now();
      y = umap_transform(ds.x, y.view(), new_ds.x, up, params.metric, &bar);
      throw_if_interrupted();
      summary["times"]["transform_s"] = seconds_since(t0);
      // The transform runs on the CPU whatever backend fitted.
      summary["transform"] = {{"path", s->transform}, {"rows", new_ds.rows()}, {"backend", "cpu"}};
      out_ds = &new_ds;
    }

    if (s->metrics) {
      const Faithfulness f = measure(*out_ds, y.view(), params.metric, seed);
      summary["metrics"] = to_json(f);
      std::fprintf(stderr, "[prism] trustworthiness@15 %.4f  kNN recall@15 %.4f  10-NN accuracy %s  (sample %lld)\n",
                   f.trustworthiness, f.knn_recall,
                   std::isnan(f.knn_accuracy) ? "n/a" : cat(f.knn_accuracy).c_str(),
                   static_cast<long long>(f.sample));
    }
    write_matrix(s->out, y.view(), &out_ds->meta);
    if (!s->csv.empty()) write_matrix(s->csv, y.view(), &out_ds->meta);
    if (!s->png.empty()) render_projection_png(s->png, y.view(), out_ds->meta, {cat(to_string(params.method), " of ", out_ds->source)});
    if (!s->summary.empty()) write_json_file(s->summary, summary);
    note(cat("wrote ", s->out));
    return 0;
  };
};

PRISM_COMMAND("reduce", "Project to 2D/3D with PCA, t-SNE or UMAP (and UMAP transform)", 40, setup);

}  // namespace
}  // namespace prism::app
