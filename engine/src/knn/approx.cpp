// The approximate CPU kNN graph: NN-descent (knn/nndescent.cpp) in two
// stages for high-dimensional data, one stage otherwise.
//
// What was chosen and why (measured on Fashion-MNIST, 70,000 x 784, k = 15):
// NN-descent's cost is memory traffic and distance arithmetic, both
// proportional to D. Most of the variance of data like images or text
// embeddings sits in a few dozen principal directions, so
//   1. the descent first runs on the top principal components (enough for
//      kExplained of the variance: 48 of 784 here), with lists of k + min(k, 64), for a
//      couple of iterations;
//   2. those lists are re-ranked by exact full-dimensional distance to the
//      best k, and
//   3. NN-descent continues in the full space from that graph, where it only
//      has to repair what the projection misordered (it converges in 3-4
//      cheap iterations).
// Re-ranking alone is not enough: even the exact 60 nearest in a 88-d PCA
// space hold only 98.6% of the true 15 nearest, the exact 30 only 92%. With
// the full-space stage (2 projected + up to 4 full iterations) the graph
// reaches recall@15 0.983-0.985 in about 8-9 s of single-thread CPU time on
// this project's 2-core machine (vs. 15 s before the locality renumbering
// below).
// Data with D <= kReduceAbove, or whose variance is spread (text embeddings,
// isotropic noise: a projection would keep more than a quarter of the
// dimensions), runs one plain descent.
//
// Half precision: the descent reads its vectors from a locality-ordered,
// centred half-precision copy (knn/distance.hpp), half the bytes of float32
// per distance; the final lists are re-measured in float32 from the caller's
// rows and sorted by those distances. MiniLM words (73,696 x 384, cosine):
// recall@15 0.9666 against 0.9673 in float32, ~20% less time; Fashion-MNIST's
// pixels are exact in it (recall 0.9905 either way). Data whose values
// would keep too few bits (a few far outliers: HalfFit::suits) stay float32.
//
// Reproducibility: the descent is independent of the thread count
// (knn/nndescent.cpp); the PCA and the rotation of the half copy go through
// BLAS, which may in principle round differently with another thread count
// (OpenBLAS splits its GEMMs by output blocks, so it does not: tested on the
// rotated path), so results are promised for a fixed seed and thread count.
#include "knn/approx.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "knn/distance.hpp"
#include "knn/nndescent.hpp"
#include "prism/pca.hpp"

namespace prism {
namespace knn_detail {
namespace {

constexpr int64_t kReduceAbove = 128;  // only project data with more dimensions than this
constexpr int64_t kPcaSample = 10000;  // rows the PCA is fitted on (evenly spaced)
constexpr double kExplained = 0.85;    // variance the projection keeps
constexpr int kMinDims = 32;
constexpr int64_t kRotateMax = 1024;  // columns up to which the half copy is rotated
constexpr int kTreeColumns = 128;     // leading rotated columns the trees split on

// Rows up to which the exact search is cheaper than NN-descent's joins, as a
// multiple of k + 1 (and never fewer than kExactBelow rows).
constexpr int64_t kExactPerK = 32;
constexpr int64_t kExactBelow = 1024;

int round_up8(int64_t v) { return static_cast<int>((v + 7) / 8 * 8); }

// The principal axes of x's rows (each scaled to unit norm first when `unit`),
// fitted on an evenly spaced sample: a d x d rotation, leading axis first.
PcaModel fit_axes(ConstView x, bool unit) {
  const int64_t n = x.rows, d = x.cols;
  const int64_t ns = std::min(n, kPcaSample);
  Matrix sample(ns, d);
  for (int64_t s = 0; s < ns; ++s) {
    const float* r = x.row(s * n / ns);
    std::copy(r, r + d, sample.row(s));
    if (unit) normalize(sample.row(s), d);
  }
  // All D axes (LAPACK's MRRR solver: FAISS's PCAMatrix used the slower QR
  // iteration, a tenth of the kNN time on Fashion-MNIST).
  PcaParams pp;
  pp.dims = static_cast<int>(d);
  pp.solver = PcaSolver::full;
  return fit_pca_cpu(sample, pp);
}

// Projects x onto its leading principal components, zero-padded to a multiple
// of 8 columns for the distance kernels. `dims` < 0 picks the count from the
// spectrum; returns an empty matrix when projecting would keep more than a
// quarter of the dimensions.
Matrix pca_project(ConstView x, const PcaModel& pca, int dims) {
  const int64_t n = x.rows, d = x.cols;
  int64_t r = dims;
  if (r < 0) {
    double total = 0, acc = 0;
    for (double e : pca.explained_variance) total += std::max(0.0, e);
    r = 0;
    while (r < d && acc < kExplained * total) acc += std::max(0.0, pca.explained_variance[r++]);
    r = std::max<int64_t>(r, kMinDims);
    // Only a sharp spectrum pays: Fashion-MNIST keeps 85% in 42 of 784
    // dimensions (5%) and the projected descent is twice as fast for the same
    // recall. MiniLM sentence vectors need 173 of 384 (45%): there the
    // projected stage misorders so much that the full-space stage cannot
    // repair it (recall 0.905, against 0.976 without projecting).
    if (4 * r > d) return {};
  }
  r = std::min<int64_t>(r, d);
  const int rp = round_up8(r);
  Matrix y(n, rp);
  // y = (x - mean) P^T, with P's rows the components: x P^T by BLAS, then the
  // projected mean subtracted.
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, checked_cast<int>(n), static_cast<int>(r),
              static_cast<int>(d), 1.0f, x.data, checked_cast<int>(x.stride), pca.components.data(),
              static_cast<int>(d), 0.0f, y.data(), rp);
  std::vector<float> shift(r);
  for (int64_t c = 0; c < r; ++c) shift[c] = dot(pca.components.row(c), pca.mean.data(), d);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < r; ++c) y(i, c) -= shift[c];
  return y;
}

// Row i of the result is row order[i] of x.
Matrix permute_rows(ConstView x, const std::vector<int32_t>& order) {
  Matrix y(x.rows, x.cols);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < x.rows; ++i)
    std::copy(x.row(order[i]), x.row(order[i]) + x.cols, y.row(i));
  return y;
}

// Reranks each row's list by squared L2 distance in `full`, keeping the best
// `k2` as a max-heap with every entry fresh, ready for another descent.
NeighborLists rerank(const Points& full, const NeighborLists& in, int k2) {
  NeighborLists out;
  out.n = in.n;
  out.k = k2;
  out.idx.resize(static_cast<size_t>(checked_mul(in.n, k2)));
  out.dist.resize(out.idx.size());
  out.fresh.assign(out.idx.size(), 1);
#pragma omp parallel
  {
    std::vector<std::pair<float, int32_t>> e(in.k);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < in.n; ++i) {
      for (int s = 0; s < in.k; ++s) full.prefetch(in.idx[i * in.k + s]);
      for (int s = 0; s < in.k; ++s) {
        const int32_t j = in.idx[i * in.k + s];
        e[s] = {full.dist(i, j), j};
      }
      std::partial_sort(e.begin(), e.begin() + k2, e.end());
      // Descending order is a valid max-heap.
      for (int s = 0; s < k2; ++s) {
        out.idx[i * k2 + s] = e[k2 - 1 - s].second;
        out.dist[i * k2 + s] = e[k2 - 1 - s].first;
      }
    }
  }
  return out;
}

// The m nearest entries of each row (as a max-heap, every entry fresh).
NeighborLists nearest(const NeighborLists& in, int m) {
  NeighborLists out;
  out.n = in.n;
  out.k = m;
  out.idx.resize(static_cast<size_t>(checked_mul(in.n, m)));
  out.dist.resize(out.idx.size());
  out.fresh.assign(out.idx.size(), 1);
#pragma omp parallel
  {
    std::vector<std::pair<float, int32_t>> e(in.k);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < in.n; ++i) {
      for (int s = 0; s < in.k; ++s) e[s] = {in.dist[i * in.k + s], in.idx[i * in.k + s]};
      std::partial_sort(e.begin(), e.begin() + m, e.end());
      for (int s = 0; s < m; ++s) {
        out.idx[i * m + s] = e[m - 1 - s].second;
        out.dist[i * m + s] = e[m - 1 - s].first;
      }
    }
  }
  return out;
}

}  // namespace

KnnGraph knn_approx_tuned(ConstView x, int k, Metric metric, uint64_t seed, Progress* progress,
                          const ApproxTuning& t) {
  PRISM_EXPECTS(k >= 1 && k <= 1000, "k must be between 1 and 1000, got ", k);
  PRISM_EXPECTS(x.rows >= 2, "need at least 2 rows for a kNN graph, got ", x.rows);
  PRISM_EXPECTS(k < x.rows, "k = ", k, " needs more than ", k, " rows, got ", x.rows);
  PRISM_EXPECTS(x.cols >= 1, "kNN needs at least one column");
  PRISM_EXPECTS(x.rows <= std::numeric_limits<int32_t>::max(),
                "kNN supports up to 2^31 - 1 rows, got ", x.rows);
  const int64_t n = x.rows, d = x.cols;
  if (n < std::max(kExactBelow, kExactPerK * (k + 1))) return knn_exact_cpu(x, k, metric, progress);
  PRISM_EXPECTS(all_finite(x), "the vectors contain NaN or infinite values");

  // Cosine distance is a monotone function of the L2 distance between unit
  // vectors: the descent works on unit rows. Those are only materialised in
  // float32 when the PCA needs them or half precision is off.
  const bool cosine = metric == Metric::cosine;
  const bool may_reduce = t.reduce_dims > 0 || (t.reduce_dims < 0 && d > kReduceAbove);
  HalfFit fit;
  if (t.half) fit = half_fit(x, cosine);
  const bool use_half = t.half && fit.suits();
  Matrix unit;
  ConstView full = x;
  if (cosine && (!use_half || may_reduce)) {
    unit = to_matrix(x);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) normalize(unit.row(i), d);
    full = unit;
  }
  // The descent's half-precision copy is rotated onto the principal axes
  // (distances do not change): the leading columns then carry most of each
  // distance, and the joins stop measuring a pair as soon as its partial
  // distance passes the lists' thresholds (sq_l2_half_bounded), which most
  // pairs do within the first columns. Above kRotateMax columns the rotation
  // (N D^2) would cost more than it saves.
  const bool rotate = use_half && t.rotate && d > kBoundStride && d <= kRotateMax;
  PcaModel pca;
  if (may_reduce || rotate) pca = fit_axes(full, cosine);
  Matrix reduced;
  if (may_reduce) reduced = pca_project(full, pca, t.reduce_dims);
  const bool is_reduced = reduced.rows() > 0;
  const float* rotation = rotate ? pca.components.data() : nullptr;

  // Locality: the joins are bound by memory latency, not arithmetic, so the
  // points are renumbered in the leaf order of a random-projection tree; a
  // point's neighbours then mostly sit near it in memory. Lists are mapped
  // back to the caller's numbering at the end.
  std::vector<int32_t> order;
  Matrix full_sorted;
  HalfRows half;
  if (t.reorder) {
    if (is_reduced) {
      order = locality_order(ConstView(reduced.view()), 64, seed);
      reduced = permute_rows(reduced, order);
    } else if (use_half) {
      half = to_half(full, {}, cosine, fit, rotation);
      order = locality_order(half, 64, seed, t.tree_columns < 0 ? kTreeColumns : t.tree_columns);
      permute_in_place(half, order);
    } else {
      order = locality_order(full, 64, seed);
    }
  }
  if (use_half) {
    if (half.n == 0) half = to_half(full, order, cosine, fit, rotation);
    pca = PcaModel();
    unit = Matrix();
    full = x;
  } else if (!order.empty()) {
    full_sorted = permute_rows(full, order);
    unit = Matrix();
    full = full_sorted;
  }
  // The descent's view of the vectors in its own numbering.
  const Points work = use_half ? Points(half) : Points(full);

  // Large k (t-SNE's 3 x perplexity): NN-descent's joins grow with the square
  // of the list length, so the descent builds a graph of kb = expand_base
  // neighbours and the k-lists come from its two-hop neighbourhoods.
  const bool wide = !is_reduced && d > kReduceAbove;
  const int base = t.expand_base > 0 ? t.expand_base : wide ? kExpandBaseWide : kExpandBase;
  const int kb = (t.expand_above > 0 && k > t.expand_above) ? std::min(k, base) : k;
  auto clamp_list = [&](int v) {
    return static_cast<int>(std::min<int64_t>(std::max(v, kb), n - 2));
  };
  NndParams p;
  // Lists longer than k: on data of high intrinsic dimension (isotropic
  // Gaussian clusters of 1,000 points in 128-d) recall@15 goes from 0.87 with
  // lists of 15 to 0.97 with lists of 30, for twice the time.
  // Wide data that is not projected (text embeddings: D > 128, spread
  // spectrum) pays for every distance: there lists a fifth longer than k, all
  // of them joined each iteration, 12 trees with leaves of 60 (MiniLM words,
  // 73,696 x 384, k = 15, two threads, with the rotated copy and bounded
  // distances: recall 0.966 in 4.9 s; lists a third longer with leaves of 20,
  // the earlier choice, 0.970 in 7.1 s; pynndescent's leaves of 80, 10 trees
  // and lists of k + 1: 0.951 in 5.2 s; pynndescent itself 0.950 in 5.6 s).
  const bool expand = kb < k;
  // The graph that is expanded needs lists of just its kb: what the two hops
  // find depends on kb, not on how the kb were found (200k x 50 mixture of
  // 1,000-point clusters, k = 90: recall@90 0.896 from a 30-NN graph built
  // with lists of 60 or 45 alike, 0.957 from a 40-NN graph with lists of 40,
  // in 0.73x the time; at 1M 0.897 -> 0.958 in 0.91x).
  const int list = expand ? kb : wide ? kb + std::max(1, kb / 5) : kb + std::min(kb, 64);
  p.k = clamp_list(t.first_list > 0 ? t.first_list : list);
  p.max_candidates = t.max_candidates > 0 ? t.max_candidates : std::min(wide ? p.k : kb, 60);
  // The projected stage only seeds the full-dimensional one: a few trees do.
  p.n_trees = t.n_trees > 0 ? t.n_trees : (is_reduced ? 4 : wide ? 12 : 8);
  p.leaf_size = t.leaf_size > 0 ? t.leaf_size : std::max(p.k, wide ? 60 : 32);
  p.max_iters = is_reduced ? t.reduced_iters : t.max_iters;
  if (rotate && !is_reduced && t.tree_columns != 0) p.tree_columns = t.tree_columns > 0 ? t.tree_columns : kTreeColumns;
  p.delta = t.delta;
  p.seed = seed;
  const int64_t steps =
      2 + (is_reduced ? t.reduced_iters + t.full_iters : t.max_iters) + (expand ? 1 + t.expand_iters : 0);
  ProgressScope scope(progress, "knn", steps);

  const Points first = is_reduced ? Points(ConstView(reduced.view())) : work;
  NeighborLists lists = forest_init(first, p);
  scope.update(1);
  int64_t done = 1 + descend(first, lists, p, &scope, 1);
  if (is_reduced) {
    // Re-rank the projected lists by true distance, keep kb, and let NN-descent
    // in the full space repair what the projection misordered.
    // A third longer than k: on Fashion-MNIST recall@15 0.983 with lists of
    // 15 (4 iterations), 0.991 with 20 (6 iterations), 0.994 with 30, for
    // 1.2x and 1.6x the time.
    lists = rerank(work, lists, std::clamp(t.full_list > 0 ? t.full_list : kb + kb / 3, kb, lists.k));
    NndParams pf = p;
    pf.max_iters = t.full_iters;
    pf.seed = seed + 1;
    done = 1 + t.reduced_iters;
    reduced = Matrix();
    done += descend(work, lists, pf, &scope, done);
  }
  if (expand) {
    // Two hops over the kb nearest of each list and up to kb of the points
    // that list it; then, if asked, NN-descent at k (sampling few candidates:
    // the lists are nearly right already). The reverse hops matter on real
    // embeddings, whose hubs are listed by many points that they do not list
    // (recall@90 on 1,000 exact rows, 2 threads: MiniLM words in t-SNE's
    // 50-d PCA space 0.904 from a 40-NN graph, 0.933 with 40 reverse hops,
    // 0.953 from a 45-NN graph with 45 reverse hops, for 1.05-1.2x the time;
    // a 200k x 50 mixture of 1,000-point clusters 0.957, 0.978, 0.987 for
    // 1.0x, 1.09x, 1.24x; Fashion-MNIST's 50-d PCA 0.984 -> 0.995 for 1.3x).
    if (lists.k > kb) lists = nearest(lists, kb);
    lists = expand_lists(work, lists, k, t.expand_reverse < 0 ? kb : t.expand_reverse);
    scope.update(++done);
    if (t.expand_iters > 0) {
      NndParams pe = p;
      pe.k = k;
      pe.max_candidates = std::min(k, t.expand_candidates);
      pe.max_iters = t.expand_iters;
      pe.seed = seed + 2;
      descend(work, lists, pe, &scope, done);
    }
  }

  // The final k, nearest first: every list entry re-measured in float32 in
  // the reported metric (the descent may have ranked in half precision).
  // `full` is in the caller's numbering with half rows (x itself), in the
  // descent's otherwise.
  const int kl = lists.k;
  half = HalfRows();
  std::vector<float> inv_norm;
  if (cosine && use_half) {
    inv_norm.resize(n);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const double s = dot(x.row(i), x.row(i), d);
      inv_norm[i] = s > 0 ? static_cast<float>(1.0 / std::sqrt(s)) : 0.0f;
    }
  }
  KnnGraph g;
  g.n = n;
  g.k = k;
  g.metric = metric;
  g.indices.resize(static_cast<size_t>(checked_mul(n, k)));
  g.distances.resize(g.indices.size());
#pragma omp parallel
  {
    std::vector<std::pair<float, int32_t>> e(kl);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t oi = order.empty() ? i : order[i];
      const float* xi = full.row(use_half ? oi : i);
      for (int s = 0; s < kl; ++s) {
        const int32_t j = lists.idx[i * kl + s];
        prefetch_row(full.row(use_half && !order.empty() ? order[j] : j), d);
      }
      for (int s = 0; s < kl; ++s) {
        const int32_t j = lists.idx[i * kl + s];
        const int32_t oj = order.empty() ? j : order[j];
        const float* xj = full.row(use_half ? oj : j);
        float dist;
        if (!cosine) dist = euclidean_from_sq(sq_l2(xi, xj, d));
        else if (use_half) dist = cosine_from_dot(dot(xi, xj, d) * inv_norm[oi] * inv_norm[oj]);
        else dist = cosine_from_dot(dot(xi, xj, d));
        e[s] = {dist, oj};
      }
      std::partial_sort(e.begin(), e.begin() + k, e.end());
      for (int s = 0; s < k; ++s) {
        g.indices[oi * k + s] = e[s].second;
        g.distances[oi * k + s] = e[s].first;
      }
    }
  }
  scope.update(steps);
  return g;
}

}  // namespace knn_detail

KnnMode resolve_knn_mode(int64_t rows, const KnnParams& p) {
  if (p.mode != KnnMode::automatic) return p.mode;
  if (rows < p.approx_threshold) return KnnMode::exact;
  // Keep in step with knn_approx_tuned: above k = 45 the descent runs on a
  // 45-NN graph (50 on wide data it does not project) and the k-lists come
  // from two hops over it and its reverse (Fashion-MNIST's 50-d PCA space,
  // 70k rows, k = 90: 7.5 s at recall@90 0.995 against exact search's 18.5 s, and t-SNE's trustworthiness, recall
  // and 10-NN accuracy within 0.001; but 60k x 32 normal rows, all intrinsic
  // dimension, 15.0 s against 11.8 s: exact costs N^2, so below ~50k rows it
  // wins or loses little); from k = 31 to 45 its lists (2k) make exact search
  // the cheaper one below large_k_approx_rows.
  if (p.k > knn_detail::kExpandBase)
    return rows >= p.expanded_k_approx_rows ? KnnMode::approx : KnnMode::exact;
  if (p.k > 30) return rows >= p.large_k_approx_rows ? KnnMode::approx : KnnMode::exact;
  // NN-descent's work grows with the square of its candidate lists (about
  // k + min(k, 64)), brute force with N.
  const int64_t lists = p.k + std::min(p.k, 64);
  return rows > 8 * lists * lists ? KnnMode::approx : KnnMode::exact;
}

KnnGraph knn_approx_cpu(ConstView x, int k, Metric metric, uint64_t seed, Progress* progress) {
  return knn_detail::knn_approx_tuned(x, k, metric, seed, progress, {});
}

}  // namespace prism
