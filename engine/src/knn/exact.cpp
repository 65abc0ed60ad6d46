// Exact kNN on the CPU through FAISS's flat indexes (BLAS-backed search), and
// the recall of one graph against another.
#include <faiss/IndexFlat.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <numeric>

#include "knn/distance.hpp"
#include "prism/knn.hpp"

namespace prism {
namespace {

using knn_detail::cosine_from_dot;
using knn_detail::dot;
using knn_detail::euclidean_from_sq;
using knn_detail::normalize;
using knn_detail::sq_l2;
using idx_t = faiss::Index::idx_t;

// Queries per FAISS call: bounds the result buffers and the query copy (4096 x
// D floats) and gives the progress bar steps; FAISS tiles its BLAS distance
// blocks internally, so larger batches would not be faster.
constexpr int64_t kQueryBatch = 4096;
constexpr int64_t kBatchWork = int64_t{1} << 30;  // multiply-adds per query batch, about

// Copies rows [begin, end) of v into `out` (contiguous), unit-normalised for cosine.
void copy_rows(ConstView v, int64_t begin, int64_t end, Metric metric, std::vector<float>& out) {
  const int64_t d = v.cols;
  out.resize(static_cast<size_t>(checked_mul(end - begin, d)));
#pragma omp parallel for schedule(static)
  for (int64_t i = begin; i < end; ++i) {
    float* dst = out.data() + (i - begin) * d;
    std::copy(v.row(i), v.row(i) + d, dst);
    if (metric == Metric::cosine) normalize(dst, d);
  }
}

// OpenBLAS's own threads and FAISS's OpenMP loops take turns on the same cores
// and spin against each other (2 cores: 25 s wall, 10 s of it system time, for
// t-SNE's k = 90 graph of Fashion-MNIST). With BLAS on one thread while FAISS
// searches, OpenMP keeps both cores busy: 18 s, no system time. Weak symbols:
// another BLAS behind Debian's alternatives simply lacks them.
extern "C" int openblas_get_num_threads(void) __attribute__((weak));
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

class SingleThreadedBlas {
 public:
  SingleThreadedBlas() {
    if (openblas_get_num_threads && openblas_set_num_threads) {
      saved_ = openblas_get_num_threads();
      openblas_set_num_threads(1);
    }
  }
  ~SingleThreadedBlas() {
    if (saved_ > 0) openblas_set_num_threads(saved_);
  }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int saved_ = 0;
};

// The searches behind knn_query and knn_exact_cpu: the k nearest base rows of
// every query row; when `self_ids` is given, query i is base row self_ids[i]
// and that row is left out of its own list.
KnnGraph search_exact(ConstView base, ConstView queries, int k, Metric metric,
                      const std::vector<int64_t>* self_ids, Progress* progress) {
  PRISM_EXPECTS(k >= 1 && k <= 1000, "k must be between 1 and 1000, got ", k);
  PRISM_EXPECTS(base.cols == queries.cols, "queries have ", queries.cols,
                " columns but the base set has ", base.cols);
  PRISM_EXPECTS(base.cols >= 1, "kNN needs at least one column");
  PRISM_EXPECTS(!self_ids || static_cast<int64_t>(self_ids->size()) == queries.rows,
                "query_ids has ", self_ids ? self_ids->size() : 0, " entries for ", queries.rows,
                " queries");
  const int kq = k + (self_ids ? 1 : 0);  // one more when the query's own row will be dropped
  PRISM_EXPECTS(kq <= base.rows, "k = ", k, " needs at least ", kq, " base rows, got ", base.rows);
  PRISM_EXPECTS(knn_detail::all_finite(base) && knn_detail::all_finite(queries),
                "the vectors contain NaN or infinite values");
  const int64_t d = base.cols;
  const int64_t nq = queries.rows;

  // FAISS wants a contiguous float array; cosine becomes the inner product of unit vectors.
  std::unique_ptr<faiss::IndexFlat> index;
  if (metric == Metric::cosine)
    index = std::make_unique<faiss::IndexFlatIP>(d);
  else
    index = std::make_unique<faiss::IndexFlatL2>(d);
  if (base.contiguous() && metric == Metric::euclidean) {
    index->add(base.rows, base.data);
  } else {
    std::vector<float> tmp;
    for (int64_t b = 0; b < base.rows; b += kQueryBatch) {
      const int64_t e = std::min(base.rows, b + kQueryBatch);
      copy_rows(base, b, e, metric, tmp);
      index->add(e - b, tmp.data());
    }
  }
  const float* xb = index->get_xb();

  KnnGraph g;
  g.n = nq;
  g.k = k;
  g.metric = metric;
  g.indices.resize(static_cast<size_t>(checked_mul(nq, k)));
  g.distances.resize(g.indices.size());

  // Query batches of about kBatchWork multiply-adds (at least 256 rows, at
  // most kQueryBatch): Ctrl-C is checked between batches, and a batch of 4,096
  // queries over 120,000 x 64 took over 3 s on a loaded 2-core machine.
  const int64_t batch_rows =
      std::clamp<int64_t>(kBatchWork / std::max<int64_t>(1, base.rows * d), 256, kQueryBatch);
  const int64_t batches = (nq + batch_rows - 1) / batch_rows;
  ProgressScope scope(progress, "knn", batches);
  const SingleThreadedBlas blas_guard;
  std::vector<float> q, dist;
  std::vector<idx_t> ids;
  for (int64_t bi = 0; bi < batches; ++bi) {
    const int64_t b = bi * batch_rows;
    const int64_t e = std::min(nq, b + batch_rows);
    copy_rows(queries, b, e, metric, q);
    dist.resize(static_cast<size_t>((e - b) * kq));
    ids.resize(dist.size());
    index->search(e - b, q.data(), kq, dist.data(), ids.data());

    bool short_list = false;  // no throwing inside the parallel loop
#pragma omp parallel for schedule(static) reduction(|| : short_list)
    for (int64_t i = b; i < e; ++i) {
      const idx_t* cand = ids.data() + (i - b) * kq;
      // Drop the query's own row; with exact duplicates it may have been pushed
      // out of the list by its twins, and then the farthest entry goes instead.
      int drop = -1;
      if (self_ids) {
        drop = kq - 1;
        for (int j = 0; j < kq; ++j)
          if (cand[j] == (*self_ids)[i]) {
            drop = j;
            break;
          }
      }
      // FAISS's BLAS path computes |x|^2 + |y|^2 - 2 x.y, which loses the small
      // distances to cancellation; recompute each kept pair directly.
      const float* qi = q.data() + (i - b) * d;
      std::pair<float, int32_t> kept[1001];
      int m = 0;
      for (int j = 0; j < kq; ++j) {
        if (j == drop) continue;
        if (cand[j] < 0) {
          short_list = true;
          kept[m++] = {std::numeric_limits<float>::infinity(), 0};
          continue;
        }
        const float* y = xb + cand[j] * d;
        const float dv = metric == Metric::cosine ? cosine_from_dot(dot(qi, y, d))
                                                  : euclidean_from_sq(sq_l2(qi, y, d));
        kept[m++] = {dv, static_cast<int32_t>(cand[j])};
      }
      std::sort(kept, kept + m);
      for (int j = 0; j < k; ++j) {
        g.indices[i * k + j] = kept[j].second;
        g.distances[i * k + j] = kept[j].first;
      }
    }
    PRISM_CHECK(!short_list, "FAISS returned fewer than ", kq, " neighbours");
    scope.update(bi + 1);
    scope.check();
  }
  return g;
}

}  // namespace

KnnGraph knn_query(ConstView base, ConstView queries, int k, Metric metric,
                   const std::vector<int64_t>* query_ids) {
  PRISM_EXPECTS(base.rows <= std::numeric_limits<int32_t>::max(),
                "kNN supports up to 2^31 - 1 base rows, got ", base.rows);
  if (query_ids)
    for (int64_t id : *query_ids)
      PRISM_EXPECTS(id >= 0 && id < base.rows, "query id ", id, " is not a base row (0..",
                    base.rows - 1, ")");
  return search_exact(base, queries, k, metric, query_ids, nullptr);
}

KnnGraph knn_exact_cpu(ConstView x, int k, Metric metric, Progress* progress) {
  PRISM_EXPECTS(x.rows >= 2, "need at least 2 rows for a kNN graph, got ", x.rows);
  PRISM_EXPECTS(k < x.rows, "k = ", k, " needs more than ", k, " rows, got ", x.rows);
  PRISM_EXPECTS(x.rows <= std::numeric_limits<int32_t>::max(),
                "kNN supports up to 2^31 - 1 rows, got ", x.rows);
  std::vector<int64_t> self(static_cast<size_t>(x.rows));
  std::iota(self.begin(), self.end(), int64_t{0});
  return search_exact(x, x, k, metric, &self, progress);
}

double knn_recall(const KnnGraph& approx, const KnnGraph& exact, const std::vector<int64_t>& rows) {
  PRISM_EXPECTS(approx.k >= 1 && exact.k >= approx.k, "recall needs exact.k (", exact.k,
                ") >= approx.k (", approx.k, ") >= 1");
  const bool subset = !rows.empty();
  const int64_t m = subset ? static_cast<int64_t>(rows.size()) : approx.n;
  PRISM_EXPECTS(exact.n == approx.n || (subset && exact.n == m), "the exact graph has ", exact.n,
                " rows: expected ", approx.n, subset ? cat(" or ", m) : std::string());
  const bool exact_by_position = subset && exact.n == m && exact.n != approx.n;
  for (int64_t i : rows)
    PRISM_EXPECTS(i >= 0 && i < approx.n, "row ", i, " is outside the graph (", approx.n, " rows)");
  const int k = approx.k;
  int64_t hits = 0;
#pragma omp parallel for schedule(static) reduction(+ : hits)
  for (int64_t r = 0; r < m; ++r) {
    const int64_t i = subset ? rows[r] : r;
    const int32_t* truth = exact.neighbors(exact_by_position ? r : i);
    const int32_t* got = approx.neighbors(i);
    // Recall@k against the first k exact neighbours; k <= 1000, so a scan is fine.
    for (int a = 0; a < k; ++a)
      for (int b = 0; b < k; ++b)
        if (got[a] == truth[b]) {
          ++hits;
          break;
        }
  }
  return m == 0 ? 0.0 : static_cast<double>(hits) / (static_cast<double>(m) * k);
}

}  // namespace prism
