// kNN graphs on the CPU: NN-descent (knn_approx_cpu) against exact search
// (FAISS flat, on a query sample) and FAISS's HNSW, on all 70,000
// Fashion-MNIST images (k = 15), and on real sentence-model vectors (cosine)
// when bench/data/make_text_vectors.py has written them. Counters: recall@k
// against exact search on a 10,000-row sample, and points/s.
// bench/peers/knn_peers.py runs pynndescent beside `prism knn` on the same files.
//
// The 1M-point runs take minutes and, like the tuning run, run only when asked for by name:
//   prism_bench_knn --benchmark_filter=Gaussian1M      (1M x 128, k = 15)
//   prism_bench_knn --benchmark_filter=Gaussian1M_k90  (1M x 50, k = 90: t-SNE's graph)
// and a tuning run of the approximate path on a mixture sized by the
// environment (PRISM_BENCH_N rows, default 200,000, one cluster per 1,000; _D
// columns, default 50; _K, default 90; PRISM_BENCH_X=file.npy instead) with knobs of ApproxTuning set by
// PRISM_KNN_TUNING, e.g. "expand_base=40,expand_iters=1":
//   prism_bench_knn --benchmark_filter=MixtureTuning
#include <benchmark/benchmark.h>
#include <faiss/IndexHNSW.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "../engine/src/knn/approx.hpp"
#include "bench_data.hpp"
#include "prism/io.hpp"
#include "prism/knn.hpp"

namespace prism::bench {
namespace {

constexpr int kK = 15;

// Reads one gzip'd IDX image file (magic 0x803, count, rows, cols, then uint8
// pixels), appending them to x; returns the image count.
int64_t read_idx_images(const std::string& path, std::vector<float>& x) {
  gzFile f = gzopen(path.c_str(), "rb");
  PRISM_EXPECTS(f != nullptr, path, ": cannot open");
  std::vector<unsigned char> bytes;
  unsigned char buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) bytes.insert(bytes.end(), buf, buf + got);
  gzclose(f);
  auto be32 = [&](size_t o) {
    return (uint32_t(bytes[o]) << 24) | (uint32_t(bytes[o + 1]) << 16) |
           (uint32_t(bytes[o + 2]) << 8) | uint32_t(bytes[o + 3]);
  };
  PRISM_EXPECTS(bytes.size() >= 16 && be32(0) == 0x803, path, ": not an IDX image file");
  const int64_t count = be32(4), pixels = int64_t(be32(8)) * be32(12);
  PRISM_EXPECTS(int64_t(bytes.size()) >= 16 + count * pixels, path, ": truncated");
  for (int64_t i = 0; i < count * pixels; ++i) x.push_back(bytes[16 + i]);
  return count;
}

// All 70,000 images as 784 float pixels in [0, 255]: through the io module's
// reader when it works, else straight from the IDX files.
struct Fashion {
  Matrix x;
  std::vector<int64_t> sample;  // the rows recall is measured on
  KnnGraph exact;               // their exact neighbours (filled by BM_FashionExactSample)
};

Fashion& fashion() {
  static Fashion f = [] {
    Fashion r;
    try {
      const Dataset ds = fashion_mnist();
      r.x = to_matrix(ds.x);
    } catch (const Error&) {
      std::vector<float> v;
      int64_t n = read_idx_images(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz", v);
      n += read_idx_images(std::string(kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz", v);
      r.x = Matrix(n, 784);
      std::copy(v.begin(), v.end(), r.x.data());
    }
    for (int64_t i = 0; i < 10000; ++i) r.sample.push_back(i * r.x.rows() / 10000);
    return r;
  }();
  return f;
}

Matrix rows_of(ConstView x, const std::vector<int64_t>& rows) {
  Matrix q(static_cast<int64_t>(rows.size()), x.cols);
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy(x.row(rows[i]), x.row(rows[i]) + x.cols, q.row(i));
  return q;
}

const KnnGraph& fashion_exact() {
  Fashion& f = fashion();
  if (f.exact.n == 0) {
    const Matrix q = rows_of(f.x, f.sample);
    f.exact = knn_query(f.x, q, kK, Metric::euclidean, &f.sample);
  }
  return f.exact;
}

// Exact neighbours of the 10,000-row sample (FAISS IndexFlatL2, BLAS): the
// ground truth, and the exact method's speed (x7 for the full graph).
void BM_FashionExactSample(benchmark::State& state) {
  Fashion& f = fashion();
  for (auto _ : state) {
    f.exact = KnnGraph();
    benchmark::DoNotOptimize(fashion_exact());
  }
  state.counters["queries/s"] =
      benchmark::Counter(double(f.sample.size()) * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_FashionApprox(benchmark::State& state) {
  Fashion& f = fashion();
  const KnnGraph& exact = fashion_exact();
  KnnGraph g;
  for (auto _ : state) g = knn_approx_cpu(f.x, kK, Metric::euclidean, 42);
  state.counters["recall"] = knn_recall(g, exact, f.sample);
  state.counters["points/s"] =
      benchmark::Counter(double(f.x.rows()) * state.iterations(), benchmark::Counter::kIsRate);
}

// FAISS HNSW (M = 32, efConstruction 40), built once; each run searches every
// point (k + 1, self dropped) with efSearch = state.range(0). The reported time
// is build + search, the cost of a kNN graph this way.
void BM_FashionHnswFaiss(benchmark::State& state) {
  Fashion& f = fashion();
  const KnnGraph& exact = fashion_exact();
  const int64_t n = f.x.rows();
  static double build_s = 0;
  static std::unique_ptr<faiss::IndexHNSWFlat> index;
  if (!index) {
    const auto t0 = std::chrono::steady_clock::now();
    index = std::make_unique<faiss::IndexHNSWFlat>(784, 32);
    index->add(n, f.x.data());
    build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  KnnGraph g{n, kK, Metric::euclidean, std::vector<int32_t>(n * kK), std::vector<float>(n * kK)};
  std::vector<float> d(n * (kK + 1));
  std::vector<faiss::Index::idx_t> ids(n * (kK + 1));
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    index->hnsw.efSearch = static_cast<int>(state.range(0));
    index->search(n, f.x.data(), kK + 1, d.data(), ids.data());
    for (int64_t i = 0; i < n; ++i) {
      const faiss::Index::idx_t* r = ids.data() + i * (kK + 1);
      int drop = kK;
      for (int j = 0; j <= kK; ++j)
        if (r[j] == i) drop = j;
      for (int j = 0, o = 0; j <= kK; ++j)
        if (j != drop) g.indices[i * kK + o++] = static_cast<int32_t>(r[j]);
    }
    state.SetIterationTime(
        build_s + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  state.counters["build_s"] = build_s;
  state.counters["recall"] = knn_recall(g, exact, f.sample);
  state.counters["points/s"] =
      benchmark::Counter(double(n) * state.iterations(), benchmark::Counter::kIsRate);
}

// 1M x 128 Gaussian mixture: 1,000 clusters of ~1,000 points, unit isotropic
// noise (intrinsic dimension 128: the hard case for NN-descent; recall falls
// as clusters grow). Recall on a 1,000-row sample.
void BM_Gaussian1M(benchmark::State& state) {
  const int64_t n = 1000000;
  const Matrix x = gaussian_mixture(n, 128, 1000, 7);
  std::vector<int64_t> sample;
  for (int64_t i = 0; i < 1000; ++i) sample.push_back(i * n / 1000);
  const KnnGraph exact = knn_query(x, rows_of(x, sample), kK, Metric::euclidean, &sample);
  KnnGraph g;
  for (auto _ : state) g = knn_approx_cpu(x, kK, Metric::euclidean, 42);
  state.counters["recall"] = knn_recall(g, exact, sample);
  state.counters["points/s"] =
      benchmark::Counter(double(n) * state.iterations(), benchmark::Counter::kIsRate);
}

// Real sentence-model vectors: all-MiniLM-L6-v2 over Debian's word list,
// unit-normalised, 384-d, compared by cosine. Made by
// bench/data/make_text_vectors.py into data/text/ (ignored by git); the path
// can be changed with PRISM_TEXT_VECTORS. Skipped when the file is missing.
std::string text_vectors_path() {
  if (const char* p = std::getenv("PRISM_TEXT_VECTORS")) return p;
  return std::string(PRISM_SOURCE_DIR) + "/data/text/words-minilm.npy";
}

void BM_TextApprox(benchmark::State& state) {
  const std::string path = text_vectors_path();
  if (!std::filesystem::exists(path)) {
    state.SkipWithError((path + " is missing: run bench/data/make_text_vectors.py").c_str());
    for (auto _ : state) {
    }
    return;
  }
  static const Matrix x = to_matrix(read_dataset(path).x);
  static std::vector<int64_t> sample;
  static KnnGraph exact;
  if (exact.n == 0) {
    for (int64_t i = 0; i < 10000; ++i) sample.push_back(i * x.rows() / 10000);
    exact = knn_query(x, rows_of(x, sample), kK, Metric::cosine, &sample);
  }
  KnnGraph g;
  for (auto _ : state) g = knn_approx_cpu(x, kK, Metric::cosine, 42);
  state.counters["recall"] = knn_recall(g, exact, sample);
  state.counters["points/s"] =
      benchmark::Counter(double(x.rows()) * state.iterations(), benchmark::Counter::kIsRate);
}

// t-SNE's graph at scale: k = 90 (perplexity 30) on 1M points in 50
// dimensions (the PCA space t-SNE searches), 1,000 clusters. Exact search
// took 654 s here; the approximate path expands a 30-NN graph by two hops.
void BM_Gaussian1M_k90(benchmark::State& state) {
  const int64_t n = 1000000;
  const int k = 90;
  const Matrix x = gaussian_mixture(n, 50, 1000, 11);
  std::vector<int64_t> sample;
  for (int64_t i = 0; i < 1000; ++i) sample.push_back(i * n / 1000);
  const KnnGraph exact = knn_query(x, rows_of(x, sample), k, Metric::euclidean, &sample);
  KnnParams p;
  p.k = k;
  // What --knn auto does (build_knn, which lives in the backends module).
  const bool approx = resolve_knn_mode(n, p) == KnnMode::approx;
  KnnGraph g;
  for (auto _ : state)
    g = approx ? knn_approx_cpu(x, k, Metric::euclidean, 42) : knn_exact_cpu(x, k, Metric::euclidean);
  state.counters["approx"] = approx;
  state.counters["recall"] = knn_recall(g, exact, sample);
  state.counters["points/s"] =
      benchmark::Counter(double(n) * state.iterations(), benchmark::Counter::kIsRate);
}

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoll(v) : fallback;
}

// "key=value,key=value" over ApproxTuning's integer knobs and delta.
knn_detail::ApproxTuning tuning_from_env() {
  knn_detail::ApproxTuning t;
  const char* spec = std::getenv("PRISM_KNN_TUNING");
  std::string s = spec ? spec : "";
  for (size_t at = 0; at < s.size();) {
    const size_t end = std::min(s.find(',', at), s.size());
    const std::string item = s.substr(at, end - at);
    at = end + 1;
    const size_t eq = item.find('=');
    PRISM_EXPECTS(eq != std::string::npos, "PRISM_KNN_TUNING: expected key=value, got ", item);
    const std::string key = item.substr(0, eq);
    const double v = std::atof(item.c_str() + eq + 1);
    struct Knob {
      const char* name;
      int* field;
    };
    const Knob knobs[] = {{"reduce_dims", &t.reduce_dims},     {"first_list", &t.first_list},
                          {"max_candidates", &t.max_candidates}, {"n_trees", &t.n_trees},
                          {"leaf_size", &t.leaf_size},         {"max_iters", &t.max_iters},
                          {"reduced_iters", &t.reduced_iters}, {"full_iters", &t.full_iters},
                          {"full_list", &t.full_list},         {"expand_above", &t.expand_above},
                          {"expand_base", &t.expand_base},     {"expand_iters", &t.expand_iters},
                          {"expand_candidates", &t.expand_candidates}, {"tree_columns", &t.tree_columns},
                          {"expand_reverse", &t.expand_reverse}};
    bool found = false;
    for (const Knob& kn : knobs)
      if (key == kn.name) *kn.field = static_cast<int>(v), found = true;
    if (key == "delta") t.delta = v, found = true;
    if (key == "rotate") t.rotate = v != 0, found = true;
    if (key == "half") t.half = v != 0, found = true;
    PRISM_EXPECTS(found, "PRISM_KNN_TUNING: unknown knob ", key);
  }
  return t;
}

void BM_MixtureTuning(benchmark::State& state) {
  const int64_t n = env_int("PRISM_BENCH_N", 200000);
  const int64_t d = env_int("PRISM_BENCH_D", 50);
  const int k = static_cast<int>(env_int("PRISM_BENCH_K", 90));
  const char* file = std::getenv("PRISM_BENCH_X");  // a .npy instead of the mixture
  const Matrix x = file && *file ? to_matrix(read_dataset(file).x)
                                 : gaussian_mixture(n, d, std::max<int64_t>(1, n / 1000), 11);
  std::vector<int64_t> sample;
  for (int64_t i = 0; i < 1000; ++i) sample.push_back(i * x.rows() / 1000);
  const KnnGraph exact = knn_query(x, rows_of(x, sample), k, Metric::euclidean, &sample);
  const knn_detail::ApproxTuning t = tuning_from_env();
  KnnGraph g;
  for (auto _ : state) g = knn_detail::knn_approx_tuned(x, k, Metric::euclidean, 42, nullptr, t);
  state.counters["recall"] = knn_recall(g, exact, sample);
  state.counters["points/s"] =
      benchmark::Counter(double(x.rows()) * state.iterations(), benchmark::Counter::kIsRate);
}

}  // namespace
}  // namespace prism::bench

int main(int argc, char** argv) {
  using namespace prism::bench;
  benchmark::RegisterBenchmark("BM_FashionExactSample", BM_FashionExactSample)
      ->Unit(benchmark::kSecond)
      ->Iterations(1)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_FashionApprox", BM_FashionApprox)
      ->Unit(benchmark::kSecond)
      ->Iterations(1)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_FashionHnswFaiss", BM_FashionHnswFaiss)
      ->Arg(16)
      ->Arg(32)
      ->Arg(64)
      ->Unit(benchmark::kSecond)
      ->Iterations(1)
      ->UseManualTime();
  benchmark::RegisterBenchmark("BM_TextApprox", BM_TextApprox)
      ->Unit(benchmark::kSecond)
      ->Iterations(1)
      ->UseRealTime();
  // Minutes of work and ~1.5 GB, or a tuning experiment: only when the filter names them.
  for (int i = 1; i < argc; ++i)
    if (std::strstr(argv[i], "--benchmark_filter") && std::strstr(argv[i], "MixtureTuning")) {
      benchmark::RegisterBenchmark("BM_MixtureTuning", BM_MixtureTuning)
          ->Unit(benchmark::kSecond)
          ->Iterations(1)
          ->UseRealTime();
      break;
    }
  for (int i = 1; i < argc; ++i)
    if (std::strstr(argv[i], "--benchmark_filter") && std::strstr(argv[i], "Gaussian1M")) {
      benchmark::RegisterBenchmark("BM_Gaussian1M", BM_Gaussian1M)
          ->Unit(benchmark::kSecond)
          ->Iterations(1)
          ->UseRealTime();
      benchmark::RegisterBenchmark("BM_Gaussian1M_k90", BM_Gaussian1M_k90)
          ->Unit(benchmark::kSecond)
          ->Iterations(1)
          ->UseRealTime();
      break;
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
