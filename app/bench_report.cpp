#include "bench_report.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "figure.hpp"
#include "prism/io.hpp"
#include "run_report.hpp"

namespace prism::app {
namespace {
namespace fs = std::filesystem;

struct Stat {
  double mean = NAN, sd = NAN;
  int n = 0;
};
template <class Get>
Stat stat(const std::vector<const BenchRun*>& runs, Get get) {
  Stat s;
  double sum = 0, sq = 0;
  for (const BenchRun* r : runs) {
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

}  // namespace

void check_bench_report_path(const std::string& out) {
  if (out.empty()) return;
  const std::string ext = fs::path(out).extension().string();
  PRISM_EXPECTS(ext == ".md" || ext == ".csv" || ext == ".json", out,
                ": unknown report format (expected .md, .csv or .json)");
}

namespace {

/// The seeds of each input x method x dims x implementation x backend, in order.
std::vector<std::vector<const BenchRun*>> group_runs(const std::vector<BenchRun>& runs) {
  std::vector<std::vector<const BenchRun*>> groups;
  std::map<std::string, size_t> index;
  for (const BenchRun& r : runs) {
    const std::string key =
        cat(r.input, "|", r.method, "|", r.dims, "|", r.impl.empty() ? r.error : r.impl, "|", r.backend);
    auto [it, fresh] = index.emplace(key, groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(&r);
  }
  return groups;
}

nlohmann::json run_json(const BenchRun& r) {
  return {{"input", r.input}, {"method", r.method}, {"dims", r.dims}, {"implementation", r.impl},
          {"backend", r.backend}, {"seed", r.seed}, {"ok", r.ok}, {"error", r.error}, {"notes", r.notes},
          {"times", {{"load_s", r.load}, {"preprocess_s", r.preprocess}, {"knn_s", r.knn}, {"init_s", r.init},
                     {"optimise_s", r.optimise}, {"total_s", r.total}}},
          {"peak_mib", {{"knn", number_or_null(r.peak_knn_mib)}, {"init", number_or_null(r.peak_init_mib)},
                        {"total", number_or_null(r.peak_mib)}}},
          {"metrics", r.ok ? to_json(r.f) : nlohmann::json(nullptr)},
          {"kl_divergence", number_or_null(r.kl)}};
}

std::string joined(const std::vector<std::string>& row, const std::string& sep, const std::string& before,
                   const std::string& after) {
  std::string line = before;
  for (size_t c = 0; c < row.size(); ++c) line += row[c] + (c + 1 < row.size() ? sep : "");
  return line + after;
}

}  // namespace

void write_bench_report(const std::vector<BenchRun>& runs, int k, bool spread, const std::string& out) {
  const auto groups = group_runs(runs);
  const std::vector<std::string> header = {
      "input",    "method",        "dims",   "implementation",    "backend",   "runs",    "load s",
      "pre s",    "kNN s",         "init s", "optimise s",        "total s",   "peak MiB (kNN/init/all)",
      cat("trust@", k), cat("recall@", k), "10-NN acc", "KL", "status"};
  std::vector<std::vector<std::string>> rows;
  nlohmann::json jruns = nlohmann::json::array();
  for (const auto& g : groups) {
    const BenchRun& r0 = *g[0];
    int ok = 0;
    std::string err;
    for (const BenchRun* r : g) {
      if (r->ok) ++ok;
      else if (err.empty()) err = r->error;
      jruns.push_back(run_json(*r));
    }
    auto col = [&](double BenchRun::*field, int prec, bool with_spread) {
      return fmt(stat(g, [field](const BenchRun& r) { return r.*field; }), prec, with_spread);
    };
    auto metric = [&](double Faithfulness::*field) {
      return fmt(stat(g, [field](const BenchRun& r) { return r.f.*field; }), 4, spread);
    };
    std::string status = ok == static_cast<int>(g.size()) ? "ok" : "failed: " + err;
    if (!r0.notes.empty()) status += " (" + r0.notes + ")";
    rows.push_back({r0.input, r0.method, r0.method.empty() ? "" : std::to_string(r0.dims), r0.impl, r0.backend,
                    cat(ok, "/", g.size()), col(&BenchRun::load, 2, false), col(&BenchRun::preprocess, 2, spread),
                    col(&BenchRun::knn, 2, spread), col(&BenchRun::init, 2, spread),
                    col(&BenchRun::optimise, 2, spread), col(&BenchRun::total, 2, spread),
                    cat(col(&BenchRun::peak_knn_mib, 0, false), "/", col(&BenchRun::peak_init_mib, 0, false), "/",
                        col(&BenchRun::peak_mib, 0, false)),
                    metric(&Faithfulness::trustworthiness), metric(&Faithfulness::knn_recall),
                    metric(&Faithfulness::knn_accuracy), col(&BenchRun::kl, 3, spread), status});
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

  if (out.empty()) return;
  const std::string ext = fs::path(out).extension().string();
  AtomicFile f(out);
  if (ext == ".json") {
    f.write(nlohmann::json({{"prism_version", PRISM_VERSION}, {"k", k}, {"runs", jruns}}).dump(2) + "\n");
  } else if (ext == ".csv") {
    auto csv = [&](std::vector<std::string> row) {
      for (auto& v : row) v = delimited_field(v, ',');
      f.write(joined(row, ",", "", "\n"));
    };
    csv(header);
    for (const auto& row : rows) csv(row);
  } else {  // .md
    f.write(joined(header, " | ", "| ", " |\n"));
    f.write(joined(std::vector<std::string>(header.size(), "---"), "|", "|", "|\n"));
    for (const auto& row : rows) f.write(joined(row, " | ", "| ", " |\n"));
  }
  f.commit();
  note(cat("wrote ", out));
}

void write_bench_grid(const std::vector<BenchRun>& runs, const std::string& png) {
  // The first successful seed of each combination.
  std::vector<Panel> panels;
  std::map<std::string, bool> seen;
  for (const BenchRun& r : runs) {
    if (!r.ok || r.y.rows() == 0) continue;
    if (!seen.emplace(cat(r.input, "|", r.method, "|", r.dims, "|", r.impl, "|", r.backend), true).second) continue;
    panels.push_back({r.y.view(), r.meta, cat(r.input, ": ", r.impl, " ", r.method, " ", r.dims, "D")});
  }
  PRISM_EXPECTS(!panels.empty(), "--png: no run succeeded, nothing to draw");
  render_grid_png(png, panels);
  note(cat("wrote ", png));
}

}  // namespace prism::app
