// prism bench INPUT... --methods pca,tsne,umap --dims 2,3 [--seeds 3] [--backends cpu,cuda] [--peers]
// Every combination, timed per stage, with peak memory and faithfulness,
// mean and spread over seeds; peers (umap-learn, openTSNE, scikit-learn) on
// the same data with the same metrics. A failed run is a row with its reason.
// Peers: bench_peers.*; the table and files: bench_report.*.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>

#include "bench_peers.hpp"
#include "bench_report.hpp"
#include "command.hpp"
#include "common.hpp"
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

struct BenchOptions {
  std::vector<std::string> inputs;
  InputOptions in;
  ReduceOptions ro;
  std::string methods = "pca,tsne,umap", dims = "2,3", backends = "auto", out, png;
  int seeds = 1;
  uint64_t first_seed = 1;
  bool peers = false, peers_seeded = false;
  std::string peer_names;
  int k = 15;
  int64_t sample = 10000;
  int64_t peer_sample = 0;  ///< > 0: peers (and Prism again) also run on a seeded sample of this many rows
};

/// The combinations to run, checked before any work.
struct Grid {
  std::vector<Method> methods;
  std::vector<int> dims;
  std::vector<std::string> backends;
};

Grid check_options(const BenchOptions& o) {
  Grid g;
  for (const auto& m : split(o.methods)) g.methods.push_back(parse_method(m));
  for (const auto& d : split(o.dims)) {
    try {
      g.dims.push_back(std::stoi(d));
    } catch (const std::exception&) {
      throw InputError(cat("--dims: '", d, "' is not a number"));
    }
  }
  g.backends = split(o.backends);
  PRISM_EXPECTS(!g.methods.empty() && !g.dims.empty() && !g.backends.empty() && o.seeds >= 1,
                "nothing to run: give --methods, --dims, --backends and --seeds >= 1");
  for (const auto& b : g.backends) parse_backend(b);
  for (Method m : g.methods)
    for (int d : g.dims) {
      ReduceOptions ro = o.ro;
      ro.dims = d;
      check_reduce_params(ro.resolve_for(m, 0), std::numeric_limits<int32_t>::max(),
                          std::numeric_limits<int32_t>::max());
    }
  for (const auto& in : o.inputs) {
    std::error_code ec;
    PRISM_EXPECTS(fs::exists(in, ec), in, ": no such file");
  }
  check_bench_report_path(o.out);
  return g;
}

/// The progress bar, also noting the peak resident memory at the end of each stage.
class StagePeaks : public ProgressBar {
 public:
  void begin(std::string_view stage, int64_t total) override {
    stage_name_ = stage;
    ProgressBar::begin(stage, total);
  }
  void end() override {
    ProgressBar::end();
    peaks_[stage_name_] = peak_rss_mib();
  }
  double peak(const std::string& stage) const {
    const auto it = peaks_.find(stage);
    return it == peaks_.end() ? NAN : it->second;
  }

 private:
  std::string stage_name_;
  std::map<std::string, double> peaks_;
};

/// A seeded uniform sample of n rows without replacement, kept in their
/// original order, with their metadata (labels included).
Dataset sample_dataset(const Dataset& ds, int64_t n, uint64_t seed) {
  const std::vector<int64_t> rows = sample_rows(ds.rows(), n, seed ^ 0x9E3779B97F4A7C15ULL);
  Matrix m(n, ds.cols());
  for (int64_t i = 0; i < n; ++i) std::copy(ds.x.row(rows[i]), ds.x.row(rows[i]) + ds.cols(), m.row(i));
  Dataset out;
  out.source = ds.source;
  out.format = ds.format;
  out.dtype = ds.dtype;
  out.meta = ds.meta;
  if (!out.meta.empty()) out.meta.select_rows(rows);
  out.adopt(std::move(m));
  return out;
}

void run_prism(BenchRun& r, const Dataset& ds, const ReduceParams& params) {
  StagePeaks bar;
  reset_peak_rss();
  Projection p = reduce(ds.x, params, &bar);
  throw_if_interrupted();
  r.peak_mib = peak_rss_mib();
  r.peak_knn_mib = bar.peak("knn");
  r.peak_init_mib = bar.peak("init");
  r.impl = "prism " PRISM_VERSION;
  r.backend = to_string(p.record.backend);
  r.preprocess = p.times.preprocess;
  r.knn = p.times.knn;
  r.init = p.times.init;
  r.optimise = p.times.optimise;
  r.total = r.load + p.times.total();
  r.kl = p.objective;
  for (const auto& w : p.record.warnings) r.notes += (r.notes.empty() ? "" : "; ") + w;
  r.y = std::move(p.y);
}

void run_peer_row(BenchRun& r, const std::string& impl, const std::string& x_npy, const ReduceParams& params,
                  bool seeded, const fs::path& dir) {
  r.impl = impl;
  r.backend = "cpu";
  PeerResult p = run_peer(impl, x_npy, params, seeded, dir.string());
  r.impl = p.name;
  r.optimise = p.seconds;
  r.total = r.load + p.seconds;
  r.peak_mib = p.peak_mib;
  r.notes = cat(p.seeded ? "seeded" : "unseeded", ", ", p.threads, p.threads == 1 ? " thread" : " threads");
  if (p.warmup_seconds > 0) r.notes += cat(", JIT warm-up ", std::round(p.warmup_seconds * 10) / 10, " s excluded");
  r.y = std::move(p.y);
}

int run_bench(const BenchOptions& o) {
  const Grid grid = check_options(o);
  std::deque<Dataset> datasets;  // deque: runs keep pointers to their metadata
  std::vector<BenchRun> runs;
  for (const auto& path : o.inputs) {
    InputOptions io = o.in;
    io.path = path;
    const auto t0 = std::chrono::steady_clock::now();
    Dataset& ds = datasets.emplace_back();
    try {
      ds = io.read();
    } catch (const Error& e) {
      BenchRun& r = runs.emplace_back();
      r.input = path;
      r.error = e.what();
      continue;
    }
    const double load = seconds_since(t0);
    const std::string name = fs::path(path).filename().string();
    // With --peer-sample below the row count, the peers run on a seeded sample
    // (at 1M points they would take hours), and Prism runs on that sample too,
    // so that the ratio compares the same data; Prism's full-size rows stay.
    const bool sampled = o.peers && o.peer_sample > 0 && o.peer_sample < ds.rows();
    const Dataset* peer_ds = &ds;
    std::string peer_name = name;
    if (sampled) {
      peer_ds = &datasets.emplace_back(sample_dataset(ds, o.peer_sample, o.first_seed));
      peer_name = cat(name, " (", o.peer_sample, "-row sample)");
      note(cat("bench: peers run on a seeded sample of ", o.peer_sample, " of ", ds.rows(), " rows"));
    }
    fs::path peer_dir;
    if (o.peers) {
      peer_dir = fs::temp_directory_path() / cat("prism-peers-", getpid());
      fs::create_directories(peer_dir);
      write_matrix((peer_dir / "x.npy").string(), peer_ds->x);
    }
    const auto only = split(o.peer_names);
    for (Method method : grid.methods)
      for (int d : grid.dims) {
        // (data set, its name in the table, implementation)
        struct Job {
          const Dataset* data;
          const std::string* name;
          std::string impl;
        };
        std::vector<Job> jobs;
        for (const auto& b : grid.backends) jobs.push_back({&ds, &name, "prism:" + b});
        if (sampled)
          for (const auto& b : grid.backends) jobs.push_back({peer_ds, &peer_name, "prism:" + b});
        if (o.peers)
          for (const auto& p : peers_for(method))
            if (only.empty() || std::find(only.begin(), only.end(), p) != only.end())
              jobs.push_back({peer_ds, &peer_name, p});
        for (const Job& job : jobs)
          for (int i = 0; i < o.seeds; ++i) {
            const std::string& impl = job.impl;
            BenchRun r;
            r.input = *job.name;
            r.method = to_string(method);
            r.dims = d;
            r.seed = o.first_seed + i;
            r.load = load;
            r.meta = &job.data->meta;
            note(cat("bench: ", r.input, " ", r.method, " ", d, "D ", impl, " seed ", r.seed));
            ReduceOptions ro = o.ro;
            ro.dims = d;
            try {
              const bool prism = impl.rfind("prism:", 0) == 0;
              if (prism) ro.backend = impl.substr(6);
              const ReduceParams params = ro.resolve_for(method, r.seed);
              if (prism) run_prism(r, *job.data, params);
              else run_peer_row(r, impl, (peer_dir / "x.npy").string(), params, o.peers_seeded, peer_dir);
              r.f = measure(*job.data, r.y.view(), params.metric, r.seed, o.k, o.sample);
              r.ok = true;
            } catch (const Interrupted&) {
              if (!peer_dir.empty()) fs::remove_all(peer_dir);
              throw;
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
  write_bench_report(runs, o.k, o.seeds > 1, o.out);
  if (!o.png.empty()) write_bench_grid(runs, o.png);
  return 0;
}

CommandSetup setup = [](CLI::App& sub) {
  auto s = std::make_shared<BenchOptions>();
  sub.add_option("inputs", s->inputs, "Input data sets (any format prism reads)")->required();
  s->in.add_to(sub, false);
  s->ro.add_to(sub, false);
  sub.add_option("--methods", s->methods, "Comma-separated: pca,tsne,umap")->capture_default_str();
  sub.add_option("--dims", s->dims, "Comma-separated output dimensions")->capture_default_str();
  sub.add_option("--backends", s->backends, "Comma-separated: auto,cpu,cuda")->capture_default_str();
  sub.add_option("--seeds", s->seeds, "Runs per combination (seeds first-seed, first-seed+1, ...)")
      ->capture_default_str();
  sub.add_option("--first-seed", s->first_seed, "The first seed")->capture_default_str();
  sub.add_flag("--peers", s->peers,
               "Also run the installed peers (umap-learn, openTSNE, scikit-learn) on the same data, "
               "at their best: unseeded and parallel, numba's JIT warmed on a small slice first");
  sub.add_option("--peer-names", s->peer_names,
                 "With --peers: only these (umap-learn,opentsne,sklearn-tsne,sklearn-pca)");
  sub.add_flag("--peers-seeded", s->peers_seeded,
               "Pass the seed to the peers (reproducible; umap-learn's SGD then runs on one thread)");
  sub.add_option("--peer-sample", s->peer_sample,
                 "With --peers: run the peers on a seeded uniform sample of this many rows when the input "
                 "has more (Prism runs on the sample too, beside its full-size rows); 0: all rows")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub.add_option("-k,--k", s->k, "k of trustworthiness@k and recall@k")->capture_default_str();
  sub.add_option("--sample", s->sample, "Points the metrics evaluate")->capture_default_str();
  sub.add_option("-o,--out", s->out, "Also write the table: report.md, .csv or .json");
  sub.add_option("--png", s->png, "Small multiples of every method's embedding, coloured by label");
  sub.footer(
      "Times are wall-clock seconds per stage (load, pre-reduction, kNN, initialisation, optimisation);\n"
      "peak memory is the process's resident peak at the end of the kNN graph, of the initialisation\n"
      "and of the whole run; metrics as in 'prism metrics'. With --seeds N, figures are mean±sd over\n"
      "the N runs. A peer's row says how it ran (seeded or not, threads, the JIT warm-up it excluded);\n"
      "peers run with $PRISM_PYTHON (default: python3 on PATH), e.g. a venv with umap-learn installed.\n\n"
      "Examples:\n"
      "  prism bench /usr/share/datasets/fashion-mnist --methods umap,tsne --dims 2 --peers --out report.md\n"
      "  prism bench a.npy b.npy --methods pca,umap --dims 2,3 --seeds 3 --png grid.png\n"
      "  prism bench mix1m.npy --methods umap --dims 2 --peers --peer-sample 200000 --out 1m.md\n"
      "  prism bench vectors.npy --methods umap --n-neighbors 30 --backends cpu,cuda --out report.json");
  return [s]() { return run_bench(*s); };
};

PRISM_COMMAND("bench", "Compare reduction methods: stage times, memory, faithfulness (and peers)", 60, setup);

}  // namespace
}  // namespace prism::app
