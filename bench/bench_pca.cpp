// PCA on the CPU: Fashion-MNIST (70k x 784) to 3 and to 50 dims (t-SNE's
// pre-reduction), full and randomized, and a wide synthetic matrix.
#include <benchmark/benchmark.h>

#include "bench_data.hpp"
#include "prism/pca.hpp"

using namespace prism;

namespace {

const Dataset& fmnist() {
  static const Dataset ds = bench::fashion_mnist();
  return ds;
}

void BM_PcaFashionMnist(benchmark::State& state) {
  const Dataset& ds = fmnist();
  PcaParams p;
  p.dims = static_cast<int>(state.range(0));
  p.solver = state.range(1) ? PcaSolver::randomized : PcaSolver::full;
  p.backend = Backend::cpu;
  double ratio = 0;
  for (auto _ : state) {
    const PcaModel m = fit_pca_cpu(ds.x, p);
    Matrix y = m.transform(ds.x);
    benchmark::DoNotOptimize(y.data());
    ratio = 0;
    for (double r : m.explained_variance_ratio) ratio += r;
  }
  state.counters["explained"] = ratio;
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(ds.rows()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_PcaFashionMnist)
    ->ArgNames({"dims", "randomized"})
    ->Args({3, 0})->Args({50, 0})->Args({3, 1})->Args({50, 1})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PcaWide(benchmark::State& state) {
  const int64_t n = state.range(0), d = state.range(1);
  static Matrix x;
  if (x.rows() != n || x.cols() != d) x = bench::gaussian_mixture(n, d, 20, 1);
  PcaParams p;
  p.dims = 3;
  p.backend = Backend::cpu;
  for (auto _ : state) {
    const PcaModel m = fit_pca_cpu(x.view(), p);
    benchmark::DoNotOptimize(m.components.data());
  }
}
BENCHMARK(BM_PcaWide)->ArgNames({"rows", "cols"})->Args({100000, 768})->Args({20000, 4096})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
