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
// updates); each point's nprobe nearest centroids; points sorted by their
// nearest centroid (the inverted lists); for each list, all points probing it
// are gathered and searched against the list with one GEMM per chunk; the
// candidate pool is re-ranked with exact fp32 distances.
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

constexpr int64_t kMaxTileFloats = int64_t{1} << 27;  // 512 MiB of dot products
constexpr int64_t kMaxQueryChunk = 65536;
constexpr int64_t kMaxBaseChunk = 65536;

__global__ void centroid_update_kernel(const float* __restrict__ sample, int64_t d,
                                       const int32_t* __restrict__ members,
                                       const int64_t* __restrict__ offsets,
                                       float* __restrict__ centroids, bool normalize) {
  const int64_t c = blockIdx.x;
  const int64_t lo = offsets[c], hi = offsets[c + 1];
  if (hi == lo) return;  // empty cluster: keep the old centroid
  const float inv = 1.f / static_cast<float>(hi - lo);
  __shared__ float s_part[256];
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

__global__ void column_kernel(const int32_t* __restrict__ src, int64_t rows, int stride,
                              int32_t* __restrict__ out) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < rows) out[t] = src[t * stride];
}

__global__ void iota_kernel(int32_t* out, int64_t count, int divisor) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < count) out[t] = static_cast<int32_t>(t / divisor);
}

// Nearest `kk` centroids of rows [0, rows) of `pts`, written to lists (rows x kk).
void nearest_centroids(Context& ctx, const float* pts, const float* pts_norms, int64_t rows,
                       int64_t d, const float* centroids, const float* c_norms, int nlist,
                       DistanceForm form, int kk, float* list_d, int32_t* list_i,
                       DeviceBuffer<float>& tile) {
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(kMaxQueryChunk, tile.size() / nlist));
  launch_init_lists(ctx, list_d, list_i, checked_mul(rows, kk));
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
    t.best_d = list_d + r0 * kk;
    t.best_i = list_i + r0 * kk;
    t.kk = kk;
    launch_select_tile(ctx, t);
  }
}

}  // namespace

KnnGraph knn_ivf_device(Context& ctx, ConstView x, int k, Metric metric, uint64_t seed,
                        const IvfOptions& o, Progress* progress) {
  const int64_t n = x.rows, d = x.cols;
  PRISM_EXPECTS(n >= 2, "need at least 2 rows for a kNN graph, got ", n);
  PRISM_EXPECTS(k >= 1 && k < n && k <= 1024, "k must be in 1..min(1024, N - 1), got ", k,
                " for N = ", n);
  PRISM_EXPECTS(n <= INT32_MAX, "kNN ids are int32: N = ", n, " is too large");
  // ~sqrt(N) lists of ~sqrt(N) points; probing 1/16 of them scans 6% of the
  // data per query, which on clustered embeddings keeps recall@15 above 0.95.
  const int nlist = o.nlist > 0 ? o.nlist
                                : static_cast<int>(std::clamp<int64_t>(
                                      std::llround(std::sqrt(static_cast<double>(n))), 1, 8192));
  PRISM_EXPECTS(nlist >= 1 && nlist <= n, "IVF: nlist ", nlist, " must be in 1..N");
  const int nprobe = std::min(nlist, o.nprobe > 0 ? o.nprobe : std::max(nlist / 16, 16));
  PRISM_EXPECTS(nprobe <= kMaxPool, "IVF: nprobe ", nprobe, " above ", kMaxPool);
  const bool tf32 = o.precision == GemmPrecision::tf32;
  const int kk = tf32 ? static_cast<int>(std::min<int64_t>({k + std::max(k, 32), n - 1, kMaxPool})) : k;
  const DistanceForm form =
      metric == Metric::euclidean ? DistanceForm::l2_expanded : DistanceForm::one_minus_dot;
  ProgressScope scope(progress, "knn", nlist + 2);

  // Resident data (normalised rows for cosine) and norms.
  DeviceBuffer<float> xd(ctx, checked_mul(n, d), "IVF data");
  upload_rows(ctx, x, 0, n, xd.data());
  DeviceBuffer<float> xnorm(ctx, n, "IVF norms");
  if (metric == Metric::cosine) launch_normalize_rows(ctx, xd.data(), n, d);
  else launch_row_sq_norms(ctx, xd.data(), n, d, xnorm.data());
  const float* xn = metric == Metric::euclidean ? xnorm.data() : nullptr;

  DeviceBuffer<float> tile(ctx, std::min<int64_t>(kMaxTileFloats, checked_mul(n, nlist) + 1),
                           "IVF distance tile");

  // ---- k-means on a seeded sample ----
  const int64_t m = std::min<int64_t>(n, checked_mul(nlist, 64));
  std::vector<int32_t> ids(static_cast<size_t>(n));
  std::iota(ids.begin(), ids.end(), 0);
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < m; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(ids[i], ids[pick(rng)]);
  }
  DeviceBuffer<int32_t> sample_ids(ctx, m, "IVF sample");
  sample_ids.upload(ids.data(), m);
  DeviceBuffer<float> sample(ctx, checked_mul(m, d), "IVF sample rows");
  launch_gather_rows(ctx, xd.data(), d, sample_ids.data(), m, sample.data());
  DeviceBuffer<float> snorm(ctx, m, "IVF sample norms");
  if (xn) launch_gather_floats(ctx, xnorm.data(), sample_ids.data(), m, snorm.data());

  DeviceBuffer<float> cent(ctx, checked_mul(nlist, d), "IVF centroids");
  PRISM_CUDA_TRY(cudaMemcpyAsync(cent.data(), sample.data(), checked_mul(nlist, d) * sizeof(float),
                                 cudaMemcpyDeviceToDevice, ctx.stream()));
  DeviceBuffer<float> cnorm(ctx, nlist, "IVF centroid norms");
  DeviceBuffer<float> assign_d(ctx, m, "k-means assignment");
  DeviceBuffer<int32_t> assign_i(ctx, m, "k-means assignment"), sorted_keys(ctx, m, "k-means sort");
  DeviceBuffer<int32_t> rows_in(ctx, m, "k-means sort"), members(ctx, m, "k-means sort");
  DeviceBuffer<int64_t> coff(ctx, nlist + 1, "k-means offsets");
  constexpr int block = 256;
  iota_kernel<<<grid_for(m, block), block, 0, ctx.stream()>>>(rows_in.data(), m, 1);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  const int key_bits = std::max(1, static_cast<int>(std::ceil(std::log2(static_cast<double>(nlist) + 1))));
  static_assert(block == 256, "centroid_update_kernel reduces over 256 threads");
  for (int it = 0; it < o.kmeans_iterations; ++it) {
    if (xn) launch_row_sq_norms(ctx, cent.data(), nlist, d, cnorm.data());
    nearest_centroids(ctx, sample.data(), xn ? snorm.data() : nullptr, m, d, cent.data(),
                      cnorm.data(), nlist, form, 1, assign_d.data(), assign_i.data(), tile);
    sort_pairs(ctx, assign_i.data(), sorted_keys.data(), rows_in.data(), members.data(), m, key_bits);
    segment_offsets(ctx, sorted_keys.data(), m, nlist, coff.data());
    centroid_update_kernel<<<checked_cast<unsigned>(nlist), block, 0, ctx.stream()>>>(
        sample.data(), d, members.data(), coff.data(), cent.data(), metric == Metric::cosine);
    PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  }
  if (xn) launch_row_sq_norms(ctx, cent.data(), nlist, d, cnorm.data());
  sample.release();
  scope.update(1);

  // ---- probes: each point's nprobe nearest centroids ----
  const int64_t pairs = checked_mul(n, nprobe);
  DeviceBuffer<float> probe_d(ctx, pairs, "IVF probes");
  DeviceBuffer<int32_t> probe_i(ctx, pairs, "IVF probes");
  nearest_centroids(ctx, xd.data(), xn, n, d, cent.data(), cnorm.data(), nlist, form, nprobe,
                    probe_d.data(), probe_i.data(), tile);
  probe_d.release();

  // ---- inverted lists: points sorted by nearest centroid ----
  DeviceBuffer<int32_t> primary(ctx, n, "IVF lists"), point_ids(ctx, n, "IVF lists");
  DeviceBuffer<int32_t> list_keys(ctx, n, "IVF lists"), perm(ctx, n, "IVF lists");
  column_kernel<<<grid_for(n, block), block, 0, ctx.stream()>>>(probe_i.data(), n, nprobe,
                                                                primary.data());
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  iota_kernel<<<grid_for(n, block), block, 0, ctx.stream()>>>(point_ids.data(), n, 1);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  sort_pairs(ctx, primary.data(), list_keys.data(), point_ids.data(), perm.data(), n, key_bits);
  DeviceBuffer<int64_t> loff(ctx, nlist + 1, "IVF list offsets");
  segment_offsets(ctx, list_keys.data(), n, nlist, loff.data());
  DeviceBuffer<float> xs(ctx, checked_mul(n, d), "IVF rows in list order");
  launch_gather_rows(ctx, xd.data(), d, perm.data(), n, xs.data());
  DeviceBuffer<float> xsnorm(ctx, n, "IVF norms in list order");
  if (xn) launch_gather_floats(ctx, xnorm.data(), perm.data(), n, xsnorm.data());
  primary.release();
  point_ids.release();
  list_keys.release();

  // ---- (list, query) pairs grouped by list ----
  DeviceBuffer<int32_t> pair_q(ctx, pairs, "IVF probe pairs"), pair_keys(ctx, pairs, "IVF probe pairs");
  DeviceBuffer<int32_t> pair_q_sorted(ctx, pairs, "IVF probe pairs");
  iota_kernel<<<grid_for(pairs, block), block, 0, ctx.stream()>>>(pair_q.data(), pairs, nprobe);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  sort_pairs(ctx, probe_i.data(), pair_keys.data(), pair_q.data(), pair_q_sorted.data(), pairs,
             key_bits);
  DeviceBuffer<int64_t> poff(ctx, nlist + 1, "IVF pair offsets");
  segment_offsets(ctx, pair_keys.data(), pairs, nlist, poff.data());
  probe_i.release();
  pair_q.release();
  pair_keys.release();

  std::vector<int64_t> h_loff(nlist + 1), h_poff(nlist + 1);
  loff.download(h_loff.data(), nlist + 1);
  poff.download(h_poff.data(), nlist + 1);
  ctx.sync();
  scope.update(2);

  // ---- search each list against the points that probe it ----
  DeviceBuffer<float> best_d(ctx, checked_mul(n, kk), "IVF candidate lists");
  DeviceBuffer<int32_t> best_i(ctx, checked_mul(n, kk), "IVF candidate lists");
  launch_init_lists(ctx, best_d.data(), best_i.data(), checked_mul(n, kk));
  DeviceBuffer<float> qg(ctx, checked_mul(kMaxQueryChunk, d), "IVF gathered queries");
  DeviceBuffer<float> qgnorm(ctx, kMaxQueryChunk, "IVF gathered norms");
  const GemmPrecision precision = o.precision;
  for (int l = 0; l < nlist; ++l) {
    const int64_t lo = h_loff[l], hi = h_loff[l + 1];
    const int64_t plo = h_poff[l], phi = h_poff[l + 1];
    for (int64_t b0 = lo; b0 < hi; b0 += kMaxBaseChunk) {
      const int64_t nb = std::min(kMaxBaseChunk, hi - b0);
      const int64_t qchunk = std::max<int64_t>(1, std::min(kMaxQueryChunk, tile.size() / nb));
      for (int64_t q0 = plo; q0 < phi; q0 += qchunk) {
        const int64_t nq = std::min(qchunk, phi - q0);
        const int32_t* qids = pair_q_sorted.data() + q0;
        launch_gather_rows(ctx, xd.data(), d, qids, nq, qg.data());
        if (xn) launch_gather_floats(ctx, xnorm.data(), qids, nq, qgnorm.data());
        gemm_dots(ctx, qg.data(), nq, xs.data() + b0 * d, nb, d, tile.data(), precision);
        TileSelect t;
        t.dots = tile.data();
        t.ld = nb;
        t.nq = nq;
        t.nx = nb;
        t.form = form;
        t.q_norms = qgnorm.data();
        t.x_norms = xsnorm.data() + b0;
        t.q_ids = qids;
        t.x_ids = perm.data() + b0;
        t.exclude_self = true;
        t.best_d = best_d.data();
        t.best_i = best_i.data();
        t.kk = kk;
        launch_select_tile(ctx, t);
      }
    }
    if ((l & 63) == 63) {
      ctx.sync();
      scope.update(2 + l + 1);
    }
  }

  // A query whose probed lists hold fewer than k other points keeps id -1
  // (distance +inf) entries; with nprobe >= 16 lists of ~sqrt(N) points that
  // cannot happen for N >= k^2 / 16.
  DeviceBuffer<float> out_d(ctx, checked_mul(n, k), "kNN output");
  DeviceBuffer<int32_t> out_i(ctx, checked_mul(n, k), "kNN output");
  launch_refine(ctx, xd.data(), d, metric, 0, n, best_i.data(), kk, k, out_d.data(), out_i.data());
  KnnGraph g;
  g.n = n;
  g.k = k;
  g.metric = metric;
  g.indices.resize(static_cast<size_t>(checked_mul(n, k)));
  g.distances.resize(static_cast<size_t>(checked_mul(n, k)));
  out_d.download(g.distances.data(), n * k);
  out_i.download(g.indices.data(), n * k);
  ctx.sync();
  scope.update(nlist + 2);
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
