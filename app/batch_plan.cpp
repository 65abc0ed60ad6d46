#include "batch_plan.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "prism/io.hpp"
#include "prism/params.hpp"
#include "reduce_options.hpp"

namespace prism::app {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

/// A plan error: "plan.json line 12: what was expected".
class PlanChecker {
 public:
  PlanChecker(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) {}

  /// Line of the first occurrence of `token` (quoted as a JSON key or string
  /// if it is one, else bare) at or after byte `from`; 0 when not found.
  int line_of(const std::string& token, size_t from = 0) const {
    size_t at = text_.find("\"" + token + "\"", from);
    if (at == std::string::npos) at = text_.find(token, from);
    if (at == std::string::npos) return 0;
    return 1 + static_cast<int>(std::count(text_.begin(), text_.begin() + static_cast<ptrdiff_t>(at), '\n'));
  }
  /// Byte offset of the i-th object of "runs" (the '{' before its i-th "method" key).
  size_t run_start(size_t i) const {
    size_t at = text_.find("\"runs\"");
    for (size_t k = 0; at != std::string::npos && k <= i; ++k) at = text_.find("\"method\"", at + 1);
    if (at == std::string::npos) return 0;
    const size_t brace = text_.rfind('{', at);
    return brace == std::string::npos ? 0 : brace;
  }
  [[noreturn]] void fail(const std::string& token, const std::string& message, size_t from = 0) const {
    const int line = line_of(token, from);
    throw InputError(line > 0 ? cat(path_, " line ", line, ": ", message) : cat(path_, ": ", message));
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_, text_;
};

/// The parameters of one run: the plan's method, dims, backend and seed, and
/// its grid point applied through the parameter table (names, types and
/// ranges checked there). Plan errors name the plan's line of the key.
ReduceParams checked_params(const PlanChecker& pc, Method method, int dims, const std::string& backend,
                        uint64_t seed, const json& point, size_t at = 0) {
  ReduceParams p;
  p.method = method;
  p.dims = dims;
  p.backend = parse_backend(backend);
  p.seed = seed;
  for (auto& [key, v] : point.items()) {
    const ParamSpec* spec = find_param(method, key);
    if (!spec)
      pc.fail(key, cat("unknown ", to_string(method), " parameter '", key, "' (expected one of: ",
                       param_names(method), ")"), at);
    try {
      set_param(p, *spec, param_value_from_json(key, v));
    } catch (const InputError& e) {
      pc.fail(key, e.what(), at);
    }
  }
  return p;
}

/// Every combination of the values of `params` (a value or an array of values each).
std::vector<json> grid(const PlanChecker& pc, const json& params, size_t at) {
  std::vector<json> points{json::object()};
  for (auto& [key, v] : params.items()) {
    const json values = v.is_array() ? v : json::array({v});
    if (values.empty()) pc.fail(key, cat("parameter '", key, "' has an empty list of values"), at);
    if (points.size() * values.size() > kMaxPlanRuns)
      pc.fail(key, cat("the parameter grid has more than ", kMaxPlanRuns, " points"), at);
    std::vector<json> next;
    for (const auto& p : points)
      for (const auto& value : values) {
        json q = p;
        q[key] = value;
        next.push_back(q);
      }
    points = std::move(next);
  }
  return points;
}

std::string value_tag(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  std::string s = v.dump();
  return s;
}

Plan parse_checked(const PlanChecker& pc, const std::string& path, const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    const size_t at = std::min<size_t>(e.byte, text.size());
    const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(at), '\n'));
    std::string what = e.what();
    const size_t colon = what.rfind(": ");
    throw InputError(cat(path, " line ", line, ": not valid JSON: ", colon == std::string::npos ? what : what.substr(colon + 2)));
  }
  if (!j.is_object()) pc.fail("{", "the plan must be a JSON object with \"inputs\" and \"runs\"");
  for (auto& [key, v] : j.items())
    if (key != "output" && key != "inputs" && key != "runs" && key != "seeds" && key != "backend" && key != "outputs")
      pc.fail(key, cat("unknown key '", key, "' (expected output, inputs, runs, seeds, backend, outputs)"));

  Plan plan;
  plan.path = path;
  const fs::path base = fs::absolute(path).parent_path();
  auto rel = [&](const std::string& p) { return fs::path(p).is_absolute() ? fs::path(p) : base / p; };
  plan.output = rel(j.value("output", std::string("batch-out")));
  plan.backend = j.value("backend", std::string("auto"));
  try {
    parse_backend(plan.backend);
  } catch (const InputError& e) {
    pc.fail(plan.backend, e.what());
  }

  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty())
    pc.fail("inputs", "\"inputs\" must be a non-empty array of {\"path\": ...} objects");
  for (const auto& in : j["inputs"]) {
    PlanInput pi;
    if (in.is_string()) {
      pi.path = in.get<std::string>();
    } else if (in.is_object() && in.contains("path") && in["path"].is_string()) {
      pi.path = in["path"].get<std::string>();
      for (auto& [key, v] : in.items())
        if (key != "path" && key != "name" && key != "metadata" && key != "label_column" && key != "format")
          pc.fail(key, cat("unknown input key '", key, "' (expected path, name, metadata, label_column, format)"));
      pi.name = in.value("name", std::string());
      pi.metadata = in.value("metadata", std::string());
      pi.label_column = in.value("label_column", std::string());
      pi.format = in.value("format", std::string("auto"));
    } else {
      pc.fail("inputs", "each input must be a path or an object with a \"path\"");
    }
    const std::string shown = pi.path;
    pi.path = rel(pi.path).string();
    std::error_code ec;
    if (!fs::exists(pi.path, ec)) pc.fail(shown, cat("input '", shown, "' does not exist"));
    if (!pi.metadata.empty()) {
      const std::string m = pi.metadata;
      pi.metadata = rel(pi.metadata).string();
      if (!fs::exists(pi.metadata, ec)) pc.fail(m, cat("metadata '", m, "' does not exist"));
    }
    try {
      parse_format(pi.format);
    } catch (const InputError& e) {
      pc.fail(pi.format, e.what());
    }
    if (pi.name.empty()) pi.name = fs::path(pi.path).filename().string();
    for (const auto& other : plan.inputs)
      if (other.name == pi.name) pc.fail(pi.name, cat("two inputs are named '", pi.name, "': give them distinct \"name\"s"));
    plan.inputs.push_back(pi);
  }

  std::vector<uint64_t> seeds{0};
  if (j.contains("seeds")) {
    const json s = j["seeds"].is_array() ? j["seeds"] : json::array({j["seeds"]});
    seeds.clear();
    for (const auto& v : s) {
      if (!v.is_number_unsigned()) pc.fail("seeds", cat("seeds must be non-negative integers, got ", v.dump()));
      seeds.push_back(v.get<uint64_t>());
    }
    if (seeds.empty()) pc.fail("seeds", "\"seeds\" is empty");
  }

  if (!j.contains("runs") || !j["runs"].is_array() || j["runs"].empty())
    pc.fail("runs", "\"runs\" must be a non-empty array of {\"method\": ..., \"dims\": ..., \"params\": {...}}");
  for (size_t ri = 0; ri < j["runs"].size(); ++ri) {
    const json& r = j["runs"][ri];
    const size_t at = pc.run_start(ri);
    if (!r.is_object() || !r.contains("method") || !r["method"].is_string())
      pc.fail("runs", "each run needs a \"method\": \"pca\", \"tsne\" or \"umap\"");
    const std::string method = r["method"].get<std::string>();
    Method m{};
    try {
      m = parse_method(method);
    } catch (const InputError& e) {
      pc.fail(method, e.what(), at);
    }
    for (auto& [key, v] : r.items())
      if (key != "method" && key != "dims" && key != "params")
        pc.fail(key, cat("unknown run key '", key, "' (expected method, dims, params)"), at);
    const json dims = r.contains("dims") ? (r["dims"].is_array() ? r["dims"] : json::array({r["dims"]})) : json::array({2});
    const json params = r.value("params", json::object());
    if (!params.is_object()) pc.fail("params", "\"params\" must be an object of name: value or name: [values]", at);
    for (const auto& d : dims) {
      if (!d.is_number_integer() || d.get<int>() < 1 || (method != "pca" && d.get<int>() > 3) || (method != "pca" && d.get<int>() < 2))
        pc.fail("dims", cat("dims must be 2 or 3", method == "pca" ? " (PCA: any positive integer)" : "", ", got ", d.dump()), at);
      for (const auto& point : grid(pc, params, at)) {
        // Names, types and ranges now, before any work.
        const ReduceParams check = checked_params(pc, m, d.get<int>(), plan.backend, 0, point, at);
        try {  // every check that does not need the data's size
          constexpr int64_t kAnySize = std::numeric_limits<int32_t>::max();
          check_reduce_params(check, kAnySize, kAnySize);
        } catch (const InputError& e) {
          pc.fail(method, e.what(), at);
        }
        for (const auto& in : plan.inputs)
          for (uint64_t seed : seeds) {
            PlanRun pr;
            pr.input = in.name;
            pr.method = method;
            pr.dims = d.get<int>();
            pr.seed = seed;
            pr.params = point;
            std::string tag = cat(method, "-", pr.dims, "d");
            for (auto& [key, v] : point.items()) tag += "-" + key + "=" + value_tag(v);
            for (auto& c : tag)
              if (c == '/' || c == ' ' || c == '"') c = '_';
            pr.id = cat(in.name, "/", tag, "-seed", seed);
            if (plan.runs.size() >= kMaxPlanRuns)
              pc.fail("runs", cat("the plan expands to more than ", kMaxPlanRuns, " runs"), at);
            plan.runs.push_back(pr);
          }
      }
    }
  }

  if (j.contains("outputs")) {
    const json& o = j["outputs"];
    if (!o.is_object()) pc.fail("outputs", "\"outputs\" must be an object");
    for (auto& [key, v] : o.items()) {
      if (key == "npy" || key == "csv" || key == "tsv" || key == "png" || key == "tensorboard") {
        if (!v.is_boolean()) pc.fail(key, cat("outputs.", key, " must be true or false"));
        (key == "npy" ? plan.npy : key == "csv" ? plan.csv : key == "tsv" ? plan.tsv : key == "png" ? plan.png : plan.tensorboard) = v.get<bool>();
      } else if (key == "png_size") {
        const std::string sz = v.is_string() ? v.get<std::string>() : "";
        if (std::sscanf(sz.c_str(), "%dx%d", &plan.png_w, &plan.png_h) != 2 || plan.png_w < 16 || plan.png_h < 16)
          pc.fail(key, "outputs.png_size must look like \"1280x960\"");
      } else if (key == "views") {
        plan.views.clear();
        if (!v.is_array()) pc.fail(key, "outputs.views must be [[azimuth, elevation], ...]");
        for (const auto& a : v) {
          if (!a.is_array() || a.size() != 2 || !a[0].is_number() || !a[1].is_number())
            pc.fail(key, "outputs.views must be [[azimuth, elevation], ...] in degrees");
          plan.views.emplace_back(a[0].get<float>(), a[1].get<float>());
        }
      } else {
        pc.fail(key, cat("unknown output '", key, "' (expected npy, csv, tsv, png, tensorboard, png_size, views)"));
      }
    }
  }
  return plan;
}

}  // namespace

Plan parse_plan_text(const std::string& path, const std::string& text) {
  PlanChecker pc(path, text);
  try {
    return parse_checked(pc, path, text);
  } catch (const json::exception& e) {
    // A value of the wrong JSON type where the checks above read it directly.
    std::string what = e.what();
    const size_t colon = what.rfind("] ");
    throw InputError(cat(path, ": ", colon == std::string::npos ? what : what.substr(colon + 2)));
  }
}

Plan parse_plan(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  PRISM_EXPECTS(f.good(), path, ": cannot read the plan");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_plan_text(path, ss.str());
}

ReduceParams run_params(const Plan& plan, const PlanRun& run) {
  return checked_params(PlanChecker(plan.path, ""), parse_method(run.method), run.dims, plan.backend, run.seed,
                        run.params);
}

}  // namespace prism::app
