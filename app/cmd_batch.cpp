// prism batch plan.json: inputs x methods x parameter grids x seeds, each run
// written into its own folder (projection, picture, metrics, TensorBoard
// projector bundle), one manifest.json for the whole batch. Re-running skips
// finished runs whose files still match the manifest; every file is written
// atomically, so a killed batch resumes without corrupt outputs.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command.hpp"
#include "common.hpp"
#include "figure.hpp"
#include "reduce_options.hpp"
#include "run_report.hpp"

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

struct PlanInput {
  std::string name, path, metadata, label_column, format = "auto";
};

struct PlanRun {
  std::string id, input, method;
  int dims = 2;
  uint64_t seed = 0;
  json params;  // the grid point: {"n_neighbors": 15, ...}
};

struct Plan {
  fs::path output;
  std::string backend = "auto";
  std::vector<PlanInput> inputs;
  std::vector<PlanRun> runs;
  bool npy = true, csv = true, tsv = false, png = true, tensorboard = true;
  int png_w = 1280, png_h = 960;
  std::vector<std::pair<float, float>> views = {{30, 20}, {120, 20}, {210, 60}};
};

std::string value_tag(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  std::string s = v.dump();
  return s;
}

/// The parameters of one run: the plan's method, dims, backend and seed, and
/// its grid point applied through the parameter table (names, types and
/// ranges checked there). Plan errors name the plan's line of the key.
ReduceParams run_params(const PlanChecker& pc, Method method, int dims, const std::string& backend,
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

std::vector<json> grid(const json& params) {
  std::vector<json> points{json::object()};
  for (auto& [key, v] : params.items()) {
    const json values = v.is_array() ? v : json::array({v});
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

Plan parse_plan(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  PRISM_EXPECTS(f.good(), path, ": cannot read the plan");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  PlanChecker pc(path, text);
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
      for (const auto& point : grid(params)) {
        // Names, types and ranges now, before any work.
        const ReduceParams check = run_params(pc, m, d.get<int>(), plan.backend, 0, point, at);
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

std::string hash_input(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return sha256_file(path);
  // A folder (IDX splits): the hash of its files' names and hashes, in name order.
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(path))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  const fs::path tmp = fs::temp_directory_path() / cat("prism-hash-", ::getpid());
  {
    std::ofstream out(tmp);
    for (const auto& f : files) out << f.filename().string() << " " << sha256_file(f.string()) << "\n";
  }
  const std::string h = sha256_file(tmp.string());
  fs::remove(tmp);
  return h;
}

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string cpu_description() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

/// True when every output listed for the run exists with the recorded hash.
bool run_is_complete(const json& entry, const fs::path& root, const json& params, const std::string& backend) {
  if (!entry.is_object() || entry.value("status", "") != "ok") return false;
  if (entry.value("params", json()) != params || entry.value("requested_backend", "") != backend) return false;
  if (!entry.contains("outputs") || entry["outputs"].empty()) return false;
  for (auto& [rel, hash] : entry["outputs"].items()) {
    const fs::path p = root / rel;
    std::error_code ec;
    if (!fs::exists(p, ec) || sha256_file(p.string()) != hash.get<std::string>()) return false;
  }
  return true;
}

void write_tensorboard(const fs::path& dir, const std::string& name, ConstView y, const Metadata& meta) {
  fs::create_directories(dir);
  write_vectors_tsv((dir / "tensor.tsv").string(), y);
  const bool has_meta = !meta.empty();
  if (has_meta) write_metadata_tsv((dir / "metadata.tsv").string(), meta);
  AtomicFile f((dir / "projector_config.pbtxt").string());
  std::string escaped;
  for (char c : name) escaped += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  f.write(cat("embeddings {\n  tensor_name: \"", escaped, "\"\n  tensor_shape: ", y.rows, "\n  tensor_shape: ", y.cols,
              "\n  tensor_path: \"tensor.tsv\"\n", has_meta ? "  metadata_path: \"metadata.tsv\"\n" : "", "}\n"));
  f.commit();
}

CommandSetup setup = [](CLI::App& sub) {
  struct State {
    std::string plan;
    bool force = false, dry_run = false;
  };
  auto s = std::make_shared<State>();
  sub.add_option("plan", s->plan, "The plan (JSON): inputs, runs with parameter grids, seeds, outputs")->required();
  sub.add_flag("--force", s->force, "Redo every run, even those the manifest says are done");
  sub.add_flag("--dry-run", s->dry_run, "Check the plan and list the runs without doing them");
  sub.footer(
      "A plan:\n"
      "  {\n"
      "    \"output\": \"fmnist-batch\",\n"
      "    \"inputs\": [{\"name\": \"fmnist\", \"path\": \"/usr/share/datasets/fashion-mnist\"}],\n"
      "    \"runs\": [{\"method\": \"umap\", \"dims\": [2, 3], \"params\": {\"n_neighbors\": [15, 50]}},\n"
      "             {\"method\": \"tsne\", \"dims\": 2, \"params\": {\"perplexity\": 30}},\n"
      "             {\"method\": \"pca\", \"dims\": 3}],\n"
      "    \"seeds\": [1, 2],\n"
      "    \"backend\": \"auto\",\n"
      "    \"outputs\": {\"npy\": true, \"csv\": true, \"png\": true, \"tensorboard\": true,\n"
      "                \"png_size\": \"1280x960\", \"views\": [[30, 20], [120, 20]]}\n"
      "  }\n"
      "Paths are relative to the plan's folder. Each run gets OUTPUT/INPUT/METHOD-Nd-PARAMS-seedS/ with\n"
      "embedding.npy/.csv, render.png (3D: one per view), metrics.json and tensorboard/ (open it in\n"
      "TensorBoard's projector); OUTPUT/manifest.json records versions, input and output hashes,\n"
      "parameters, seeds, backend and device, timings and metrics. Re-running skips finished runs.\n\n"
      "Examples:\n"
      "  prism batch plan.json\n"
      "  prism batch plan.json --dry-run\n"
      "  prism batch plan.json --force");
  return [s]() {
    const Plan plan = parse_plan(s->plan);
    note(cat("plan ", s->plan, ": ", plan.runs.size(), " runs over ", plan.inputs.size(), " inputs -> ", plan.output.string()));
    if (s->dry_run) {
      for (const auto& r : plan.runs) std::printf("%s\n", r.id.c_str());
      return 0;
    }
    std::error_code ec;
    fs::create_directories(plan.output);
    // A killed batch may have left temporary files (never a half-written output): clear them.
    for (const auto& e : fs::recursive_directory_iterator(plan.output))
      if (e.is_regular_file() && e.path().filename().string().find(".tmp-") != std::string::npos)
        fs::remove(e.path(), ec);
    const fs::path manifest_path = plan.output / "manifest.json";
    json manifest;
    if (fs::exists(manifest_path, ec)) {
      try {
        std::ifstream mf(manifest_path);
        manifest = json::parse(mf);
      } catch (const std::exception&) {
        note(cat(manifest_path.string(), " is unreadable: starting a new manifest"));
        manifest = json();
      }
    }
    if (!manifest.is_object()) manifest = json::object();
    manifest["prism_version"] = PRISM_VERSION;
    manifest["plan"] = fs::absolute(s->plan).string();
    manifest["plan_sha256"] = sha256_file(s->plan);
    if (!manifest.contains("runs") || !manifest["runs"].is_object()) manifest["runs"] = json::object();
    if (!manifest.contains("inputs") || !manifest["inputs"].is_object()) manifest["inputs"] = json::object();
    for (const auto& in : plan.inputs) {
      manifest["inputs"][in.name] = {{"path", in.path}, {"sha256", hash_input(in.path)}};
      if (!in.metadata.empty()) manifest["inputs"][in.name]["metadata_sha256"] = sha256_file(in.metadata);
    }

    std::map<std::string, Dataset> loaded;
    int done = 0, skipped = 0, failed = 0;
    for (const auto& run : plan.runs) {
      json& entry = manifest["runs"][run.id];
      if (!s->force && run_is_complete(entry, plan.output, run.params, plan.backend)) {
        ++skipped;
        continue;
      }
      note(cat("run ", run.id));
      const PlanInput& in = *std::find_if(plan.inputs.begin(), plan.inputs.end(), [&](auto& i) { return i.name == run.input; });
      json record = {{"input", run.input}, {"method", run.method}, {"dims", run.dims}, {"seed", run.seed},
                     {"params", run.params}, {"requested_backend", plan.backend}};
      try {
        double load_s = 0;
        if (!loaded.count(in.name)) {
          InputOptions io;
          io.path = in.path;
          io.metadata = in.metadata;
          io.label_column = in.label_column;
          io.format = in.format;
          const auto t0 = std::chrono::steady_clock::now();
          loaded[in.name] = io.read();
          load_s = seconds_since(t0);
          manifest["inputs"][in.name]["rows"] = loaded[in.name].rows();
          manifest["inputs"][in.name]["dims"] = loaded[in.name].cols();
        }
        const Dataset& ds = loaded[in.name];
        const ReduceParams params = run_params(PlanChecker(s->plan, ""), parse_method(run.method), run.dims,
                                               plan.backend, run.seed, run.params);
        ProgressBar bar;
        reset_peak_rss();
        const Projection proj = reduce(ds.x, params, &bar);
        throw_if_interrupted();
        record["backend"] = to_string(proj.record.backend);
        record["ran"] = record_json(proj.record);
        record["device"] = proj.record.backend == Backend::cuda ? cuda_device_description() : cpu_description();
        record["times"] = times_json(proj.times);
        record["times"]["load_s"] = load_s;
        record["peak_mib"] = number_or_null(peak_rss_mib());
        record["kl_divergence"] = number_or_null(proj.objective);
        record["all_params"] = params_json(params);
        const Faithfulness f = measure(ds, proj.y.view(), params.metric, run.seed);
        record["metrics"] = to_json(f);

        const fs::path dir = plan.output / run.id;
        fs::create_directories(dir);
        std::vector<fs::path> files;
        if (plan.npy) files.push_back(dir / "embedding.npy"), write_matrix(files.back().string(), proj.y.view());
        if (plan.csv) files.push_back(dir / "embedding.csv"), write_matrix(files.back().string(), proj.y.view(), &ds.meta);
        if (plan.tsv) files.push_back(dir / "embedding.tsv"), write_matrix(files.back().string(), proj.y.view(), &ds.meta);
        files.push_back(dir / "metrics.json");
        write_json_file(files.back().string(), {{"id", run.id}, {"metrics", record["metrics"]},
                                                {"kl_divergence", record["kl_divergence"]}, {"times", record["times"]}});
        if (plan.tensorboard) {
          write_tensorboard(dir / "tensorboard", run.id, proj.y.view(), ds.meta);
          for (const char* f : {"tensor.tsv", "projector_config.pbtxt"}) files.push_back(dir / "tensorboard" / f);
          if (!ds.meta.empty()) files.push_back(dir / "tensorboard" / "metadata.tsv");
        }
        if (plan.png) {
          PngOptions po;
          po.width = plan.png_w;
          po.height = plan.png_h;
          po.title = run.id;
          if (proj.y.cols() >= 3) {
            for (const auto& [az, el] : plan.views) {
              po.azimuth = az;
              po.elevation = el;
              files.push_back(dir / cat("render-az", az, "-el", el, ".png"));
              render_projection_png(files.back().string(), proj.y.view(), ds.meta, po);
            }
          } else {
            files.push_back(dir / "render.png");
            render_projection_png(files.back().string(), proj.y.view(), ds.meta, po);
          }
        }
        json outputs = json::object();
        for (const auto& f : files) outputs[fs::relative(f, plan.output).string()] = sha256_file(f.string());
        record["outputs"] = outputs;
        record["status"] = "ok";
        record["finished_at"] = now_utc();
        ++done;
      } catch (const Interrupted&) {
        throw;  // the manifest keeps the runs finished so far; this one is redone next time
      } catch (const Error& e) {
        record["status"] = "failed";
        record["error"] = e.what();
        note(cat("run ", run.id, " failed: ", e.what()));
        ++failed;
      }
      entry = record;
      write_json_file(manifest_path.string(), manifest);  // after every run: a killed batch resumes here
    }
    write_json_file(manifest_path.string(), manifest);
    note(cat("batch done: ", done, " run", done == 1 ? "" : "s", ", ", skipped, " already done, ", failed, " failed; manifest ",
             manifest_path.string()));
    return failed > 0 ? 3 : 0;
  };
};

PRISM_COMMAND("batch", "Run a plan of projections reproducibly: outputs, pictures, TensorBoard bundles, manifest", 70, setup);

}  // namespace
}  // namespace prism::app
