#include "batch_run.hpp"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include "common.hpp"
#include "figure.hpp"
#include "prism/io.hpp"
#include "reduce_options.hpp"
#include "run_report.hpp"

namespace prism::app {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

std::string hash_input(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return sha256_file(path);
  // A folder (IDX splits): the hash of its files' names and hashes, in name order.
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(path))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::string listing;
  for (const auto& f : files) listing += cat(f.filename().string(), " ", sha256_file(f.string()), "\n");
  return sha256_bytes(listing);
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

/// Reads the manifest of an earlier batch into the same folder (a new one
/// when there is none or it is unreadable) and updates its header.
json open_manifest(const Plan& plan, const fs::path& manifest_path) {
  std::error_code ec;
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
  manifest["plan"] = fs::absolute(plan.path).string();
  manifest["plan_sha256"] = sha256_file(plan.path);
  if (!manifest.contains("runs") || !manifest["runs"].is_object()) manifest["runs"] = json::object();
  if (!manifest.contains("inputs") || !manifest["inputs"].is_object()) manifest["inputs"] = json::object();
  for (const auto& in : plan.inputs) {
    manifest["inputs"][in.name] = {{"path", in.path}, {"sha256", hash_input(in.path)}};
    if (!in.metadata.empty()) manifest["inputs"][in.name]["metadata_sha256"] = sha256_file(in.metadata);
  }
  return manifest;
}

/// Writes one finished run's files into its folder and returns them (relative
/// to the output) with their hashes.
json write_outputs(const Plan& plan, const PlanRun& run, const Dataset& ds, const Projection& proj,
                   const json& record) {
  const fs::path dir = plan.output / run.id;
  fs::create_directories(dir);
  std::vector<fs::path> files;
  auto add = [&](const fs::path& f) -> std::string {
    files.push_back(f);
    return f.string();
  };
  if (plan.npy) write_matrix(add(dir / "embedding.npy"), proj.y.view());
  if (plan.csv) write_matrix(add(dir / "embedding.csv"), proj.y.view(), &ds.meta);
  if (plan.tsv) write_matrix(add(dir / "embedding.tsv"), proj.y.view(), &ds.meta);
  write_json_file(add(dir / "metrics.json"), {{"id", run.id}, {"metrics", record["metrics"]},
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
        render_projection_png(add(dir / cat("render-az", az, "-el", el, ".png")), proj.y.view(), ds.meta, po);
      }
    } else {
      render_projection_png(add(dir / "render.png"), proj.y.view(), ds.meta, po);
    }
  }
  json outputs = json::object();
  for (const auto& f : files) outputs[fs::relative(f, plan.output).string()] = sha256_file(f.string());
  return outputs;
}

/// Reduces, measures and writes one run; the manifest record of it.
json execute(const Plan& plan, const PlanRun& run, const Dataset& ds, double load_s) {
  json record = {{"input", run.input}, {"method", run.method}, {"dims", run.dims}, {"seed", run.seed},
                 {"params", run.params}, {"requested_backend", plan.backend}};
  const ReduceParams params = run_params(plan, run);
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
  record["metrics"] = to_json(measure(ds, proj.y.view(), params.metric, run.seed));
  record["outputs"] = write_outputs(plan, run, ds, proj, record);
  record["status"] = "ok";
  record["finished_at"] = now_utc();
  return record;
}

}  // namespace

BatchCounts run_batch(const Plan& plan, bool force) {
  std::error_code ec;
  fs::create_directories(plan.output);
  // A killed batch may have left temporary files (never a half-written output): clear them.
  for (const auto& e : fs::recursive_directory_iterator(plan.output))
    if (e.is_regular_file() && e.path().filename().string().find(".tmp-") != std::string::npos)
      fs::remove(e.path(), ec);
  const fs::path manifest_path = plan.output / "manifest.json";
  json manifest = open_manifest(plan, manifest_path);
  const char* kill_env = std::getenv("PRISM_BATCH_KILL_AFTER");
  const long kill_after = kill_env ? std::atol(kill_env) : -1;
  long updates = 0;
  auto save = [&] {
    write_json_file(manifest_path.string(), manifest);
    if (++updates == kill_after) raise(SIGKILL);
  };

  std::map<std::string, Dataset> loaded;
  BatchCounts counts;
  for (const auto& run : plan.runs) {
    json& entry = manifest["runs"][run.id];
    if (!force && run_is_complete(entry, plan.output, run.params, plan.backend)) {
      ++counts.skipped;
      continue;
    }
    note(cat("run ", run.id));
    const PlanInput& in =
        *std::find_if(plan.inputs.begin(), plan.inputs.end(), [&](auto& i) { return i.name == run.input; });
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
      entry = execute(plan, run, loaded[in.name], load_s);
      ++counts.done;
    } catch (const Interrupted&) {
      throw;  // the manifest keeps the runs finished so far; this one is redone next time
    } catch (const Error& e) {
      entry = {{"input", run.input}, {"method", run.method}, {"dims", run.dims}, {"seed", run.seed},
               {"params", run.params}, {"requested_backend", plan.backend}, {"status", "failed"},
               {"error", e.what()}};
      note(cat("run ", run.id, " failed: ", e.what()));
      ++counts.failed;
    }
    save();  // after every run: a killed batch resumes here
  }
  save();
  return counts;
}

}  // namespace prism::app
