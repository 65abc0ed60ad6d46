// Approximate kNN for millions of points: IVF-flat on the GPU.
//
// Why IVF-flat and not GPU NN-descent: every distance here goes through
// cuBLAS GEMM (tf32 tensor cores) and the same tile top-k as the exact path,
// so the approximate search inherits the exact path's tested kernels; its
// work is predictable (N * nprobe/nlist * N * D) with no data-dependent
// iteration count; and the result is deterministic (lists are processed in
// order on one stream, sorts are CUB radix sorts). NN-descent needs random
// scattered neighbour-of-neighbour reads and atomics on the graph, which are
// memory-bound and order-dependent on a GPU.
//
// Steps: k-means on a seeded sample (deterministic sort-based centroid
// updates); points sorted by their nearest centroid (the inverted lists);
// nprobe chosen by measured recall: a seeded sample of queries is searched
// exactly and with growing nprobe (plan::ivf_nprobe_ladder) until its
// recall@k reaches the target; then the queries in batches (plan::plan_ivf
// bounds their memory): each query's nprobe nearest centroids, (list, query)
// pairs sorted by list, every list searched against the queries probing it
// with one GEMM per chunk, and the candidate pool re-ranked with exact fp32
// distances.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "core/sort.cuh"
#include "knn/knn_internal.cuh"
#include "prism/cuda/api.hpp"

namespace prism::cuda {
namespace detail {
namespace {

constexpr int kBlock = 256;

__global__ void centroid_update_kernel(const float* __restrict__ sample, int64_t d,
                                       const int32_t* __restrict__ members,
                                       const int64_t* __restrict__ offsets,
                                       float* __restrict__ centroids, bool normalize) {
  const int64_t c = blockIdx.x;
  const int64_t lo = offsets[c], hi = offsets[c + 1];
  if (hi == lo) return;  // empty cluster: keep the old centroid
  const float inv = 1.f / static_cast<float>(hi - lo);
  __shared__ float s_part[kBlock];
  float local = 0.f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    float s = 0.f;  // members in sorted order: the same sum every run
    for (int64_t m = lo; m < hi; ++m) s += sample[static_cast<int64_t>(members[m]) * d + j];
    s *= inv;
    centroids[c * d + j] = s;
    local += s * s;
  }
  if (!normalize) return;
  // Fixed-shape tree reduction (not atomics): the same norm bits every run.
  s_part[threadIdx.x] = local;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) s_part[threadIdx.x] += s_part[threadIdx.x + w];
    __syncthreads();
  }
  const float scale = s_part[0] > 0.f ? rsqrtf(s_part[0]) : 0.f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) centroids[c * d + j] *= scale;
}

// out[t] = start + t / divisor
__global__ void iota_kernel(int32_t* __restrict__ out, int64_t count, int divisor, int64_t start) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < count) out[t] = static_cast<int32_t>(start + t / divisor);
}

// out[t] = map[in[t]]
__global__ void map_kernel(const int32_t* __restrict__ in, const int32_t* __restrict__ map,
                           int64_t count, int32_t* __restrict__ out) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < count) out[t] = map[in[t]];
}

void iota(Context& ctx, int32_t* out, int64_t count, int divisor, int64_t start) {
  if (count <= 0) return;
  iota_kernel<<<grid_for(count, kBlock), kBlock, 0, ctx.stream()>>>(out, count, divisor, start);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

int key_bits_for(int nlist) {
  return std::max(1, static_cast<int>(std::ceil(std::log2(static_cast<double>(nlist) + 1))));
}

// Nearest `pool_size` centroids of rows [0, rows) of `pts`, written to lists (rows x pool_size).
void nearest_centroids(Context& ctx, const float* pts, const float* pts_norms, int64_t rows,
                       int64_t d, const float* centroids, const float* c_norms, int nlist,
                       DistanceForm form, int pool_size, float* list_d, int32_t* list_i,
                       DeviceBuffer<float>& tile) {
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(65536, tile.size() / nlist));
  launch_init_lists(ctx, list_d, list_i, checked_mul(rows, pool_size));
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t nr = std::min(chunk, rows - r0);
    gemm_dots(ctx, pts + r0 * d, nr, centroids, nlist, d, tile.data(), GemmPrecision::fp32);
    TileSelect t;
    t.dots = tile.data();
    t.ld = nlist;
    t.nq = nr;
    t.nx = nlist;
    t.form = form;
    t.q_norms = pts_norms ? pts_norms + r0 : nullptr;
    t.x_norms = c_norms;
    t.q0 = r0;
    t.x0 = 0;
    t.exclude_self = false;
    t.best_d = list_d + r0 * pool_size;
    t.best_i = list_i + r0 * pool_size;
    t.pool_size = pool_size;
    launch_select_tile(ctx, t);
  }
}

// The built index: everything a search batch reads.
struct Index {
  const plan::IvfPlan* plan;  // sizes the batches
  Metric metric;
  DistanceForm form;
  GemmPrecision precision;
  const float* x;           // n x d in the caller's order (unit rows for cosine)
  const float* x_norms;     // squared norms (euclidean) or nullptr
  const float* xs;          // rows in list order
  const float* xs_norms;
  const int32_t* perm;      // list order -> id
  const float* centroids;
  const float* c_norms;
  std::vector<int64_t> list_offsets;  // host copy, nlist + 1
  DeviceBuffer<float>* tile;
};

// Searches `count` queries (global ids `ids` on the device; their rows are
// `rows`, contiguous, with `norms`) with `nprobe` probes; writes count x k
// results to out_d / out_i on the device. Allocates the plan's search stages.
void search_batch(Context& ctx, const Index& ix, const int32_t* ids, const float* rows,
                  const float* norms, int64_t count, int nprobe, float* out_d, int32_t* out_i) {
  const plan::IvfPlan& p = *ix.plan;
  const int nlist = p.nlist, pool_size = p.pool_size;
  const int64_t d = p.d, pairs = checked_mul(count, nprobe);
  PRISM_CHECK(count <= p.batch_rows && nprobe <= p.nprobe, "IVF batch of ", count, " x ", nprobe,
              " above the plan's ", p.batch_rows, " x ", p.nprobe);

  // "search: probes" then "search: pair sort": pairs (list, batch position) by list.
  DeviceBuffer<int32_t> pair_pos_sorted;
  DeviceBuffer<int64_t> poff(ctx, nlist + 1, "IVF pair offsets");
  {
    DeviceBuffer<int32_t> probe_i;
    {
      DeviceBuffer<float> probe_d(ctx, pairs, "IVF probes");
      probe_i.reset(ctx, pairs, "IVF probes");
      nearest_centroids(ctx, rows, norms, count, d, ix.centroids, ix.c_norms, nlist, ix.form,
                        nprobe, probe_d.data(), probe_i.data(), *ix.tile);
    }
    DeviceBuffer<int32_t> pair_pos(ctx, pairs, "IVF probe pairs"),
        pair_keys(ctx, pairs, "IVF probe pairs");
    pair_pos_sorted.reset(ctx, pairs, "IVF probe pairs");
    iota(ctx, pair_pos.data(), pairs, nprobe, 0);
    sort_pairs(ctx, probe_i.data(), pair_keys.data(), pair_pos.data(), pair_pos_sorted.data(),
               pairs, key_bits_for(nlist));
    segment_offsets(ctx, pair_keys.data(), pairs, nlist, poff.data());
  }
  std::vector<int64_t> h_poff(nlist + 1);
  poff.download(h_poff.data(), nlist + 1);

  // "search: lists"
  DeviceBuffer<int32_t> pair_gid(ctx, pairs, "IVF probe pairs");
  map_kernel<<<grid_for(pairs, kBlock), kBlock, 0, ctx.stream()>>>(pair_pos_sorted.data(), ids,
                                                                   pairs, pair_gid.data());
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  DeviceBuffer<float> best_d(ctx, checked_mul(count, pool_size), "IVF candidate lists");
  DeviceBuffer<int32_t> best_i(ctx, checked_mul(count, pool_size), "IVF candidate lists");
  launch_init_lists(ctx, best_d.data(), best_i.data(), checked_mul(count, pool_size));
  DeviceBuffer<float> qg(ctx, checked_mul(p.query_chunk, d), "IVF gathered queries");
  DeviceBuffer<float> qgnorm(ctx, p.query_chunk, "IVF gathered norms");
  ctx.sync();  // h_poff
  for (int l = 0; l < nlist; ++l) {
    const int64_t lo = ix.list_offsets[l], hi = ix.list_offsets[l + 1];
    const int64_t plo = h_poff[l], phi = h_poff[l + 1];
    if (phi == plo) continue;
    for (int64_t b0 = lo; b0 < hi; b0 += p.base_chunk) {
      const int64_t nb = std::min(p.base_chunk, hi - b0);
      const int64_t qchunk = std::max<int64_t>(1, std::min(p.query_chunk, ix.tile->size() / nb));
      for (int64_t q0 = plo; q0 < phi; q0 += qchunk) {
        const int64_t nq = std::min(qchunk, phi - q0);
        const int32_t* qids = pair_gid.data() + q0;
        launch_gather_rows(ctx, ix.x, d, qids, nq, qg.data());
        if (ix.x_norms) launch_gather_floats(ctx, ix.x_norms, qids, nq, qgnorm.data());
        gemm_dots(ctx, qg.data(), nq, ix.xs + b0 * d, nb, d, ix.tile->data(), ix.precision);
        TileSelect t;
        t.dots = ix.tile->data();
        t.ld = nb;
        t.nq = nq;
        t.nx = nb;
        t.form = ix.form;
        t.q_norms = qgnorm.data();
        t.x_norms = ix.xs_norms + b0;
        t.q_ids = qids;
        t.q_rows = pair_pos_sorted.data() + q0;
        t.x_ids = ix.perm + b0;
        t.exclude_self = true;
        t.best_d = best_d.data();
        t.best_i = best_i.data();
        t.pool_size = pool_size;
        launch_select_tile(ctx, t);
      }
    }
  }
  // A query whose probed lists hold fewer than k other points keeps id -1
  // (distance +inf) entries; with nprobe >= 32 lists of ~sqrt(N) points that
  // cannot happen for N >= k^2 / 32.
  launch_refine(ctx, ix.x, d, ix.metric, 0, count, best_i.data(), pool_size, p.k, out_d, out_i, ids);
}

}  // namespace

KnnGraph knn_ivf_device(Context& ctx, ConstView x, int k, Metric metric, uint64_t seed,
                        const IvfOptions& o, Progress* progress, IvfStats* stats) {
  const int64_t n = x.rows, d = x.cols;
  PRISM_EXPECTS(n >= 2, "need at least 2 rows for a kNN graph, got ", n);
  PRISM_EXPECTS(k >= 1 && k < n && k <= 1024, "k must be in 1..min(1024, N - 1), got ", k,
                " for N = ", n);
  PRISM_EXPECTS(n <= INT32_MAX, "kNN ids are int32: N = ", n, " is too large");
  PRISM_EXPECTS(o.nprobe >= 0 && o.nlist >= 0, "IVF: nlist and nprobe must be >= 0");
  PRISM_EXPECTS(o.target_recall > 0 && o.target_recall <= 1, "IVF: target recall ",
                o.target_recall, " must be in (0, 1]");
  const bool calibrate = o.nprobe == 0;
  const int64_t budget = o.memory_budget > 0
                             ? static_cast<int64_t>(o.memory_budget)
                             : static_cast<int64_t>(0.8 * static_cast<double>(ctx.available_bytes()));
  const plan::IvfPlan p = plan::plan_ivf(n, d, k, o.nlist, o.nprobe,
                                         o.precision == GemmPrecision::tf32, calibrate, budget,
                                         o.max_batch_rows);
  const int nlist = p.nlist;
  const int64_t m = p.sample_rows;
  const DistanceForm form =
      metric == Metric::euclidean ? DistanceForm::l2_expanded : DistanceForm::one_minus_dot;
  const int64_t batches = (n + p.batch_rows - 1) / p.batch_rows;
  ProgressScope scope(progress, "knn", 2 + batches);
  const int key_bits = key_bits_for(nlist);

  // Resident data (normalised rows for cosine) and norms.
  DeviceBuffer<float> xd(ctx, checked_mul(n, d), "IVF data");
  upload_rows(ctx, x, 0, n, xd.data());
  DeviceBuffer<float> xnorm(ctx, n, "IVF norms");
  if (metric == Metric::cosine) launch_normalize_rows(ctx, xd.data(), n, d);
  else launch_row_sq_norms(ctx, xd.data(), n, d, xnorm.data());
  const float* xn = metric == Metric::euclidean ? xnorm.data() : nullptr;
  DeviceBuffer<float> tile(ctx, p.tile_floats, "IVF distance tile");
  DeviceBuffer<float> cent(ctx, checked_mul(nlist, d), "IVF centroids");
  DeviceBuffer<float> cnorm(ctx, nlist, "IVF centroid norms");

  // A seeded partial shuffle: its first m rows are the k-means sample, the
  // next ones (the last ones when n is small) the calibration queries.
  std::vector<int32_t> ids(static_cast<size_t>(n));
  std::iota(ids.begin(), ids.end(), 0);
  std::mt19937_64 rng(seed);
  const int64_t shuffled = std::min(n, m + p.calibration_queries);
  for (int64_t i = 0; i < shuffled; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(ids[i], ids[pick(rng)]);
  }

  // ---- "k-means" on the sample ----
  {
    DeviceBuffer<int32_t> sample_ids(ctx, m, "IVF sample");
    sample_ids.upload(ids.data(), m);
    DeviceBuffer<float> sample(ctx, checked_mul(m, d), "IVF sample rows");
    launch_gather_rows(ctx, xd.data(), d, sample_ids.data(), m, sample.data());
    DeviceBuffer<float> snorm(ctx, m, "IVF sample norms");
    if (xn) launch_gather_floats(ctx, xnorm.data(), sample_ids.data(), m, snorm.data());
    PRISM_CUDA_TRY(cudaMemcpyAsync(cent.data(), sample.data(), checked_mul(nlist, d) * sizeof(float),
                                   cudaMemcpyDeviceToDevice, ctx.stream()));
    DeviceBuffer<float> assign_d(ctx, m, "k-means assignment");
    DeviceBuffer<int32_t> assign_i(ctx, m, "k-means assignment"), sorted_keys(ctx, m, "k-means sort");
    DeviceBuffer<int32_t> rows_in(ctx, m, "k-means sort"), members(ctx, m, "k-means sort");
    DeviceBuffer<int64_t> coff(ctx, nlist + 1, "k-means offsets");
    iota(ctx, rows_in.data(), m, 1, 0);
    for (int it = 0; it < o.kmeans_iterations; ++it) {
      if (xn) launch_row_sq_norms(ctx, cent.data(), nlist, d, cnorm.data());
      nearest_centroids(ctx, sample.data(), xn ? snorm.data() : nullptr, m, d, cent.data(),
                        cnorm.data(), nlist, form, 1, assign_d.data(), assign_i.data(), tile);
      sort_pairs(ctx, assign_i.data(), sorted_keys.data(), rows_in.data(), members.data(), m, key_bits);
      segment_offsets(ctx, sorted_keys.data(), m, nlist, coff.data());
      centroid_update_kernel<<<blocks_for(nlist), kBlock, 0, ctx.stream()>>>(
          sample.data(), d, members.data(), coff.data(), cent.data(), metric == Metric::cosine);
      PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
    }
    if (xn) launch_row_sq_norms(ctx, cent.data(), nlist, d, cnorm.data());
  }
  scope.update(1);

  // ---- inverted lists: points sorted by their nearest centroid ----
  DeviceBuffer<int32_t> perm(ctx, n, "IVF lists");
  DeviceBuffer<int64_t> loff(ctx, nlist + 1, "IVF list offsets");
  {
    DeviceBuffer<int32_t> nearest;
    {  // "lists: assign"
      DeviceBuffer<float> nearest_d(ctx, n, "IVF nearest list");
      nearest.reset(ctx, n, "IVF nearest list");
      nearest_centroids(ctx, xd.data(), xn, n, d, cent.data(), cnorm.data(), nlist, form, 1,
                        nearest_d.data(), nearest.data(), tile);
    }
    // "lists: sort"
    DeviceBuffer<int32_t> point_ids(ctx, n, "IVF lists"), list_keys(ctx, n, "IVF lists");
    iota(ctx, point_ids.data(), n, 1, 0);
    sort_pairs(ctx, nearest.data(), list_keys.data(), point_ids.data(), perm.data(), n, key_bits);
    segment_offsets(ctx, list_keys.data(), n, nlist, loff.data());
  }
  // "lists: gather"
  DeviceBuffer<float> xs(ctx, checked_mul(n, d), "IVF rows in list order");
  launch_gather_rows(ctx, xd.data(), d, perm.data(), n, xs.data());
  DeviceBuffer<float> xsnorm(ctx, n, "IVF norms in list order");
  if (xn) launch_gather_floats(ctx, xnorm.data(), perm.data(), n, xsnorm.data());

  Index ix{&p, metric, form, o.precision, xd.data(), xn, xs.data(), xsnorm.data(), perm.data(),
           cent.data(), cnorm.data(), std::vector<int64_t>(nlist + 1), &tile};
  loff.download(ix.list_offsets.data(), nlist + 1);
  ctx.sync();
  scope.update(2);

  // ---- nprobe by measured recall on a sample of queries ----
  int nprobe = p.nprobe;
  double sample_recall = -1;
  if (calibrate) {
    const int64_t s = p.calibration_queries;
    const int64_t first = shuffled - s;
    DeviceBuffer<int32_t> cq(ctx, s, "IVF calibration queries");
    cq.upload(ids.data() + first, s);
    DeviceBuffer<float> crows(ctx, checked_mul(s, d), "IVF calibration rows");
    launch_gather_rows(ctx, xd.data(), d, cq.data(), s, crows.data());
    DeviceBuffer<float> cnorms(ctx, s, "IVF calibration norms");
    if (xn) launch_gather_floats(ctx, xnorm.data(), cq.data(), s, cnorms.data());
    DeviceBuffer<float> od(ctx, checked_mul(s, k), "kNN output");
    DeviceBuffer<int32_t> oi(ctx, checked_mul(s, k), "kNN output");
    std::vector<int32_t> exact(static_cast<size_t>(s * k)), approx(exact.size());
    {  // exact lists of the sample: fp32, against every row
      DeviceBuffer<float> ld(ctx, checked_mul(s, k), "kNN candidate lists");
      DeviceBuffer<int32_t> li(ctx, checked_mul(s, k), "kNN candidate lists");
      launch_init_lists(ctx, ld.data(), li.data(), checked_mul(s, k));
      const int64_t cols = std::max<int64_t>(1, std::min(n, tile.size() / s));
      for (int64_t c0 = 0; c0 < n; c0 += cols) {
        const int64_t nc = std::min(cols, n - c0);
        gemm_dots(ctx, crows.data(), s, xd.data() + c0 * d, nc, d, tile.data(), GemmPrecision::fp32);
        TileSelect t;
        t.dots = tile.data();
        t.ld = nc;
        t.nq = s;
        t.nx = nc;
        t.form = form;
        t.q_norms = cnorms.data();
        t.x_norms = xnorm.data() + c0;
        t.q_ids = cq.data();
        t.x0 = c0;
        t.exclude_self = true;
        t.best_d = ld.data();
        t.best_i = li.data();
        t.pool_size = k;
        launch_select_tile(ctx, t);
      }
      li.download(exact.data(), s * k);
      ctx.sync();
    }
    for (int probes : plan::ivf_nprobe_ladder(nlist)) {
      if (probes > p.nprobe) break;
      nprobe = probes;
      search_batch(ctx, ix, cq.data(), crows.data(), xn ? cnorms.data() : nullptr, s, probes,
                   od.data(), oi.data());
      oi.download(approx.data(), s * k);
      ctx.sync();
      int64_t hits = 0;
      for (int64_t q = 0; q < s; ++q) {
        std::vector<int32_t> want(exact.begin() + q * k, exact.begin() + (q + 1) * k);
        std::sort(want.begin(), want.end());
        for (int j = 0; j < k; ++j)
          hits += std::binary_search(want.begin(), want.end(), approx[q * k + j]) ? 1 : 0;
      }
      sample_recall = static_cast<double>(hits) / static_cast<double>(s * k);
      if (sample_recall >= o.target_recall) break;
    }
  }

  // ---- all queries, in batches (re-planned for the nprobe chosen: larger batches) ----
  const plan::IvfPlan sp = nprobe == p.nprobe ? p
                                              : plan::plan_ivf(n, d, k, nlist, nprobe,
                                                               o.precision == GemmPrecision::tf32,
                                                               false, budget, o.max_batch_rows);
  ix.plan = &sp;
  const int64_t search_batches = (n + sp.batch_rows - 1) / sp.batch_rows;
  KnnGraph g;
  g.n = n;
  g.k = k;
  g.metric = metric;
  g.indices.resize(static_cast<size_t>(checked_mul(n, k)));
  g.distances.resize(static_cast<size_t>(checked_mul(n, k)));
  {
    DeviceBuffer<int32_t> bq(ctx, sp.batch_rows, "IVF batch queries");
    DeviceBuffer<float> out_d(ctx, checked_mul(sp.batch_rows, k), "kNN output");
    DeviceBuffer<int32_t> out_i(ctx, checked_mul(sp.batch_rows, k), "kNN output");
    for (int64_t b = 0; b < search_batches; ++b) {
      const int64_t q0 = b * sp.batch_rows, nq = std::min(sp.batch_rows, n - q0);
      iota(ctx, bq.data(), nq, 1, q0);
      search_batch(ctx, ix, bq.data(), xd.data() + q0 * d, xn ? xn + q0 : nullptr, nq, nprobe,
                   out_d.data(), out_i.data());
      out_d.download(g.distances.data() + q0 * k, nq * k);
      out_i.download(g.indices.data() + q0 * k, nq * k);
      ctx.sync();
      scope.update(2 + (b + 1) * batches / search_batches);
    }
  }
  if (stats) {
    stats->nlist = nlist;
    stats->nprobe = nprobe;
    stats->sample_recall = sample_recall;
    stats->batches = search_batches;
    stats->plan = p;
    stats->search_plan = sp;
  }
  return g;
}

}  // namespace detail

KnnGraph knn_approx(ConstView x, int k, Metric metric, uint64_t seed, Progress* progress) {
  auto ctx = Context::shared();
  // Below ~50k rows the exact tiled search is as fast as building the index.
  if (x.rows < 50000) return detail::knn_exact_device(*ctx, x, k, metric, {}, progress);
  return detail::knn_ivf_device(*ctx, x, k, metric, seed, {}, progress);
}

}  // namespace prism::cuda
