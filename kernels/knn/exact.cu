// Exact kNN: tiled GEMM distances + per-tile top-k merged into running lists.
// Rows are processed in host blocks that fit the device (all N at once when
// they fit: the common case); each (query block, base block) pair is swept in
// tiles of at most kTileBytes of dot products.
#include <algorithm>
#include <cmath>

#include "knn/knn_internal.cuh"
#include "prism/cuda/api.hpp"

namespace prism::cuda {
namespace detail {
namespace {

constexpr int64_t kTileCols = 16384;
constexpr int64_t kTileRows = 8192;

// Below this much GEMM work (N^2 * D multiply-adds) fp32 is already fast
// (under ~20 ms on an H100), so tf32 + re-rank would not pay for itself.
constexpr double kTf32Work = 2e11;

struct Plan {
  int64_t block_rows = 0;  // host block size R
  int64_t tile_rows = 0, tile_cols = 0;
  int kk = 0;
  GemmPrecision precision = GemmPrecision::fp32;
  bool refine = false;
};

size_t plan_bytes(const Plan& p, int64_t n, int64_t d, int k) {
  const int64_t r = p.block_rows;
  const bool resident = r >= n;
  size_t b = 0;
  b += static_cast<size_t>(checked_mul(r, d)) * 4 * (resident ? 1 : 2);  // query + base blocks
  b += static_cast<size_t>(r) * 4 * 2;                                  // norms
  b += static_cast<size_t>(checked_mul(r, p.kk)) * 8;                   // running lists
  b += static_cast<size_t>(checked_mul(r, k)) * 8;                      // output
  b += static_cast<size_t>(checked_mul(p.tile_rows, p.tile_cols)) * 4;  // one tile
  return b;
}

Plan make_plan(Context& ctx, int64_t n, int64_t d, int k, const ExactOptions& o) {
  Plan p;
  const double work = static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(d);
  const bool want_tf32 =
      o.precision == ExactOptions::Precision::tf32 ||
      (o.precision == ExactOptions::Precision::automatic && work >= kTf32Work);
  size_t budget = o.memory_budget;
  if (budget == 0) budget = static_cast<size_t>(0.8 * static_cast<double>(ctx.memory_info().first));
  p.tile_cols = std::min(n, kTileCols);
  p.tile_rows = std::min(n, kTileRows);
  p.block_rows = n;
  // tf32 candidates are re-ranked from resident rows, so it needs all of X on the device.
  p.precision = want_tf32 ? GemmPrecision::tf32 : GemmPrecision::fp32;
  p.kk = want_tf32 ? static_cast<int>(std::min<int64_t>({k + std::max(k, 32), n - 1, kMaxPool})) : k;
  p.refine = true;
  if (plan_bytes(p, n, d, k) > budget) {
    p.precision = GemmPrecision::fp32;
    p.kk = k;
    while (p.tile_rows > 256 && plan_bytes(p, n, d, k) > budget) p.tile_rows /= 2;
    if (plan_bytes(p, n, d, k) > budget) {
      p.refine = false;
      while (p.block_rows > 1024 && plan_bytes(p, n, d, k) > budget) {
        p.block_rows = (p.block_rows + 1) / 2;
        p.tile_rows = std::min(p.tile_rows, p.block_rows);
        p.tile_cols = std::min(p.tile_cols, p.block_rows);
      }
    }
  }
  if (plan_bytes(p, n, d, k) > budget)
    throw RuntimeError(cat("CUDA out of memory: exact kNN of ", n, " x ", d, " with k = ", k,
                           " needs at least ", format_bytes(static_cast<double>(plan_bytes(p, n, d, k))),
                           ", the budget is ", format_bytes(static_cast<double>(budget))));
  return p;
}

}  // namespace

KnnGraph knn_exact_device(Context& ctx, ConstView x, int k, Metric metric,
                          const ExactOptions& options, Progress* progress) {
  const int64_t n = x.rows, d = x.cols;
  PRISM_EXPECTS(n >= 2, "need at least 2 rows for a kNN graph, got ", n);
  PRISM_EXPECTS(k >= 1 && k < n && k <= 1024, "k must be in 1..min(1024, N - 1), got ", k,
                " for N = ", n);
  PRISM_EXPECTS(n <= INT32_MAX, "kNN ids are int32: N = ", n, " is too large");
  const Plan p = make_plan(ctx, n, d, k, options);
  const int64_t R = p.block_rows;
  const int64_t blocks = (n + R - 1) / R;
  const bool resident = blocks == 1;

  DeviceBuffer<float> qbuf(ctx, checked_mul(R, d), "kNN query rows");
  DeviceBuffer<float> xbuf;
  if (!resident) xbuf.reset(ctx, checked_mul(R, d), "kNN base rows");
  DeviceBuffer<float> qnorm(ctx, R, "kNN query norms"), xnorm(ctx, R, "kNN base norms");
  DeviceBuffer<float> best_d(ctx, checked_mul(R, p.kk), "kNN candidate lists");
  DeviceBuffer<int32_t> best_i(ctx, checked_mul(R, p.kk), "kNN candidate lists");
  DeviceBuffer<float> out_d(ctx, checked_mul(R, k), "kNN output");
  DeviceBuffer<int32_t> out_i(ctx, checked_mul(R, k), "kNN output");
  DeviceBuffer<float> tile(ctx, checked_mul(p.tile_rows, p.tile_cols), "kNN distance tile");

  KnnGraph g;
  g.n = n;
  g.k = k;
  g.metric = metric;
  g.indices.resize(static_cast<size_t>(checked_mul(n, k)));
  g.distances.resize(static_cast<size_t>(checked_mul(n, k)));

  const DistanceForm form =
      metric == Metric::euclidean ? DistanceForm::l2_expanded : DistanceForm::one_minus_dot;
  auto prepare = [&](float* buf, float* norms, int64_t row0, int64_t rows) {
    upload_rows(ctx, x, row0, rows, buf);
    if (metric == Metric::cosine) launch_normalize_rows(ctx, buf, rows, d);
    else launch_row_sq_norms(ctx, buf, rows, d, norms);
  };

  const int64_t q_tiles_per_block = (R + p.tile_rows - 1) / p.tile_rows;
  ProgressScope scope(progress, "knn", blocks * blocks * q_tiles_per_block);
  int64_t units = 0;
  for (int64_t qb = 0; qb < blocks; ++qb) {
    const int64_t q0 = qb * R, qn = std::min(R, n - q0);
    prepare(qbuf.data(), qnorm.data(), q0, qn);
    launch_init_lists(ctx, best_d.data(), best_i.data(), checked_mul(qn, p.kk));
    for (int64_t xb = 0; xb < blocks; ++xb) {
      const int64_t x0 = xb * R, xn = std::min(R, n - x0);
      const float* xs = qbuf.data();
      const float* xns = qnorm.data();
      if (xb != qb) {
        prepare(xbuf.data(), xnorm.data(), x0, xn);
        xs = xbuf.data();
        xns = xnorm.data();
      }
      for (int64_t tq = 0; tq < qn; tq += p.tile_rows) {
        const int64_t nq = std::min(p.tile_rows, qn - tq);
        for (int64_t tx = 0; tx < xn; tx += p.tile_cols) {
          const int64_t nx = std::min(p.tile_cols, xn - tx);
          gemm_dots(ctx, qbuf.data() + tq * d, nq, xs + tx * d, nx, d, tile.data(), p.precision);
          TileSelect t;
          t.dots = tile.data();
          t.ld = nx;
          t.nq = nq;
          t.nx = nx;
          t.form = form;
          t.q_norms = qnorm.data() + tq;
          t.x_norms = xns + tx;
          t.q0 = q0 + tq;
          t.x0 = x0 + tx;
          t.exclude_self = true;
          t.best_d = best_d.data() + tq * p.kk;
          t.best_i = best_i.data() + tq * p.kk;
          t.kk = p.kk;
          launch_select_tile(ctx, t);
        }
        // Lets a long search report progress (and surfaces device errors early).
        ctx.sync();
        scope.update(++units);
      }
    }
    if (p.refine && resident)
      launch_refine(ctx, qbuf.data(), d, metric, 0, qn, best_i.data(), p.kk, k, out_d.data(),
                    out_i.data());
    else
      launch_finalize(ctx, metric, qn, best_d.data(), best_i.data(), p.kk, k, out_d.data(),
                      out_i.data());
    out_d.download(g.distances.data() + q0 * k, qn * k);
    out_i.download(g.indices.data() + q0 * k, qn * k);
    ctx.sync();
  }
  return g;
}

}  // namespace detail

KnnGraph knn_exact(ConstView x, int k, Metric metric, Progress* progress) {
  auto ctx = Context::shared();
  return detail::knn_exact_device(*ctx, x, k, metric, {}, progress);
}

}  // namespace prism::cuda
