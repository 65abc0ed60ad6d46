// prism knn INPUT --k 15 --out knn.npy: the kNN graph as int32 indices (and distances).
#include <filesystem>

#include "command.hpp"
#include "common.hpp"
#include "prism/knn.hpp"
#include "prism/memory_estimate.hpp"

namespace prism::app {
namespace {

CommandSetup setup = [](CLI::App& sub) {
  struct State {
    InputOptions in;
    SeedOption seed;
    int k = 15;
    std::string out, distances, metric = "euclidean", mode = "auto", backend = "auto";
  };
  auto s = std::make_shared<State>();
  s->in.add_to(sub);
  sub.add_option("-k,--k", s->k, "Neighbours per point (1..1000), the point itself excluded")->capture_default_str();
  sub.add_option("-o,--out", s->out, "Indices: N x k int32 .npy, nearest first")->required();
  sub.add_option("--distances", s->distances, "Also write N x k float32 distances (.npy)");
  sub.add_option("--metric", s->metric, "euclidean | cosine (1 - cosine similarity)")->capture_default_str();
  sub.add_option("--mode", s->mode, "exact | approx | auto (approx from 20,000 rows)")->capture_default_str();
  sub.add_option("--backend", s->backend, "auto | cpu | cuda")->capture_default_str();
  s->seed.add_to(sub);
  sub.footer(
      "Examples:\n"
      "  prism knn vectors.npy --k 15 --out knn.npy --distances dist.npy\n"
      "  prism knn glove.txt --k 30 --metric cosine --mode exact --out knn.npy");
  return [s]() {
    const Dataset ds = s->in.read();
    KnnParams p;
    p.k = s->k;
    p.metric = parse_metric(s->metric);
    p.mode = parse_knn_mode(s->mode);
    p.backend = parse_backend(s->backend);
    p.seed = p.mode == KnnMode::exact ? 0 : s->seed.resolve();
    check_knn_memory(ds.rows(), ds.cols(), p);
    ProgressBar bar;
    const auto t0 = std::chrono::steady_clock::now();
    const KnnGraph g = build_knn(ds.x, p, &bar);
    const double secs = seconds_since(t0);
    write_npy(s->out, g.indices.data(), g.n, g.k);
    if (!s->distances.empty()) {
      try {
        write_npy(s->distances, g.distances.data(), g.n, g.k);
      } catch (const Error&) {
        std::error_code ec;
        std::filesystem::remove(s->out, ec);  // all or nothing
        throw;
      }
    }
    note(cat("kNN graph of ", g.n, " points, k = ", g.k, " in ", secs, " s -> ", s->out));
    return 0;
  };
};

PRISM_COMMAND("knn", "Build the k-nearest-neighbour graph (exact or approximate)", 30, setup);

}  // namespace
}  // namespace prism::app
