#pragma once
// Launchers shared by the exact and the approximate (IVF) kNN paths. Kernels
// live in distance.cu and select.cu; only these launchers are visible.
#include <cstdint>

#include "core/context.cuh"
#include "plan/memory_plan.hpp"
#include "prism/knn.hpp"

namespace prism::cuda::detail {

/// How a tile of dot products becomes distances.
enum class DistanceForm {
  l2_expanded,    ///< |q|^2 + |x|^2 - 2 q.x (squared L2, clamped at 0)
  one_minus_dot,  ///< 1 - q.x on unit rows (cosine distance)
};

/// GEMM arithmetic. tf32 is ~8x faster on Hopper but only ~1e-3 relative in
/// the dot products, so its callers keep a larger candidate pool and re-rank
/// it with exact fp32 distances (launch_refine).
enum class GemmPrecision { fp32, tf32 };

/// out[i] = sum_j x[i, j]^2 for a contiguous rows x cols matrix.
void launch_row_sq_norms(Context& ctx, const float* x, int64_t rows, int64_t cols, float* out);
/// Scales each row to unit L2 norm (zero rows stay zero).
void launch_normalize_rows(Context& ctx, float* x, int64_t rows, int64_t cols);
/// dots (row-major nq x nx, leading dimension nx) = Q (nq x d) * X (nx x d)^T.
void gemm_dots(Context& ctx, const float* q, int64_t nq, const float* x, int64_t nx, int64_t d,
               float* dots, GemmPrecision precision);
/// Copies rows ids[0..count) of x (rows x d) to out (count x d).
void launch_gather_rows(Context& ctx, const float* x, int64_t d, const int32_t* ids, int64_t count,
                        float* out);
void launch_gather_floats(Context& ctx, const float* src, const int32_t* ids, int64_t count,
                          float* out);

/// Largest pool the selection keeps per query (k + re-rank margin).
using plan::kMaxPool;

/// One tile of dot products merged into running per-query top-pool_size lists.
struct TileSelect {
  const float* dots = nullptr;  ///< nq x nx, leading dimension ld
  int64_t ld = 0;
  int64_t nq = 0, nx = 0;
  DistanceForm form = DistanceForm::l2_expanded;
  const float* q_norms = nullptr;  ///< nq squared norms (l2_expanded)
  const float* x_norms = nullptr;  ///< nx squared norms (l2_expanded)
  /// Global id of query row r: q_ids[r] when set, else q0 + r.
  const int32_t* q_ids = nullptr;
  int64_t q0 = 0;
  /// Row of the lists that query row r updates: q_rows[r] when set, else r.
  const int32_t* q_rows = nullptr;
  /// Global id of column c: x_ids[c] when set, else x0 + c.
  const int32_t* x_ids = nullptr;
  int64_t x0 = 0;
  bool exclude_self = true;
  float* best_d = nullptr;  ///< lists: pool_size per row, ascending by (distance, id)
  int32_t* best_i = nullptr;
  int pool_size = 0;
};
/// On `stream` (0: the context's main stream). Deterministic: the candidates
/// kept from a tile do not depend on thread scheduling; among more equal
/// distances than fit, the first columns of the tile are kept.
void launch_select_tile(Context& ctx, const TileSelect& t, cudaStream_t stream = nullptr);
/// Empty lists: distance +inf, id -1.
void launch_init_lists(Context& ctx, float* best_d, int32_t* best_i, int64_t count);

/// For list rows r in [0, rows) of query ids q_ids[r] (nullptr: row0 + r):
/// recomputes the pool's exact distances from x (n x d, unit rows for
/// cosine), sorts by (distance, id) and writes the k best as true distances
/// (sqrt for L2, 1 - cos).
void launch_refine(Context& ctx, const float* x, int64_t d, Metric metric, int64_t row0,
                   int64_t rows, const int32_t* pool_i, int pool_size, int k, float* out_d,
                   int32_t* out_i, const int32_t* q_ids = nullptr);
/// Without re-ranking: the first k of each pool_size-list, squared L2 turned to L2.
void launch_finalize(Context& ctx, Metric metric, int64_t rows, const float* pool_d,
                     const int32_t* pool_i, int pool_size, int k, float* out_d, int32_t* out_i);

/// Exact kNN with explicit choices, for tests and benchmarks.
struct ExactOptions {
  enum class Precision { automatic, fp32, tf32 } precision = Precision::automatic;
  /// Device bytes the search may use (0: 80% of Context::available_bytes());
  /// tests shrink it to exercise the host-blocked path.
  size_t memory_budget = 0;
};
/// The plan knn_exact_device follows for these inputs on this context.
plan::ExactKnnPlan exact_plan(Context& ctx, int64_t n, int64_t d, int k, const ExactOptions& options);
KnnGraph knn_exact_device(Context& ctx, ConstView x, int k, Metric metric,
                          const ExactOptions& options, Progress* progress);

/// IVF-flat settings (0: chosen from N, see ivf.cu).
struct IvfOptions {
  int nlist = 0;   ///< 0: plan::ivf_nlist(N)
  /// Probes per query; 0: the smallest of plan::ivf_nprobe_ladder whose
  /// recall@k on a seeded sample of queries, against their exact lists,
  /// reaches target_recall.
  int nprobe = 0;
  double target_recall = 0.96;
  int kmeans_iterations = 10;
  GemmPrecision precision = GemmPrecision::tf32;
  size_t memory_budget = 0;    ///< device bytes (0: 80% of Context::available_bytes())
  int64_t max_batch_rows = 0;  ///< caps the queries per search batch (0: the plan's)
};
/// What an IVF search did.
struct IvfStats {
  int nlist = 0;
  int nprobe = 0;                 ///< used for the whole search
  double sample_recall = -1;      ///< recall@k of the calibration sample at that nprobe (-1: none)
  int64_t batches = 0;
  plan::IvfPlan plan;         ///< the index and the calibration (nprobe at its largest)
  plan::IvfPlan search_plan;  ///< the batches, for the nprobe used
};
KnnGraph knn_ivf_device(Context& ctx, ConstView x, int k, Metric metric, uint64_t seed,
                        const IvfOptions& options, Progress* progress, IvfStats* stats = nullptr);

}  // namespace prism::cuda::detail
