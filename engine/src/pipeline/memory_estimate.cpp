// Host-memory estimates of the kNN graph and of whole reductions, from the
// allocations of the CPU code. Large buffers only; each line says whose it is.
#include "prism/memory_estimate.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace prism {
namespace {

constexpr int64_t kF = 4;   // float32 / int32
constexpr int64_t kD = 8;   // double / int64

// The constants of the code estimated (engine/src/knn/approx.cpp, exact.cpp).
constexpr int64_t kExactBatch = 4096;   // query rows per FAISS search
constexpr int64_t kReduceAbove = 128;   // NN-descent projects wider data first ...
constexpr int64_t kReducedDims = 64;    // ... to at most about this many dimensions
constexpr int64_t kExpandBase = 45;     // above this k, two hops over a graph of this k (knn_detail::kExpandBase)

int64_t threads() { return std::max(1, omp_get_max_threads()); }

/// PCA of n x d to k components: the covariance (full) or the subspace (randomized).
void add_pca(MemoryEstimate& e, int64_t n, int64_t d, int64_t k, const char* what) {
  const bool randomized = d > 2000 && k + 10 < d / 4;  // engine/src/pca/pca.cpp's automatic choice
  if (randomized)
    e.add(cat(what, " (randomized subspace)"), 3 * n * (k + 10) * kD);
  else
    e.add(cat(what, " (covariance)"), d * d * (kD + kF) + 4096 * d * kF);
  e.add(cat(what, " output"), n * k * kF);
}

int tsne_k(const ReduceParams& p, int64_t n) {
  return static_cast<int>(std::min<double>(static_cast<double>(n - 1), std::ceil(3 * p.tsne.perplexity)));
}

int umap_k(const ReduceParams& p, int64_t n) { return static_cast<int>(std::min<int64_t>(p.umap.n_neighbors, n - 1)); }

/// "--knn approx", "--pca-dims 50", "a smaller --perplexity": what would shrink `e`.
std::string advice(int64_t n, int64_t d, const ReduceParams* rp, const KnnParams& kp, bool exact) {
  std::vector<std::string> tips;
  if (exact && n > 20000) tips.push_back("--knn approx (the exact search keeps a copy of the vectors)");
  if (rp && rp->method == Method::tsne && d > 100 && (rp->tsne.pca_dims == 0 || rp->tsne.pca_dims >= d))
    tips.push_back("--pca-dims 50 (t-SNE on a 50-d PCA of the vectors)");
  if (!rp && d > 100) tips.push_back("fewer dimensions first (prism reduce --method pca --dims 50)");
  if (kp.k > 15) {
    if (rp && rp->method == Method::tsne) tips.push_back("a smaller --perplexity (k = 3 x perplexity)");
    else if (rp && rp->method == Method::umap) tips.push_back("a smaller --n-neighbors");
    else tips.push_back("a smaller --k");
  }
  tips.push_back("a subset of the rows, or a machine with more memory");
  std::string s = "try ";
  for (size_t i = 0; i < tips.size(); ++i) s += (i ? (i + 1 == tips.size() ? ", or " : ", ") : "") + tips[i];
  return s;
}

KnnParams knn_params_of(const ReduceParams& p, int64_t n) {
  KnnParams kp;
  kp.metric = p.metric;
  kp.mode = p.knn_mode;
  kp.backend = p.backend;
  kp.k = p.method == Method::tsne ? tsne_k(p, n) : umap_k(p, n);
  return kp;
}

/// Columns the kNN search sees after the pipeline's pre-reduction.
int64_t knn_cols(const ReduceParams& p, int64_t d) {
  const int pre = p.method == Method::tsne ? p.tsne.pca_dims : 0;
  return pre > 0 && d > 100 && pre < d ? pre : d;
}

}  // namespace

MemoryEstimate estimate_knn_memory(int64_t n, int64_t d, const KnnParams& p) {
  MemoryEstimate e;
  const int64_t k = std::max(1, p.k);
  e.add("kNN graph (ids and distances)", n * k * (kF + kF));
  if (resolve_knn_mode(n, p) == KnnMode::exact) {
    // FAISS's flat index holds its own copy of the vectors (unit rows for cosine).
    e.add("exact kNN index (a copy of the vectors)", n * d * kF);
    e.add("exact kNN batch", kExactBatch * ((k + 1) * (kF + kD) + d * kF) * threads());
    return e;
  }
  if (p.metric == Metric::cosine) e.add("unit rows for cosine", n * d * kF);
  const bool reduced = d > kReduceAbove;
  if (reduced) e.add("NN-descent projection", n * std::min(d, kReducedDims) * kF);
  // The descent reads a locality-ordered half-precision copy (rows padded to
  // a multiple of 8 values); data that does not suit half precision keeps float32.
  e.add("NN-descent locality-ordered copy", n * ((d + 7) / 8 * 8) * 2);
  // ... rotated onto its principal axes for 64 < d <= 1024: the PCA's
  // matrices and two blocks of about 4M floats.
  if (d > 64 && d <= 1024) e.add("NN-descent rotation (principal axes)", 2 * d * d * kD + 2 * (4LL << 20) * kF);
  const int64_t kb = k > kExpandBase ? kExpandBase : k;  // the graph the k-lists are expanded from
  const int64_t list = std::min(n - 2, k > kb ? kb : kb + std::min<int64_t>(kb, 64));
  e.add("NN-descent lists", n * list * (kF + kF + 1));
  // The descent's candidates and marks are freed before the expansion's
  // lists exist: the larger of the two phases counts.
  const int64_t candidates = 2 * n * std::min<int64_t>(kb, 60) * kD + n * kF, marks = n * kD * threads();
  const int64_t expanded = n * k * (kF + kF + 1), reverse = n * kb * kF + (n + 1) * kD;
  if (k > kb && expanded + reverse > candidates + marks) {
    e.add("expanded k-lists", expanded);
    e.add("reverse lists for the expansion", reverse);
  } else {
    e.add("NN-descent candidates", candidates);
    e.add("NN-descent per-thread marks", marks);
  }
  return e;
}

MemoryEstimate estimate_reduction_memory(int64_t n, int64_t d, const ReduceParams& p) {
  // The peak of the stages, each counted with what is still alive then: the
  // pre-reduced data and the kNN graph live until the optimiser starts, and
  // the optimiser's state replaces them.
  const int64_t dims = std::max(1, p.dims);
  if (p.method == Method::pca) {
    MemoryEstimate e;
    add_pca(e, n, d, std::min<int64_t>(dims, d), "PCA");
    return e;
  }
  std::vector<MemoryEstimate> stages;
  const int64_t dk = knn_cols(p, d);
  MemoryEstimate kept;  // alive from the pre-reduction to the optimiser
  if (dk < d) {         // t-SNE's pre-reduction of wide data
    MemoryEstimate pre;
    if (p.metric == Metric::cosine) pre.add("unit rows for cosine", n * d * kF);
    add_pca(pre, n, d, dk, "PCA pre-reduction");
    stages.push_back(pre);
    kept.add("PCA pre-reduction output", n * dk * kF);
  }
  KnnParams kp = knn_params_of(p, n);
  if (dk < d) kp.metric = Metric::euclidean;
  MemoryEstimate knn = kept;
  for (auto& item : estimate_knn_memory(n, dk, kp).items) knn.items.push_back(std::move(item));
  stages.push_back(knn);
  const int64_t k = std::max(1, kp.k);
  kept.add("kNN graph (ids and distances)", n * k * (kF + kF));
  // Mutual neighbours merge: the symmetric graphs hold about 1.5 n k edges, not 2 n k.
  const int64_t sym = 3 * n * k / 2;
  const Init init = p.method == Method::tsne ? p.tsne.init : p.umap.init;
  if (p.method == Method::tsne) {
    // engine/src/tsne/affinities.cpp and locality.cpp: the pre-reduced rows are
    // freed first; the conditional P overwrites the graph's distances; the
    // locality order walks reverse lists (4 bytes an edge, freed before P);
    // P + P^T gathers its reverse entries an eighth of the rows at a time and
    // writes the merged CSR P once.
    MemoryEstimate affinities;
    affinities.add("kNN graph (ids and distances, then the conditional P)", n * k * (kF + kF));
    affinities.add("t-SNE P + P^T reverse entries (one block of rows)", n * k * kF / 8 + 2 * n * kD);
    affinities.add("t-SNE symmetric P", sym * (kF + kF) + n * kD);
    stages.push_back(affinities);
    MemoryEstimate optimise;
    optimise.add("t-SNE symmetric P", sym * (kF + kF) + n * kD);
    // Layout, gradient, update and gains (doubles), the tree (about 2 n nodes).
    optimise.add("t-SNE optimiser and tree", n * dims * kD * 4 + 2 * n * (8 * dims + 32) + n * kD * 2);
    stages.push_back(optimise);
  } else {
    // engine/src/umap/fuzzy_simplicial_set.cpp: weights, the graph A, its
    // transpose and the union, then the spectral layout's Laplacian (doubles)
    // and Lanczos basis (umap-learn's ncv, at most 64 vectors).
    MemoryEstimate fuzzy = kept;
    fuzzy.add("UMAP membership weights, A and A^T", n * k * (kF + 2 * (kF + kF)) + 3 * n * kD);
    fuzzy.add("UMAP fuzzy graph", sym * (kF + kF) + n * kD);
    stages.push_back(fuzzy);
    if (init == Init::spectral) {
      MemoryEstimate spectral = kept;
      const int64_t ncv = std::min<int64_t>(
          n, std::max<int64_t>(2 * dims + 1, std::min<int64_t>(64, static_cast<int64_t>(std::sqrt(double(n))))));
      spectral.add("UMAP fuzzy graph", sym * (kF + kF) + n * kD);
      spectral.add("UMAP spectral init (Laplacian, Lanczos basis)", sym * (kF + kD) + n * (ncv + 2) * kD);
      stages.push_back(spectral);
    }
    MemoryEstimate optimise;
    optimise.add("UMAP graph and epoch schedule", sym * (kF + kF + 4 * kF) + n * kD);
    optimise.add("UMAP layout (one copy per thread)", n * dims * kF * (threads() + 2));
    stages.push_back(optimise);
  }
  if (init == Init::pca) {
    MemoryEstimate layout = kept;
    add_pca(layout, n, dk, std::min<int64_t>(dims, dk), "PCA initial layout");
    stages.push_back(layout);
  }
  MemoryEstimate peak = *std::max_element(stages.begin(), stages.end(),
                                          [](const auto& a, const auto& b) { return a.total() < b.total(); });
  peak.add("output", n * dims * kF);
  return peak;
}

void check_knn_memory(int64_t n, int64_t d, const KnnParams& p) {
  require_memory(estimate_knn_memory(n, d, p), cat("the kNN graph of ", n, " x ", d, " vectors (k = ", p.k, ")"),
                 advice(n, d, nullptr, p, resolve_knn_mode(n, p) == KnnMode::exact));
}

void check_reduction_memory(ConstView x, const ReduceParams& p) {
  const int64_t n = x.rows, d = x.cols;
  if (n < 2 || d < 1) return;  // the parameter checks report these
  const KnnParams kp = knn_params_of(p, n);
  const bool exact = p.method != Method::pca && resolve_knn_mode(n, kp) == KnnMode::exact;
  require_memory(estimate_reduction_memory(n, d, p), cat(to_string(p.method), " of ", n, " x ", d, " vectors"),
                 p.method == Method::pca ? "try fewer rows, or a machine with more memory"
                                         : advice(n, d, &p, kp, exact));
}

}  // namespace prism
