// Input similarities on the GPU, following the CPU stage (engine/src/tsne/
// affinities.cpp, itself openTSNE's compute_gaussian_perplexity and
// joint_probabilities_nn): one thread per row for the bisection, then the
// symmetric sum P + P^T by sorting (row, col) keys, merging equal keys in
// sorted order and normalising by the total. No float atomics anywhere, so P
// is the same bits on every run.
#include <cmath>

#include <cub/device/device_reduce.cuh>
#include <cub/device/device_scan.cuh>

#include "core/sort.cuh"
#include "tsne/tsne_internal.cuh"

namespace prism::cuda::detail {
namespace {

constexpr int kBlock = 256;

__device__ double row_entropy(const float* d, int k, double dmin, double beta, double* sum_out) {
  double sum = 0, weighted = 0;
  for (int j = 0; j < k; ++j) {
    const double delta = static_cast<double>(d[j]) * d[j] - dmin;
    const double p = exp(-beta * delta);
    sum += p;
    weighted += p * delta;
  }
  *sum_out = sum;
  return log(sum) + beta * weighted / sum;
}

__global__ void calibrate_kernel(const float* __restrict__ dists, int64_t n, int k, double target,
                                 float* __restrict__ cond) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float* d = dists + i * k;
  double dmin = INFINITY, mean = 0;
  for (int j = 0; j < k; ++j) dmin = fmin(dmin, static_cast<double>(d[j]) * d[j]);
  for (int j = 0; j < k; ++j) mean += static_cast<double>(d[j]) * d[j] - dmin;
  mean /= k;
  double beta = mean > 0 ? 1.0 / mean : 1.0;
  double lo = 0, hi = INFINITY, sum = 1;
  for (int it = 0; it < 200; ++it) {
    const double h = row_entropy(d, k, dmin, beta, &sum);
    if (fabs(h - target) < 1e-8) break;
    if (h > target) {
      lo = beta;
      beta = isinf(hi) ? beta * 2 : (beta + hi) / 2;
    } else {
      hi = beta;
      beta = (beta + lo) / 2;
    }
  }
  row_entropy(d, k, dmin, beta, &sum);
  for (int j = 0; j < k; ++j) {
    const double delta = static_cast<double>(d[j]) * d[j] - dmin;
    cond[i * k + j] = static_cast<float>(exp(-beta * delta) / sum);
  }
}

// Both directions of every edge: (i, j, p_j|i) and (j, i, p_j|i).
__global__ void edges_kernel(const int32_t* __restrict__ nb, const float* __restrict__ cond,
                             int64_t n, int k, uint64_t* __restrict__ keys,
                             double* __restrict__ vals) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= n * k) return;
  const uint64_t i = static_cast<uint64_t>(e / k), j = static_cast<uint32_t>(nb[e]);
  keys[2 * e] = (i << 32) | j;
  vals[2 * e] = cond[e];
  keys[2 * e + 1] = (j << 32) | i;
  vals[2 * e + 1] = cond[e];
}

__global__ void heads_kernel(const uint64_t* __restrict__ keys, int64_t m, int32_t* __restrict__ head) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < m) head[t] = (t == 0 || keys[t] != keys[t - 1]) ? 1 : 0;
}

// Each run of equal keys is summed by its head, in sorted order.
__global__ void merge_kernel(const uint64_t* __restrict__ keys, const double* __restrict__ vals,
                             const int32_t* __restrict__ head, const int64_t* __restrict__ pos,
                             int64_t m, int32_t* __restrict__ rows, int32_t* __restrict__ col,
                             double* __restrict__ merged) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= m || !head[t]) return;
  double s = vals[t];
  for (int64_t u = t + 1; u < m && keys[u] == keys[t]; ++u) s += vals[u];
  const int64_t o = pos[t];
  rows[o] = static_cast<int32_t>(keys[t] >> 32);
  col[o] = static_cast<int32_t>(keys[t] & 0xffffffffu);
  merged[o] = s;
}

__global__ void normalise_kernel(const double* __restrict__ merged, int64_t nnz,
                                 const double* __restrict__ total, float* __restrict__ val) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < nnz) val[t] = static_cast<float>(merged[t] / *total);
}

}  // namespace

DeviceP tsne_affinities_device(Context& ctx, const KnnGraph& g, double perplexity) {
  PRISM_EXPECTS(perplexity > 0 && std::isfinite(perplexity), "perplexity must be > 0, got ",
                perplexity);
  PRISM_EXPECTS(g.n >= 2 && g.k >= 1, "t-SNE needs a kNN graph of at least 2 points, got n = ",
                g.n, ", k = ", g.k);
  PRISM_EXPECTS(g.n <= INT32_MAX, "t-SNE supports at most 2^31 - 1 points, got ", g.n);
  const int64_t n = g.n, nk = checked_mul(g.n, g.k);
  PRISM_EXPECTS(static_cast<int64_t>(g.indices.size()) == nk &&
                    static_cast<int64_t>(g.distances.size()) == nk,
                "kNN graph arrays hold ", g.indices.size(), " indices, expected n * k = ", nk);
  for (int64_t e = 0; e < nk; ++e)
    PRISM_EXPECTS(g.indices[e] >= 0 && g.indices[e] < n && g.indices[e] != e / g.k,
                  "kNN graph row ", e / g.k, " has neighbour ", g.indices[e],
                  ": must be another point in [0, ", n, ")");

  DeviceBuffer<int32_t> nb(ctx, nk, "t-SNE kNN ids");
  DeviceBuffer<float> dist(ctx, nk, "t-SNE kNN distances"), cond(ctx, nk, "t-SNE P_j|i");
  nb.upload(g.indices.data(), nk);
  dist.upload(g.distances.data(), nk);
  const double target = std::log(std::min(perplexity, static_cast<double>(g.k)));
  calibrate_kernel<<<grid_for(n, kBlock), kBlock, 0, ctx.stream()>>>(dist.data(), n, g.k, target,
                                                                    cond.data());
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());

  const int64_t m = 2 * nk;
  PRISM_EXPECTS(m < INT32_MAX, "t-SNE: n * k = ", nk, " is too large for the GPU path");
  DeviceBuffer<uint64_t> keys(ctx, m, "t-SNE P keys"), keys_sorted(ctx, m, "t-SNE P keys");
  DeviceBuffer<double> vals(ctx, m, "t-SNE P values"), vals_sorted(ctx, m, "t-SNE P values");
  edges_kernel<<<grid_for(nk, kBlock), kBlock, 0, ctx.stream()>>>(nb.data(), cond.data(), n, g.k,
                                                                 keys.data(), vals.data());
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  sort_pairs(ctx, keys.data(), keys_sorted.data(), vals.data(), vals_sorted.data(), m);
  keys.release();
  vals.release();

  DeviceBuffer<int32_t> head(ctx, m, "t-SNE P heads");
  DeviceBuffer<int64_t> pos(ctx, m + 1, "t-SNE P positions");
  heads_kernel<<<grid_for(m, kBlock), kBlock, 0, ctx.stream()>>>(keys_sorted.data(), m, head.data());
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  {
    size_t temp = 0;
    PRISM_CUDA_TRY(
        cub::DeviceScan::ExclusiveSum(nullptr, temp, head.data(), pos.data(), m, ctx.stream()));
    DeviceBuffer<unsigned char> scratch(ctx, static_cast<int64_t>(temp), "scan scratch");
    PRISM_CUDA_TRY(cub::DeviceScan::ExclusiveSum(scratch.data(), temp, head.data(), pos.data(), m,
                                                 ctx.stream()));
  }
  int64_t last_pos = 0;
  int32_t last_head = 0;
  pos.download(&last_pos, 1, m - 1);
  head.download(&last_head, 1, m - 1);
  ctx.sync();
  const int64_t nnz = last_pos + last_head;

  DeviceP p;
  p.n = n;
  p.nnz = nnz;
  DeviceBuffer<int32_t> rows(ctx, nnz, "t-SNE P rows");
  DeviceBuffer<double> merged(ctx, nnz, "t-SNE P merged");
  p.col.reset(ctx, nnz, "t-SNE P columns");
  p.val.reset(ctx, nnz, "t-SNE P values");
  p.row_ptr.reset(ctx, n + 1, "t-SNE P row pointers");
  merge_kernel<<<grid_for(m, kBlock), kBlock, 0, ctx.stream()>>>(
      keys_sorted.data(), vals_sorted.data(), head.data(), pos.data(), m, rows.data(),
      p.col.data(), merged.data());
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  segment_offsets(ctx, rows.data(), nnz, n, p.row_ptr.data());

  DeviceBuffer<double> total(ctx, 1, "t-SNE P total");
  {
    size_t temp = 0;
    PRISM_CUDA_TRY(cub::DeviceReduce::Sum(nullptr, temp, merged.data(), total.data(), nnz,
                                          ctx.stream()));
    DeviceBuffer<unsigned char> scratch(ctx, static_cast<int64_t>(temp), "reduce scratch");
    PRISM_CUDA_TRY(cub::DeviceReduce::Sum(scratch.data(), temp, merged.data(), total.data(), nnz,
                                          ctx.stream()));
  }
  normalise_kernel<<<grid_for(nnz, kBlock), kBlock, 0, ctx.stream()>>>(merged.data(), nnz,
                                                                      total.data(), p.val.data());
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  ctx.sync();
  return p;
}

SparseP download_p(Context& ctx, const DeviceP& p) {
  SparseP h;
  h.n = p.n;
  h.row_ptr.resize(p.n + 1);
  h.col.resize(p.nnz);
  h.val.resize(p.nnz);
  p.row_ptr.download(h.row_ptr.data(), p.n + 1);
  p.col.download(h.col.data(), p.nnz);
  p.val.download(h.val.data(), p.nnz);
  ctx.sync();
  return h;
}

}  // namespace prism::cuda::detail
