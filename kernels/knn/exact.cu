// Exact kNN: tiled GEMM distances + per-tile top-k merged into running lists.
// Rows are processed in host blocks that fit the device (all N at once when
// they fit: the common case); each (query block, base block) pair is swept in
// tiles of at most plan::kTileRows x plan::kTileCols dot products. The sizes
// come from plan::plan_exact_knn (kernels/plan), which the unit tests hold
// to the memory targets.
//
// The GEMM is compute-bound and the selection memory-bound, so they overlap:
// two tiles alternate, the GEMM of tile t + 1 runs on the main stream while
// tile t is selected on the aux stream. Events order them: a GEMM waits until
// the selection that last read its tile is done, a selection waits for its
// GEMM. Selections stay in order on one stream, so the running lists are
// updated exactly as without the overlap.
#include <algorithm>
#include <cmath>

#include "knn/knn_internal.cuh"
#include "prism/cuda/api.hpp"

namespace prism::cuda {
namespace detail {
namespace {

plan::GemmChoice gemm_choice(ExactOptions::Precision p) {
  switch (p) {
    case ExactOptions::Precision::fp32: return plan::GemmChoice::fp32;
    case ExactOptions::Precision::tf32: return plan::GemmChoice::tf32;
    default: return plan::GemmChoice::automatic;
  }
}

}  // namespace

plan::ExactKnnPlan exact_plan(Context& ctx, int64_t n, int64_t d, int k, const ExactOptions& o) {
  const int64_t budget = o.memory_budget > 0
                             ? static_cast<int64_t>(o.memory_budget)
                             : static_cast<int64_t>(0.8 * static_cast<double>(ctx.available_bytes()));
  return plan::plan_exact_knn(n, d, k, gemm_choice(o.precision), budget);
}

KnnGraph knn_exact_device(Context& ctx, ConstView x, int k, Metric metric,
                          const ExactOptions& options, Progress* progress) {
  const int64_t n = x.rows, d = x.cols;
  PRISM_EXPECTS(n >= 2, "need at least 2 rows for a kNN graph, got ", n);
  PRISM_EXPECTS(k >= 1 && k < n && k <= 1024, "k must be in 1..min(1024, N - 1), got ", k,
                " for N = ", n);
  PRISM_EXPECTS(n <= INT32_MAX, "kNN ids are int32: N = ", n, " is too large");
  const plan::ExactKnnPlan p = exact_plan(ctx, n, d, k, options);
  const int64_t R = p.block_rows;
  const int64_t blocks = p.blocks;
  const GemmPrecision precision = p.tf32 ? GemmPrecision::tf32 : GemmPrecision::fp32;

  // Exactly the plan's "search" stage.
  DeviceBuffer<float> qbuf(ctx, checked_mul(R, d), "kNN query rows");
  DeviceBuffer<float> qnorm(ctx, R, "kNN query norms");
  DeviceBuffer<float> xbuf, xnorm;
  if (!p.resident()) {
    xbuf.reset(ctx, checked_mul(R, d), "kNN base rows");
    xnorm.reset(ctx, R, "kNN base norms");
  }
  DeviceBuffer<float> best_d(ctx, checked_mul(R, p.pool_size), "kNN candidate lists");
  DeviceBuffer<int32_t> best_i(ctx, checked_mul(R, p.pool_size), "kNN candidate lists");
  DeviceBuffer<float> out_d(ctx, checked_mul(R, k), "kNN output");
  DeviceBuffer<int32_t> out_i(ctx, checked_mul(R, k), "kNN output");
  DeviceBuffer<float> tiles[plan::kTilesInFlight];
  for (auto& t : tiles) t.reset(ctx, p.tile_floats(), "kNN distance tiles");

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

  // After the buffers: on every exit the main stream waits for the aux
  // stream before any buffer above is freed.
  AuxStreamScope aux(ctx);
  const cudaStream_t main_s = ctx.stream(), aux_s = ctx.aux_stream();
  Event gemm_done[plan::kTilesInFlight], select_done[plan::kTilesInFlight], row_done[2];
  int64_t tile_no = 0;

  const int64_t q_tiles_per_block = (R + p.tile_rows - 1) / p.tile_rows;
  ProgressScope scope(progress, "knn", blocks * blocks * q_tiles_per_block);
  int64_t units = 0;
  for (int64_t qb = 0; qb < blocks; ++qb) {
    const int64_t q0 = qb * R, qn = std::min(R, n - q0);
    ctx.join();  // the lists, rows and norms are rewritten below: the aux stream must be done
    prepare(qbuf.data(), qnorm.data(), q0, qn);
    launch_init_lists(ctx, best_d.data(), best_i.data(), checked_mul(qn, p.pool_size));
    for (int64_t xb = 0; xb < blocks; ++xb) {
      const int64_t x0 = xb * R, xn = std::min(R, n - x0);
      const float* xs = qbuf.data();
      const float* xns = qnorm.data();
      if (xb != qb) {
        ctx.join();
        prepare(xbuf.data(), xnorm.data(), x0, xn);
        xs = xbuf.data();
        xns = xnorm.data();
      }
      for (int64_t tq = 0; tq < qn; tq += p.tile_rows) {
        const int64_t nq = std::min(p.tile_rows, qn - tq);
        for (int64_t tx = 0; tx < xn; tx += p.tile_cols) {
          const int64_t nx = std::min(p.tile_cols, xn - tx);
          const int b = static_cast<int>(tile_no++ % plan::kTilesInFlight);
          select_done[b].wait_in(main_s);
          gemm_dots(ctx, qbuf.data() + tq * d, nq, xs + tx * d, nx, d, tiles[b].data(), precision);
          gemm_done[b].record(main_s);
          gemm_done[b].wait_in(aux_s);
          TileSelect t;
          t.dots = tiles[b].data();
          t.ld = nx;
          t.nq = nq;
          t.nx = nx;
          t.form = form;
          t.q_norms = qnorm.data() + tq;
          t.x_norms = xns + tx;
          t.q0 = q0 + tq;
          t.x0 = x0 + tx;
          t.exclude_self = true;
          t.best_d = best_d.data() + tq * p.pool_size;
          t.best_i = best_i.data() + tq * p.pool_size;
          t.pool_size = p.pool_size;
          launch_select_tile(ctx, t, aux_s);
          select_done[b].record(aux_s);
        }
        // Progress one tile row behind, so the streams never run dry; the
        // wait also surfaces device errors early.
        row_done[units & 1].record(aux_s);
        if (units > 0) row_done[(units - 1) & 1].sync();
        scope.update(++units);
      }
    }
    ctx.join();
    if (p.refine)
      launch_refine(ctx, qbuf.data(), d, metric, 0, qn, best_i.data(), p.pool_size, k, out_d.data(),
                    out_i.data());
    else
      launch_finalize(ctx, metric, qn, best_d.data(), best_i.data(), p.pool_size, k, out_d.data(),
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
