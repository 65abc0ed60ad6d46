// Loader speed: text formats must parse at >= 300 MB/s on one core (a
// generated GloVe-like file of >= 200 MB: 300-d, realistic decimals), and a
// float32 .npy must open in O(1) (memory-mapped).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "prism/io.hpp"

namespace fs = std::filesystem;
using namespace prism;

namespace {

std::string bench_dir() {
  const fs::path d = fs::temp_directory_path() / "prism-bench-io";
  fs::create_directories(d);
  return d.string();
}

/// GloVe-like: "word v1 ... v300" with values like GloVe's (6 significant digits, signs).
const std::string& glove_file() {
  static const std::string path = [] {
    const std::string p = bench_dir() + "/glove-like-300d.txt";
    if (fs::exists(p) && fs::file_size(p) > 200u << 20) return p;
    std::mt19937_64 rng(1);
    std::normal_distribution<float> normal(0.0f, 0.4f);
    FILE* f = std::fopen(p.c_str(), "wb");
    std::string line;
    char buf[32];
    for (int64_t i = 0; i < 95000; ++i) {
      line = "word" + std::to_string(i);
      for (int j = 0; j < 300; ++j) {
        std::snprintf(buf, sizeof buf, " %.6g", normal(rng));
        line += buf;
      }
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), f);
    }
    std::fclose(f);
    return p;
  }();
  return path;
}

void BM_ReadGloveText(benchmark::State& state) {
  const std::string& path = glove_file();
  const int threads = static_cast<int>(state.range(0));
  omp_set_num_threads(threads);
  const auto bytes = static_cast<int64_t>(fs::file_size(path));
  int64_t rows = 0;
  for (auto _ : state) {
    Dataset ds = read_dataset(path);
    rows = ds.rows();
    benchmark::DoNotOptimize(ds.x.data);
  }
  state.SetBytesProcessed(bytes * state.iterations());
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["MB"] = bytes / 1e6;
  omp_set_num_threads(omp_get_num_procs());
}
BENCHMARK(BM_ReadGloveText)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_OpenNpyFloat32(benchmark::State& state) {
  const int64_t n = state.range(0), d = 128;
  const std::string path = bench_dir() + "/open-" + std::to_string(n) + ".npy";
  if (!fs::exists(path)) {
    Matrix m(n, d, 0.5f);
    write_npy(path, m.data(), n, d);
  }
  ReadOptions o;
  o.check_values = false;  // opening is O(1); the NaN scan is measured below
  for (auto _ : state) {
    Dataset ds = read_dataset(path, o);
    benchmark::DoNotOptimize(ds.x.data);
  }
  state.counters["MB"] = n * d * 4 / 1e6;
}
BENCHMARK(BM_OpenNpyFloat32)->ArgName("rows")->Arg(10000)->Arg(1000000)->Unit(benchmark::kMicrosecond);

void BM_ScanNpyFloat32(benchmark::State& state) {
  const int64_t n = 1000000, d = 128;
  const std::string path = bench_dir() + "/open-" + std::to_string(n) + ".npy";
  if (!fs::exists(path)) {
    Matrix m(n, d, 0.5f);
    write_npy(path, m.data(), n, d);
  }
  for (auto _ : state) {
    Dataset ds = read_dataset(path);
    benchmark::DoNotOptimize(ds.x.data);
  }
  state.SetBytesProcessed(n * d * 4 * state.iterations());
}
BENCHMARK(BM_ScanNpyFloat32)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
