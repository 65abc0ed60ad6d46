// prism bench INPUT... --methods pca,tsne,umap --dims 2,3 [--seeds 3] [--backend cpu,cuda] [--peers]
// Every combination, timed per stage, with peak memory and faithfulness,
// mean and spread over seeds; peers (umap-learn, openTSNE, scikit-learn) on
// the same data with the same metrics. A failed run is a row with its reason.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "common.hpp"
#include "figure.hpp"
#include "reduce_options.hpp"
#include "run_report.hpp"

namespace prism::app {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t a = 0;
  while (a <= s.size()) {
    const size_t b = s.find(',', a);
    std::string part = s.substr(a, b == std::string::npos ? std::string::npos : b - a);
    if (!part.empty()) out.push_back(part);
    if (b == std::string::npos) break;
    a = b + 1;
  }
  return out;
}

/// One run (one seed).
struct Run {
  std::string input, method, impl, backend;
  int dims = 2;
  uint64_t seed = 0;
  bool ok = false;
  std::string error;
  double load = 0, preprocess = 0, knn = 0, init = 0, optimise = 0, total = 0, peak_mib = NAN;
  Faithfulness f;
  double kl = NAN;
  Matrix y;  // kept for the first seed only (the picture)
  const Metadata* meta = nullptr;
};

struct Stat {
  double mean = NAN, sd = NAN;
  int n = 0;
};
template <class Get>
Stat stat(const std::vector<const Run*>& runs, Get get) {
  Stat s;
  double sum = 0, sq = 0;
  for (const Run* r : runs) {
    const double v = get(*r);
    if (!r->ok || std::isnan(v)) continue;
    sum += v;
    sq += v * v;
    ++s.n;
  }
  if (s.n == 0) return s;
  s.mean = sum / s.n;
  s.sd = s.n > 1 ? std::sqrt(std::max(0.0, (sq - sum * sum / s.n) / (s.n - 1))) : 0.0;
  return s;
}

std::string fmt(const Stat& s, int prec, bool spread) {
  if (s.n == 0) return "-";
  char buf[64];
  if (spread && s.n > 1) std::snprintf(buf, sizeof buf, "%.*f±%.*f", prec, s.mean, prec, s.sd);
  else std::snprintf(buf, sizeof buf, "%.*f", prec, s.mean);
  return buf;
}

std::string peers_script() {
  if (const char* env = std::getenv("PRISM_PEERS")) return env;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = 0;
    const fs::path installed = fs::path(self).parent_path().parent_path() / "share/prism/prism_peers.py";
    if (fs::exists(installed)) return installed.string();
  }
  return PRISM_PEERS_SCRIPT;
}

std::vector<std::string> peers_for(const std::string& method) {
  if (method == "umap") return {"umap-learn"};
  if (method == "tsne") return {"opentsne", "sklearn-tsne"};
  if (method == "pca") return {"sklearn-pca"};
  return {};
}

CommandSetup setup = [](CLI::App& sub) {
  struct State {
    std::vector<std::string> inputs;
    InputOptions in;
    ReduceOptions ro;
    std::string methods = "pca,tsne,umap", dims = "2,3", backends = "auto", out, png;
    int seeds = 1;
    uint64_t first_seed = 1;
    bool peers = false;
    std::string peer_names;
    int k = 15;
    int64_t sample = 10000;
  };
  auto s = std::make_shared<State>();
  sub.add_option("inputs", s->inputs, "Input data sets (any format prism reads)")->required();
  s->in.add_to(sub, false);
  s->ro.add_to(sub, false);
  sub.add_option("--methods", s->methods, "Comma-separated: pca,tsne,umap")->capture_default_str();
  sub.add_option("--dims", s->dims, "Comma-separated output dimensions")->capture_default_str();
  sub.add_option("--backends", s->backends, "Comma-separated: auto,cpu,cuda")->capture_default_str();
  sub.add_option("--seeds", s->seeds, "Runs per combination (seeds first-seed, first-seed+1, ...)")->capture_default_str();
  sub.add_option("--first-seed", s->first_seed, "The first seed")->capture_default_str();
  sub.add_flag("--peers", s->peers,
               "Also run the installed peers (umap-learn, openTSNE, scikit-learn) on the same data");
  sub.add_option("--peer-names", s->peer_names,
                 "With --peers: only these (umap-learn,opentsne,sklearn-tsne,sklearn-pca)");
  sub.add_option("-k,--k", s->k, "k of trustworthiness@k and recall@k")->capture_default_str();
  sub.add_option("--sample", s->sample, "Points the metrics evaluate")->capture_default_str();
  sub.add_option("-o,--out", s->out, "Also write the table: report.md, .csv or .json");
  sub.add_option("--png", s->png, "Small multiples of every method's embedding, coloured by label");
  sub.footer(
      "Times are wall-clock seconds per stage (load, pre-reduction, kNN, initialisation, optimisation);\n"
      "peak memory is the process's resident peak during the run; metrics as in 'prism metrics'.\n"
      "With --seeds N, figures are mean±sd over the N runs.\n\n"
      "Examples:\n"
      "  prism bench /usr/share/datasets/fashion-mnist --methods umap,tsne --dims 2 --peers --out report.md\n"
      "  prism bench a.npy b.npy --methods pca,umap --dims 2,3 --seeds 3 --png grid.png\n"
      "  prism bench vectors.npy --methods umap --backends cpu,cuda --out report.json");
  return [s]() {
    const auto methods = split(s->methods);
    std::vector<int> dims;
    for (const auto& d : split(s->dims)) {
      try {
        dims.push_back(std::stoi(d));
      } catch (const std::exception&) {
        throw InputError(cat("--dims: '", d, "' is not a number"));
      }
    }
    const auto backends = split(s->backends);
    PRISM_EXPECTS(!methods.empty() && !dims.empty() && !backends.empty() && s->seeds >= 1,
                  "nothing to run: give --methods, --dims, --backends and --seeds >= 1");
    for (const auto& m : methods) parse_method(m);  // validate everything before any work
    for (const auto& b : backends) parse_backend(b);
    for (const auto& in : s->inputs) {
      std::error_code ec;
      PRISM_EXPECTS(fs::exists(in, ec), in, ": no such file");
    }

    std::string report_ext;
    if (!s->out.empty()) {
      report_ext = fs::path(s->out).extension().string();
      PRISM_EXPECTS(report_ext == ".md" || report_ext == ".csv" || report_ext == ".json", s->out,
                    ": unknown report format (expected .md, .csv or .json)");
    }
    std::deque<Dataset> datasets;
    std::vector<Run> runs;
    for (const auto& path : s->inputs) {
      InputOptions io = s->in;
      io.path = path;
      const auto t0 = std::chrono::steady_clock::now();
      Dataset& ds = datasets.emplace_back();  // deque: runs keep pointers to its metadata
      try {
        ds = io.read();
      } catch (const Error& e) {
        Run r;
        r.input = path;
        r.error = e.what();
        runs.push_back(std::move(r));
        continue;
      }
      const double load = seconds_since(t0);
      const std::string name = fs::path(path).filename().string();
      fs::path peer_dir;
      if (s->peers) {
        peer_dir = fs::temp_directory_path() / cat("prism-peers-", getpid());
        fs::create_directories(peer_dir);
        write_matrix((peer_dir / "x.npy").string(), ds.x);
      }
      for (const auto& method : methods)
        for (int d : dims) {
          std::vector<std::string> impls;
          for (const auto& b : backends) impls.push_back("prism:" + b);
          if (s->peers) {
            const auto only = split(s->peer_names);
            for (const auto& p : peers_for(method))
              if (only.empty() || std::find(only.begin(), only.end(), p) != only.end()) impls.push_back(p);
          }
          for (const auto& impl : impls)
            for (int i = 0; i < s->seeds; ++i) {
              Run r;
              r.input = name;
              r.meta = &ds.meta;
              r.method = method;
              r.dims = d;
              r.seed = s->first_seed + i;
              r.load = load;
              note(cat("bench: ", name, " ", method, " ", d, "D ", impl, " seed ", r.seed));
              try {
                if (impl.rfind("prism:", 0) == 0) {
                  ReduceOptions ro = s->ro;
                  ro.dims = d;
                  ro.backend = impl.substr(6);
                  const ReduceParams params = ro.resolve_for(parse_method(method), r.seed);
                  ProgressBar bar;
                  reset_peak_rss();
                  Projection p = reduce(ds.x, params, &bar);
                  r.peak_mib = peak_rss_mib();
                  r.impl = "prism " PRISM_VERSION;
                  r.backend = to_string(p.record.backend);
                  r.preprocess = p.times.preprocess;
                  r.knn = p.times.knn;
                  r.init = p.times.init;
                  r.optimise = p.times.optimise;
                  r.total = load + p.times.total();
                  r.kl = p.objective;
                  r.y = std::move(p.y);
                } else {
                  const ReduceParams pp = s->ro.resolve_for(parse_method(method), r.seed);
                  const fs::path y = peer_dir / "y.npy", rep = peer_dir / "report.json";
                  fs::remove(rep);
                  const std::string cmd = cat(
                      "python3 '", peers_script(), "' --impl ", impl, " --x '", (peer_dir / "x.npy").string(),
                      "' --dims ", d, " --seed ", r.seed, " --out '", y.string(), "' --report '", rep.string(),
                      "' --perplexity ", pp.tsne.perplexity, " --n-neighbors ", pp.umap.n_neighbors,
                      " --min-dist ", pp.umap.min_dist, " --pca-dims ", pp.tsne.pca_dims, " --metric ",
                      to_string(pp.metric), " 2>&1");
                  FILE* pipe = popen(cmd.c_str(), "r");
                  std::string output;
                  char buf[512];
                  while (pipe && std::fgets(buf, sizeof buf, pipe)) output += buf;
                  const int status = pipe ? pclose(pipe) : -1;
                  r.impl = impl;
                  r.backend = "cpu";
                  if (status != 0 || !fs::exists(rep)) {
                    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
                    const size_t nl = output.rfind('\n');
                    throw RuntimeError(output.empty() ? "peer failed" : output.substr(nl == std::string::npos ? 0 : nl + 1));
                  }
                  std::ifstream rf(rep);
                  const auto j = nlohmann::json::parse(rf);
                  if (!j["version"].is_null()) r.impl += " " + j["version"].get<std::string>();
                  r.optimise = j["seconds"].get<double>();
                  r.total = load + r.optimise;
                  r.peak_mib = j.value("peak_mib", NAN);
                  r.y = to_matrix(read_dataset(y.string()).x);
                }
                r.f = measure(ds, r.y.view(), s->ro.resolve_for(parse_method(method), r.seed).metric, r.seed,
                              s->k, s->sample);
                r.ok = true;
              } catch (const Error& e) {
                r.error = e.what();
              } catch (const std::exception& e) {
                r.error = e.what();
              }
              if (!r.ok) note(cat("bench: failed: ", r.error));
              if (i > 0) r.y = Matrix();
              runs.push_back(std::move(r));
            }
        }
      if (!peer_dir.empty()) fs::remove_all(peer_dir);
    }

    // Group the seeds of each combination.
    std::vector<std::vector<const Run*>> groups;
    std::map<std::string, size_t> index;
    for (const Run& r : runs) {
      const std::string key = cat(r.input, "|", r.method, "|", r.dims, "|", r.impl.empty() ? r.error : r.impl, "|", r.backend);
      auto [it, fresh] = index.emplace(key, groups.size());
      if (fresh) groups.emplace_back();
      groups[it->second].push_back(&r);
    }
    const bool spread = s->seeds > 1;
    const std::vector<std::string> header = {"input", "method", "dims", "implementation", "backend", "runs",
                                             "load s", "pre s", "kNN s", "init s", "optimise s", "total s",
                                             "peak MiB", cat("trust@", s->k), cat("recall@", s->k), "10-NN acc",
                                             "KL", "status"};
    std::vector<std::vector<std::string>> rows;
    nlohmann::json jruns = nlohmann::json::array();
    for (const auto& g : groups) {
      const Run& r0 = *g[0];
      int ok = 0;
      std::string err;
      for (const Run* r : g) {
        if (r->ok) ++ok;
        else if (err.empty()) err = r->error;
      }
      rows.push_back({r0.input, r0.method, r0.method.empty() ? "" : std::to_string(r0.dims), r0.impl, r0.backend,
                      cat(ok, "/", g.size()),
                      fmt(stat(g, [](const Run& r) { return r.load; }), 2, false),
                      fmt(stat(g, [](const Run& r) { return r.preprocess; }), 2, spread),
                      fmt(stat(g, [](const Run& r) { return r.knn; }), 2, spread),
                      fmt(stat(g, [](const Run& r) { return r.init; }), 2, spread),
                      fmt(stat(g, [](const Run& r) { return r.optimise; }), 2, spread),
                      fmt(stat(g, [](const Run& r) { return r.total; }), 2, spread),
                      fmt(stat(g, [](const Run& r) { return r.peak_mib; }), 0, false),
                      fmt(stat(g, [](const Run& r) { return r.f.trustworthiness; }), 4, spread),
                      fmt(stat(g, [](const Run& r) { return r.f.knn_recall; }), 4, spread),
                      fmt(stat(g, [](const Run& r) { return r.f.knn_accuracy; }), 4, spread),
                      fmt(stat(g, [](const Run& r) { return r.kl; }), 3, spread),
                      ok == static_cast<int>(g.size()) ? "ok" : "failed: " + err});
      for (const Run* r : g)
        jruns.push_back({{"input", r->input}, {"method", r->method}, {"dims", r->dims}, {"implementation", r->impl},
                         {"backend", r->backend}, {"seed", r->seed}, {"ok", r->ok}, {"error", r->error},
                         {"times", {{"load_s", r->load}, {"preprocess_s", r->preprocess}, {"knn_s", r->knn},
                                    {"init_s", r->init}, {"optimise_s", r->optimise}, {"total_s", r->total}}},
                         {"peak_mib", number_or_null(r->peak_mib)},
                         {"metrics", r->ok ? to_json(r->f) : nlohmann::json(nullptr)},
                         {"kl_divergence", number_or_null(r->kl)}});
    }

    // Terminal table.
    std::vector<size_t> width(header.size());
    for (size_t c = 0; c < header.size(); ++c) {
      width[c] = header[c].size();
      for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
    }
    auto print_row = [&](const std::vector<std::string>& row) {
      for (size_t c = 0; c < row.size(); ++c)
        std::printf("%-*s%s", static_cast<int>(width[c]), row[c].c_str(), c + 1 < row.size() ? "  " : "\n");
    };
    print_row(header);
    for (const auto& row : rows) print_row(row);

    if (!s->out.empty()) {
      const std::string& ext = report_ext;
      AtomicFile f(s->out);
      if (ext == ".json") {
        f.write(nlohmann::json({{"prism_version", PRISM_VERSION}, {"k", s->k}, {"runs", jruns}}).dump(2) + "\n");
      } else if (ext == ".csv") {
        auto csv_row = [&](const std::vector<std::string>& row) {
          std::string line;
          for (size_t c = 0; c < row.size(); ++c) {
            std::string v = row[c];
            if (v.find_first_of(",\"\n") != std::string::npos) {
              std::string q = "\"";
              for (char ch : v) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
              v = q + "\"";
            }
            line += v + (c + 1 < row.size() ? "," : "\n");
          }
          f.write(line);
        };
        csv_row(header);
        for (const auto& row : rows) csv_row(row);
      } else if (ext == ".md") {
        auto md_row = [&](const std::vector<std::string>& row) {
          std::string line = "|";
          for (const auto& v : row) line += " " + v + " |";
          f.write(line + "\n");
        };
        md_row(header);
        f.write("|" + [&] { std::string sep; for (size_t c = 0; c < header.size(); ++c) sep += "---|"; return sep; }() + "\n");
        for (const auto& row : rows) md_row(row);
      }
      f.commit();
      note(cat("wrote ", s->out));
    }
    if (!s->png.empty()) {
      std::vector<Panel> panels;
      for (const auto& g : groups)
        if (g[0]->ok && g[0]->y.rows() > 0)
          panels.push_back({g[0]->y.view(), g[0]->meta,
                            cat(g[0]->input, ": ", g[0]->impl, " ", g[0]->method, " ", g[0]->dims, "D")});
      PRISM_EXPECTS(!panels.empty(), "--png: no run succeeded, nothing to draw");
      render_grid_png(s->png, panels);
      note(cat("wrote ", s->png));
    }
    return 0;
  };
};

PRISM_COMMAND("bench", "Compare reduction methods: stage times, memory, faithfulness (and peers)", 60, setup);

}  // namespace
}  // namespace prism::app
