#pragma once
// The results of `prism bench`: one BenchRun per run (one seed), grouped by
// input x method x dims x implementation, shown as mean±sd over seeds in a
// terminal table and written as Markdown, CSV or JSON, plus a picture grid.
#include <cmath>
#include <string>
#include <vector>

#include "prism/dataset.hpp"
#include "prism/metrics.hpp"

namespace prism::app {

struct BenchRun {
  std::string input, method, impl, backend;
  int dims = 2;
  uint64_t seed = 0;
  bool ok = false;
  std::string error;   ///< why it failed
  std::string notes;   ///< how a peer ran ("unseeded, 2 threads, JIT warm-up 12.3 s excluded")
  double load = 0, preprocess = 0, knn = 0, init = 0, optimise = 0, total = 0, peak_mib = NAN;
  /// Peak resident memory at the end of each stage, MiB (NaN where not measured).
  double peak_knn_mib = NAN, peak_init_mib = NAN;
  Faithfulness f;
  double kl = NAN;
  Matrix y;  ///< kept for the first seed only (the picture)
  const Metadata* meta = nullptr;
};

/// Prints the table to stdout; with `out` (.md, .csv or .json) also writes it.
/// `k` is the metrics' k (column titles); `spread`: show ±sd.
void write_bench_report(const std::vector<BenchRun>& runs, int k, bool spread, const std::string& out);
/// The first seed's embedding of every successful combination, in one PNG.
void write_bench_grid(const std::vector<BenchRun>& runs, const std::string& png);
/// Checks a report path's extension before any work.
void check_bench_report_path(const std::string& out);

}  // namespace prism::app
