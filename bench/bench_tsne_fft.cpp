// One t-SNE repulsion pass (forces and Z) in 2D: Barnes-Hut at theta 0.5
// against the FFT-accelerated interpolation (openTSNE's defaults), at 100k and
// 1M points; the repulsion is the per-iteration cost that grows fastest with N.
//
// The layout is a t-SNE-like one: 1,000 round clusters (sizes varying 1:5,
// spread 1 to 3 units) on a disc of radius 80 sqrt(N / 1M). Real final
// layouts are wider at small N (Fashion-MNIST's 70k and the 1M mixture both
// span about +-100 units), so the 100k case flatters the FFT;
// PRISM_BENCH_LAYOUT=file.npy (n x 2 float32, e.g. the output of
// `prism reduce --method tsne`) benchmarks a real layout instead, at its own n.
//
// Also writes the seeded 1M x 128 Gaussian mixture of bench/RESULTS.md ("t-SNE
// at scale") for `prism reduce`:
//   prism_bench_tsne_fft --write-mixture data/mix1m.npy   (and data/mix1m.labels.tsv)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../engine/src/tsne/stages.hpp"
#include "../engine/src/tsne/tree.hpp"
#include "bench_data.hpp"
#include "prism/io.hpp"

namespace {

using namespace prism;

std::vector<double> tsne_like_layout(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uni(0, 1);
  std::normal_distribution<double> normal(0, 1);
  const int clusters = 1000;
  const double radius = 80.0 * std::sqrt(double(n) / 1e6);
  std::vector<double> cx(clusters), cy(clusters), spread(clusters), weight(clusters);
  for (int c = 0; c < clusters; ++c) {
    const double r = radius * std::sqrt(uni(rng)), a = 2 * M_PI * uni(rng);
    cx[c] = r * std::cos(a);
    cy[c] = r * std::sin(a);
    weight[c] = 1 + 4 * uni(rng);
    spread[c] = (1 + 2 * uni(rng)) * std::sqrt(double(n) / 1e6);
  }
  std::discrete_distribution<int> pick(weight.begin(), weight.end());
  std::vector<int> cluster(n);
  for (auto& c : cluster) c = pick(rng);
  // Points of a cluster next to each other, as the optimiser's locality order
  // (breadth-first over P) roughly keeps them.
  std::sort(cluster.begin(), cluster.end());
  std::vector<double> y(2 * n);
  for (int64_t i = 0; i < n; ++i) {
    const int c = cluster[i];
    y[2 * i] = cx[c] + spread[c] * normal(rng);
    y[2 * i + 1] = cy[c] + spread[c] * normal(rng);
  }
  return y;
}

const std::vector<double>& layout(int64_t n) {
  static std::vector<double> y;
  static int64_t made = -1;
  if (made == n) return y;
  if (const char* path = std::getenv("PRISM_BENCH_LAYOUT")) {
    const Dataset d = read_dataset(path);
    PRISM_EXPECTS(d.cols() == 2, path, ": expected n x 2");
    y.resize(2 * d.rows());
    for (int64_t i = 0; i < d.rows(); ++i)
      for (int k = 0; k < 2; ++k) y[2 * i + k] = d.x(i, k);
  } else {
    y = tsne_like_layout(n, 17);
  }
  made = n;
  return y;
}

void BM_RepulsionBarnesHut(benchmark::State& state) {
  const auto& y = layout(state.range(0));
  const int64_t n = static_cast<int64_t>(y.size() / 2);
  std::vector<double> rep(2 * n);
  for (auto _ : state) benchmark::DoNotOptimize(tsne::repulsive_forces(y.data(), n, 2, 0.5, rep.data()).z);
  state.counters["points"] = double(n);
}

void BM_RepulsionFft(benchmark::State& state) {
  const auto& y = layout(state.range(0));
  const int64_t n = static_cast<int64_t>(y.size() / 2);
  std::vector<double> rep(2 * n);
  tsne::FftRepulsion fft;
  fft(y.data(), n, rep.data());  // plans and kernel spectra, made once per grid size
  for (auto _ : state) benchmark::DoNotOptimize(fft(y.data(), n, rep.data()).z);
  state.counters["points"] = double(n);
  state.counters["boxes"] = fft.boxes();
}

// The Barnes-Hut tree alone (Morton codes, sort, cells, centres of mass): it
// is built once per iteration, before the parallel walk.
void BM_TreeBuild(benchmark::State& state) {
  const auto& y = layout(state.range(0));
  const int64_t n = static_cast<int64_t>(y.size() / 2);
  tsne::SpaceTree<2> tree;
  for (auto _ : state) {
    tree.build(y.data(), n, 8);
    benchmark::DoNotOptimize(tree.nodes().data());
  }
  state.counters["points"] = double(n);
}

BENCHMARK(BM_TreeBuild)->Name("tree/build")->ArgName("n")->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RepulsionBarnesHut)->Name("repulsion/bh")->ArgName("n")->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RepulsionFft)->Name("repulsion/fft")->ArgName("n")->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond)->UseRealTime();

int write_mixture(const std::string& path) {
  std::vector<int32_t> labels;
  const Matrix x = bench::gaussian_mixture(1000000, 128, 1000, 7, &labels);
  write_npy(path, x.data(), x.rows(), x.cols());
  std::string base = path;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".npy") == 0) base.resize(base.size() - 4);
  Metadata meta;
  std::vector<std::string> col(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) col[i] = std::to_string(labels[i]);
  meta.add("label", std::move(col), true);
  write_metadata_tsv(base + ".labels.tsv", meta);
  std::printf("wrote %s (1000000 x 128, 1000 clusters, seed 7) and %s.labels.tsv\n", path.c_str(), base.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write-mixture") == 0) return write_mixture(argv[2]);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
