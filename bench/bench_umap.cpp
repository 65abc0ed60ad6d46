// UMAP on the CPU, Fashion-MNIST (70,000 x 784): the fuzzy graph, the
// spectral initialisation and the SGD epochs, timed apart and together. The
// kNN graph (NN-descent, k = 15) is built once outside the timings.
// Counters: seconds per stage, points/s, and two cheap quality checks in the
// embedding: recall@15 of the input kNN graph and leave-one-out 10-NN accuracy.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>

#include "bench_data.hpp"
#include "prism/dataset.hpp"
#include "prism/umap.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Data {
  prism::Dataset ds;
  std::vector<int32_t> labels;
  prism::KnnGraph knn;
};

/// PRISM_BENCH_UMAP_N (rows, default all 70,000) makes a quicker run.
const Data& data() {
  static const Data d = [] {
    Data r;
    r.ds = prism::bench::fashion_mnist();
    if (const char* n = std::getenv("PRISM_BENCH_UMAP_N")) {
      const int64_t rows = std::min<int64_t>(std::atoll(n), r.ds.x.rows);
      if (rows > 0) r.ds.x.rows = rows;
    }
    if (const auto* l = r.ds.meta.labels()) {
      auto codes = prism::encode_labels(*l).codes;
      codes.resize(r.ds.x.rows);
      r.labels = std::move(codes);
    }
    r.knn = prism::knn_approx_cpu(r.ds.x, 15, prism::Metric::euclidean, 0);
    return r;
  }();
  return d;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// recall@15 of the input graph and leave-one-out 10-NN accuracy, both in Y.
void quality(benchmark::State& state, const Data& d, prism::ConstView y) {
  const prism::KnnGraph ky = prism::knn_query(y, y, 16, prism::Metric::euclidean);
  int64_t hit = 0, right = 0;
  for (int64_t i = 0; i < ky.n; ++i) {
    // Column 0 is the point itself (distance 0) unless duplicates tie with it.
    std::vector<int32_t> nb;
    for (int j = 0; j < ky.k && static_cast<int>(nb.size()) < 15; ++j)
      if (ky.neighbors(i)[j] != i) nb.push_back(ky.neighbors(i)[j]);
    for (int j = 0; j < d.knn.k; ++j)
      hit += std::find(nb.begin(), nb.end(), d.knn.neighbors(i)[j]) != nb.end();
    if (!d.labels.empty()) {
      std::map<int32_t, int> votes;
      for (int j = 0; j < 10 && j < static_cast<int>(nb.size()); ++j) ++votes[d.labels[nb[j]]];
      int best = -1, count = 0;
      for (auto [c, v] : votes)
        if (v > count) best = c, count = v;
      right += best == d.labels[i];
    }
  }
  state.counters["recall15"] = static_cast<double>(hit) / (ky.n * d.knn.k);
  if (!d.labels.empty()) state.counters["acc10"] = static_cast<double>(right) / ky.n;
}

void BM_UmapFashionMnist(benchmark::State& state) {
  const Data& d = data();
  prism::UmapParams p;
  p.dims = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const auto t0 = Clock::now();
    auto r = prism::make_umap_cpu(d.knn, nullptr, p);  // fuzzy graph + spectral init
    const double prepare = seconds_since(t0);
    const auto t1 = Clock::now();
    prism::run_reducer(*r, nullptr);
    const double optimise = seconds_since(t1);
    state.SetIterationTime(prepare + optimise);
    state.counters["prepare_s"] = prepare;
    state.counters["optimise_s"] = optimise;
    state.counters["points_per_s"] = d.knn.n / (prepare + optimise);
    quality(state, d, r->embedding());
  }
}
BENCHMARK(BM_UmapFashionMnist)->ArgName("dims")->Arg(2)->Arg(3)->UseManualTime()
    ->Unit(benchmark::kSecond)->Iterations(1);

void BM_UmapFuzzyGraph(benchmark::State& state) {
  const Data& d = data();
  for (auto _ : state) benchmark::DoNotOptimize(prism::umap_fuzzy_graph(d.knn, prism::UmapParams{}));
  state.counters["points_per_s"] =
      benchmark::Counter(static_cast<double>(d.knn.n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_UmapFuzzyGraph)->Unit(benchmark::kMillisecond);

void BM_UmapInitOnly(benchmark::State& state) {
  // Fuzzy graph + initial layout (spectral or random), no epochs.
  const Data& d = data();
  prism::UmapParams p;
  p.init = state.range(0) ? prism::Init::spectral : prism::Init::random;
  for (auto _ : state) benchmark::DoNotOptimize(prism::make_umap_cpu(d.knn, nullptr, p));
}
BENCHMARK(BM_UmapInitOnly)->ArgName("spectral")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
