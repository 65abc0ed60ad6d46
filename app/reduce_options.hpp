#pragma once
// The reduction options shared by `reduce`, `view`, `bench` and `batch`, made
// from the engine's parameter table (prism/params.hpp): one flag per
// parameter under umap-learn's / scikit-learn's name (--n-neighbors,
// --min-dist, --perplexity, --max-iter, --angle, ...), the older spellings
// (--neighbors, --epochs, --iterations, --theta, ...) as aliases.
#include <CLI/CLI.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "prism/params.hpp"
#include "prism/pipeline.hpp"

namespace prism::app {

struct ReduceOptions {
  std::string method = "umap";
  int dims = 2;
  std::string backend = "auto";
  /// Parameters given on the command line or in a plan: canonical name -> text.
  std::map<std::string, std::string> given;

  /// Adds one option per parameter of `methods` (grouped by method), and with
  /// `with_method` also --method, --dims and --backend.
  void add_to(CLI::App& app, bool with_method = true,
              const std::vector<Method>& methods = {Method::pca, Method::tsne, Method::umap});
  /// The parameters of a run of `method` (throws InputError for bad values).
  /// A given parameter that `method` does not have is skipped (bench runs
  /// several methods with one set of flags); ignored_for() names them.
  ReduceParams resolve_for(Method method, uint64_t seed) const;
  /// resolve_for(parse_method(method), seed).
  ReduceParams resolve(uint64_t seed) const;
  /// "--perplexity is a t-SNE parameter: ignored for UMAP", one line per given
  /// parameter that `method` does not have (the commands print them).
  std::vector<std::string> ignored_for(Method method) const;
};

/// Every parameter of a run as JSON: method, dims, backend, seed and the
/// method's table entries under their canonical names ("auto" where automatic).
nlohmann::json params_json(const ReduceParams& p);
/// A table value as JSON (bool, integer, number or string).
nlohmann::json to_json(const ParamValue& v);
/// A JSON value as a table value; throws InputError naming `key` when the JSON
/// type cannot be one (arrays, objects, null).
ParamValue param_value_from_json(const std::string& key, const nlohmann::json& v);
/// What actually ran (backend, init, kNN, resolved values, warnings).
nlohmann::json record_json(const RunRecord& r);
nlohmann::json times_json(const StageTimes& t);

}  // namespace prism::app
