// GPU benchmarks for the target rows of the CUDA backend (kernels/), through
// the engine's public API with Backend::cuda. Every public GPU call returns
// with its result in host memory (and reducers' embedding() synchronises), so
// wall-clock time around a call is the device time plus its transfers; it is
// reported with UseManualTime. Without a device every benchmark is skipped.
//
// Rows (targets on an H200, printed beside each figure by bench/gpu/report.py):
// exact kNN Fashion-MNIST 70k x 784 k=15 <= 0.10 s and 1M x 768 <= 6 s;
// approximate kNN 1M x 768 recall@15 >= 0.95 in <= 2 s; PCA 1M x 768 -> 50
// <= 0.1 s; t-SNE 70k x 1000 iterations <= 1.5 s (2D) / 2.5 s (3D); UMAP
// Fashion-MNIST 2D/3D <= 0.5 s, 1M x 128 <= 5 s, 10M x 128 <= 90 s (the 10M
// row only with PRISM_BENCH_LARGE=1: it needs ~40 GB of host memory and
// minutes of set-up).
//
// Peers: with PRISM_PEER_DIR set, each <name>.npy there (an embedding of all
// Fashion-MNIST images, written by bench/gpu/torchdr_peers.py with its time in
// <name>.seconds) becomes a row peer/<name>, scored by the same metrics code
// and in the same spaces as Prism's rows (t-SNE cases: the 50-d PCA).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "bench_data.hpp"
#include "prism/backend.hpp"
#include "prism/io.hpp"
#include "prism/knn.hpp"
#include "prism/metrics.hpp"
#include "prism/pca.hpp"
#include "prism/reducer.hpp"
#include "prism/tsne.hpp"
#include "prism/umap.hpp"

namespace prism::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool skip_without_cuda(benchmark::State& state) {
  if (cuda_available()) return false;
  state.SkipWithError(("no CUDA device: " + cuda_device_description()).c_str());
  return true;
}

// Data sets are built once per process and shared between rows.
const Dataset& fmnist() {
  static const Dataset d = fashion_mnist();
  return d;
}

const Matrix& mixture(int64_t n, int64_t d) {
  static std::map<std::pair<int64_t, int64_t>, std::unique_ptr<Matrix>> cache;
  auto& m = cache[{n, d}];
  if (!m) m = std::make_unique<Matrix>(gaussian_mixture(n, d, 50, 1234 + d));
  return *m;
}

KnnGraph gpu_knn(ConstView x, int k, KnnMode mode) {
  KnnParams p;
  p.k = k;
  p.mode = mode;
  p.backend = Backend::cuda;
  return build_knn(x, p);
}

// Exact graphs of the data sets, kept for the approximate rows' recall.
std::map<const float*, KnnGraph>& exact_cache() {
  static std::map<const float*, KnnGraph> cache;
  return cache;
}
const KnnGraph& exact_graph(ConstView x, int k) {
  auto it = exact_cache().find(x.data);
  if (it == exact_cache().end()) it = exact_cache().emplace(x.data, gpu_knn(x, k, KnnMode::exact)).first;
  return it->second;
}

void run_knn(benchmark::State& state, ConstView x, KnnMode mode) {
  const int k = 15;
  // Warm-up (context, cuBLAS handles, memory pool) where it is cheap; the
  // large rows amortise it.
  if (x.rows <= 100000) gpu_knn(x, k, mode);
  KnnGraph g;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    g = gpu_knn(x, k, mode);
    state.SetIterationTime(seconds_since(t0));
  }
  state.counters["points/s"] = benchmark::Counter(static_cast<double>(x.rows) * state.iterations(),
                                                  benchmark::Counter::kIsRate);
  if (mode == KnnMode::approx) state.counters["recall"] = knn_recall(g, exact_graph(x, k));
  else exact_cache().emplace(x.data, std::move(g));
}

void BM_KnnExact_FashionMnist(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  run_knn(state, fmnist().x, KnnMode::exact);
}
void BM_KnnExact_Mixture(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  run_knn(state, mixture(state.range(0), state.range(1)), KnnMode::exact);
}
void BM_KnnApprox_Mixture(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  run_knn(state, mixture(state.range(0), state.range(1)), KnnMode::approx);
}

void run_pca(benchmark::State& state, ConstView x, int dims) {
  PcaParams p;
  p.dims = dims;
  p.backend = Backend::cuda;
  fit_pca(x, p);
  for (auto _ : state) {
    const auto t0 = Clock::now();
    benchmark::DoNotOptimize(fit_pca(x, p));
    state.SetIterationTime(seconds_since(t0));
  }
  state.counters["points/s"] = benchmark::Counter(static_cast<double>(x.rows) * state.iterations(),
                                                  benchmark::Counter::kIsRate);
}

void BM_Pca_FashionMnist(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  run_pca(state, fmnist().x, static_cast<int>(state.range(0)));
}

void BM_Pca_Mixture(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  run_pca(state, mixture(state.range(0), state.range(1)), static_cast<int>(state.range(2)));
}

// t-SNE input as the pipeline prepares it: PCA to 50, k = 90 neighbours.
struct TsneInput {
  Matrix x50;
  Matrix init2, init3;
  KnnGraph graph;
  double knn_seconds = 0;  // the GPU kNN graph (k = 90 in the PCA space)
};
const TsneInput& tsne_input() {
  static const TsneInput in = [] {
    TsneInput t;
    PcaParams p;
    p.dims = 50;
    p.backend = Backend::cuda;
    const PcaModel m = fit_pca(fmnist().x, p);
    t.x50 = m.transform(fmnist().x);
    t.init2 = Matrix(t.x50.rows(), 2);
    t.init3 = Matrix(t.x50.rows(), 3);
    for (int64_t i = 0; i < t.x50.rows(); ++i) {
      for (int d = 0; d < 2; ++d) t.init2(i, d) = t.x50(i, d);
      for (int d = 0; d < 3; ++d) t.init3(i, d) = t.x50(i, d);
    }
    gpu_knn(t.x50, 90, KnnMode::exact);  // warm-up
    const auto t0 = Clock::now();
    t.graph = gpu_knn(t.x50, 90, KnnMode::exact);
    t.knn_seconds = seconds_since(t0);
    return t;
  }();
  return in;
}

std::vector<int32_t> fmnist_labels() {
  const auto* l = fmnist().meta.labels();
  return l ? encode_labels(*l).codes : std::vector<int32_t>{};
}

void faithfulness_counters(benchmark::State& state, ConstView x, ConstView y,
                           const std::vector<int32_t>* labels) {
  MetricsParams mp;
  mp.sample = 5000;
  const Faithfulness f = evaluate_embedding(x, y, labels && !labels->empty() ? labels : nullptr, mp);
  state.counters["trust"] = f.trustworthiness;
  state.counters["recall"] = f.knn_recall;
  if (!std::isnan(f.knn_accuracy)) state.counters["knn_acc"] = f.knn_accuracy;
}

void BM_Tsne_FashionMnist(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  const int dims = static_cast<int>(state.range(0));
  const TsneInput& in = tsne_input();
  TsneParams p;
  p.dims = dims;
  p.backend = Backend::cuda;
  Matrix y;
  make_tsne(in.graph, dims == 2 ? &in.init2 : &in.init3, p);  // warm-up
  for (auto _ : state) {
    // P (affinities) and the 1000 iterations; the kNN graph is the knn_s counter.
    const auto t0 = Clock::now();
    auto r = make_tsne(in.graph, dims == 2 ? &in.init2 : &in.init3, p);
    while (!r->done()) r->step();
    y = to_matrix(r->embedding());
    state.SetIterationTime(seconds_since(t0));
  }
  state.counters["knn_s"] = in.knn_seconds;
  const std::vector<int32_t> labels = fmnist_labels();
  faithfulness_counters(state, in.x50, y, &labels);
}

void run_umap(benchmark::State& state, ConstView x, const std::vector<int32_t>* labels,
              bool approx_knn, int dims = 2) {
  gpu_knn(ConstView(x.data, std::min<int64_t>(x.rows, 5000), x.cols, x.stride), 15,
          KnnMode::exact);  // warm-up: context, handles, pool
  const auto k0 = Clock::now();
  const KnnGraph g = gpu_knn(x, 15, approx_knn ? KnnMode::approx : KnnMode::exact);
  state.counters["knn_s"] = seconds_since(k0);
  UmapParams p;
  p.dims = dims;
  p.backend = Backend::cuda;
  Matrix y;
  for (auto _ : state) {
    const auto t0 = Clock::now();  // graph, initialisation and epochs (kNN excluded)
    auto r = make_umap(g, nullptr, p);
    while (!r->done()) r->step();
    y = to_matrix(r->embedding());
    state.SetIterationTime(seconds_since(t0));
  }
  if (x.rows <= 100000) faithfulness_counters(state, x, y, labels);
}

void BM_Umap_FashionMnist(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  const std::vector<int32_t> labels = fmnist_labels();
  run_umap(state, fmnist().x, &labels, false, static_cast<int>(state.range(0)));
}

// An embedding of all Fashion-MNIST images made by a peer, timed by it.
void BM_Peer(benchmark::State& state, const std::string& path, const std::string& name) {
  const Dataset peer = read_dataset(path);
  const ConstView y = peer.x, x = fmnist().x;
  double secs = NAN;
  std::ifstream(std::filesystem::path(path).replace_extension(".seconds")) >> secs;
  if (y.rows != x.rows || !(secs > 0)) {
    state.SkipWithError(("peer embedding " + path + ": expected " + std::to_string(x.rows) +
                         " rows and a .seconds file").c_str());
    return;
  }
  for (auto _ : state) state.SetIterationTime(secs);
  const std::vector<int32_t> labels = fmnist_labels();
  // t-SNE is scored in the space it was given, as BM_Tsne_FashionMnist is
  // (the GPU's PCA of the pixels).
  const bool tsne = name.find("tsne") != std::string::npos;
  if (tsne && skip_without_cuda(state)) return;
  faithfulness_counters(state, tsne ? ConstView(tsne_input().x50) : x, y, &labels);
}

void register_peers() {
  const char* dir = std::getenv("PRISM_PEER_DIR");
  if (!dir) return;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".npy") continue;
    const std::string name = e.path().stem().string(), path = e.path().string();
    benchmark::RegisterBenchmark(("peer/" + name).c_str(),
                                 [path, name](benchmark::State& st) { BM_Peer(st, path, name); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
  }
}

void BM_Umap_Mixture(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  if (state.range(0) > 2000000 && !std::getenv("PRISM_BENCH_LARGE")) {
    state.SkipWithError("set PRISM_BENCH_LARGE=1 for the 10M row");
    return;
  }
  run_umap(state, mixture(state.range(0), state.range(1)), nullptr, true);
}

BENCHMARK(BM_KnnExact_FashionMnist)->Name("knn_exact/fmnist70k#784")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_KnnExact_Mixture)->Name("knn_exact/mixture")->ArgNames({"rows", "cols"})->Args({1000000, 768})->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_KnnApprox_Mixture)->Name("knn_approx/mixture")->ArgNames({"rows", "cols"})->Args({1000000, 768})->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_Pca_FashionMnist)->Name("pca/fmnist70k#784")->ArgName("dims")->Arg(50)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Pca_Mixture)->Name("pca/mixture")->ArgNames({"rows", "cols", "dims"})->Args({1000000, 768, 50})->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Tsne_FashionMnist)->Name("tsne/fmnist70k")->ArgName("dims")->Arg(2)->Arg(3)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Umap_FashionMnist)->Name("umap/fmnist70k")->ArgName("dims")->Arg(2)->Arg(3)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_Umap_Mixture)->Name("umap/mixture")->ArgNames({"rows", "cols"})->Args({1000000, 128})->Args({10000000, 128})->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace prism::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  prism::bench::register_peers();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
