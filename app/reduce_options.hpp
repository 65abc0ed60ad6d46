#pragma once
// The reduction options shared by `reduce`, `view`, `bench` and `batch`:
// method, dims, backend, kNN settings and every t-SNE/UMAP/PCA parameter,
// with the standard defaults (t-SNE: perplexity 30, 1000 iterations, early
// exaggeration 12 for 250; UMAP: 15 neighbours, min_dist 0.1, 200/500 epochs).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "prism/pipeline.hpp"

namespace prism::app {

struct ReduceOptions {
  std::string method = "umap";
  int dims = 2;
  std::string backend = "auto";
  std::string metric = "euclidean";
  std::string knn = "auto";
  ReduceParams params;  // method-specific fields bound directly
  std::string init;     // empty: the method's default
  bool whiten = false;

  /// Adds --metric, --knn, --init and the method parameters, and with
  /// `with_method` also --method, --dims and --backend.
  void add_to(CLI::App& app, bool with_method = true);
  /// Parses the strings into params (throws InputError for bad values).
  ReduceParams resolve(uint64_t seed) const;
};

/// Every parameter of a run as JSON (summaries, reports, manifests).
nlohmann::json params_json(const ReduceParams& p);
nlohmann::json times_json(const StageTimes& t);

}  // namespace prism::app
