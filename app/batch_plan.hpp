#pragma once
// `prism batch` plans: the JSON file parsed and checked (names, types, ranges,
// paths) before any work, every error naming the plan's line; expanded into
// one run per input x method x dims x parameter-grid point x seed.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "prism/pipeline.hpp"

namespace prism::app {

struct PlanInput {
  std::string name;  ///< unique within the plan (default: the file name)
  std::string path, metadata, label_column, format = "auto";  ///< paths absolute
};

/// One run: its id (also its folder under the output) and what it reduces how.
struct PlanRun {
  std::string id, input, method;
  int dims = 2;
  uint64_t seed = 0;
  nlohmann::json params;  ///< the grid point: {"n_neighbors": 15, ...}
};

struct Plan {
  std::string path;               ///< the plan file (for messages)
  std::filesystem::path output;   ///< absolute
  std::string backend = "auto";
  std::vector<PlanInput> inputs;
  std::vector<PlanRun> runs;
  bool npy = true, csv = true, tsv = false, png = true, tensorboard = true;
  int png_w = 1280, png_h = 960;
  std::vector<std::pair<float, float>> views = {{30, 20}, {120, 20}, {210, 60}};
};

/// The largest number of runs a plan may expand to (a typo in a grid should
/// fail, not queue a million runs).
inline constexpr size_t kMaxPlanRuns = 100000;

/// Parses and checks a plan's text; `path` names it in errors and anchors
/// relative paths. Throws InputError "PATH line N: what was expected".
Plan parse_plan_text(const std::string& path, const std::string& text);
/// Reads the file and parses it.
Plan parse_plan(const std::string& path);

/// The parameters of one run (method, dims, seed, the plan's backend and the
/// run's grid point through the parameter table).
ReduceParams run_params(const Plan& plan, const PlanRun& run);

}  // namespace prism::app
