// Input similarities on the GPU, following the CPU stage (engine/src/tsne/
// affinities.cpp, itself openTSNE's compute_gaussian_perplexity and
// joint_probabilities_nn): one thread per row for the bisection, then the
// symmetric sum P + P^T without ever sorting 2 N k (row, col) pairs:
//   1. each kNN row sorted by column (CUB segmented sort, in place with
//      DoubleBuffers);
//   2. the transpose: (column, edge) pairs by a stable 32-bit radix sort on
//      the column, so each column's edges come in row order;
//   3. per row, the merge of its sorted neighbours with its sorted transpose
//      entries: once to count the distinct columns (then a scan gives the row
//      pointers), once to write them, (p_j|i + p_i|j) / (2 sum p).
// Every array is 4 bytes per edge and the kNN distances die after the
// calibration: 10M points x 90 neighbours peak at ~25 GB (plan::
// plan_tsne_affinities, which the launcher follows; CUB's scratch is what CUB
// asks for, which the gpu test GpuMemoryPlan holds to the plan's allowances).
// No float atomics anywhere, so P is the same bits on every run.
#include <algorithm>
#include <cmath>
#include <utility>

#include <cuda/std/functional>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_scan.cuh>
#include <cub/device/device_segmented_sort.cuh>

#include "core/sort.cuh"
#include "plan/memory_plan.hpp"
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

__global__ void row_offsets_kernel(int64_t n, int k, int64_t* __restrict__ offsets) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i <= n) offsets[i] = i * k;
}

__global__ void iota_kernel(int32_t* __restrict__ out, int64_t count) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < count) out[t] = static_cast<int32_t>(t);
}

// Row r of P: the merge of its kNN row (columns ids[r k ..], sorted, weights
// cond) with its transpose entries (edges tedge[toff[r] ..] of rows e / k,
// ascending). Equal columns are summed (a mutual pair; duplicates too).
// kWrite false: row_ptr[r] = the number of distinct columns.
template <bool kWrite>
__global__ void merge_rows_kernel(const int32_t* __restrict__ ids, const float* __restrict__ cond,
                                  const int32_t* __restrict__ tedge,
                                  const int64_t* __restrict__ toff, int64_t n, int k,
                                  int64_t* __restrict__ row_ptr, const double* __restrict__ total,
                                  int32_t* __restrict__ col, float* __restrict__ val) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= n) return;
  int64_t a = r * k;
  const int64_t a_end = a + k;
  int64_t b = toff[r];
  const int64_t b_end = toff[r + 1];
  const double scale = kWrite ? 0.5 / *total : 0.0;
  int64_t out = kWrite ? row_ptr[r] : 0;
  while (a < a_end || b < b_end) {
    const int64_t ca = a < a_end ? ids[a] : INT64_MAX;
    const int64_t cb = b < b_end ? tedge[b] / k : INT64_MAX;
    const int64_t c = ca < cb ? ca : cb;
    double s = 0;
    for (; a < a_end && ids[a] == c; ++a) s += cond[a];
    for (; b < b_end && tedge[b] / k == c; ++b) s += cond[tedge[b]];
    if constexpr (kWrite) {
      col[out] = static_cast<int32_t>(c);
      val[out] = static_cast<float>(s * scale);
    }
    ++out;
  }
  if constexpr (!kWrite) row_ptr[r] = out;
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
  PRISM_EXPECTS(nk <= INT32_MAX, "t-SNE: n * k = ", nk, " edges is too large for the GPU path");
  for (int64_t e = 0; e < nk; ++e)
    PRISM_EXPECTS(g.indices[e] >= 0 && g.indices[e] < n && g.indices[e] != e / g.k,
                  "kNN graph row ", e / g.k, " has neighbour ", g.indices[e],
                  ": must be another point in [0, ", n, ")");
  const plan::TsneAffinityPlan plan = plan::plan_tsne_affinities(n, g.k);
  const int k = g.k;
  const cudaStream_t s = ctx.stream();

  // "calibrate"
  DeviceBuffer<int32_t> ids(ctx, nk, "t-SNE kNN ids");
  DeviceBuffer<float> cond(ctx, nk, "t-SNE P_j|i");
  {
    DeviceBuffer<float> dist(ctx, nk, "t-SNE kNN distances");
    ids.upload(g.indices.data(), nk);
    dist.upload(g.distances.data(), nk);
    const double target = std::log(std::min(perplexity, static_cast<double>(k)));
    calibrate_kernel<<<grid_for(n, kBlock), kBlock, 0, s>>>(dist.data(), n, k, target, cond.data());
    PRISM_CUDA_LAUNCH_CHECK(s);
  }

  // "sort rows by column"
  {
    DeviceBuffer<int32_t> ids_alt(ctx, nk, "t-SNE kNN ids (sort buffer)");
    DeviceBuffer<float> cond_alt(ctx, nk, "t-SNE P_j|i (sort buffer)");
    DeviceBuffer<int64_t> offsets(ctx, n + 1, "t-SNE row offsets");
    row_offsets_kernel<<<grid_for(n + 1, kBlock), kBlock, 0, s>>>(n, k, offsets.data());
    PRISM_CUDA_LAUNCH_CHECK(s);
    cub::DoubleBuffer<int32_t> keys(ids.data(), ids_alt.data());
    cub::DoubleBuffer<float> vals(cond.data(), cond_alt.data());
    size_t temp = 0;
    PRISM_CUDA_TRY(cub::DeviceSegmentedSort::StableSortPairs(nullptr, temp, keys, vals, nk, n,
                                                             offsets.data(), offsets.data() + 1, s));
    DeviceBuffer<unsigned char> scratch(ctx, static_cast<int64_t>(temp), "segmented sort scratch");
    PRISM_CUDA_TRY(cub::DeviceSegmentedSort::StableSortPairs(scratch.data(), temp, keys, vals, nk,
                                                             n, offsets.data(), offsets.data() + 1, s));
    if (keys.Current() != ids.data()) std::swap(ids, ids_alt);
    if (vals.Current() != cond.data()) std::swap(cond, cond_alt);
  }

  // "transpose sort", then "transpose offsets"
  DeviceBuffer<int32_t> tedge;
  DeviceBuffer<int64_t> toff;
  {
    DeviceBuffer<uint32_t> tkey(ctx, nk, "t-SNE transpose keys"), tkey_alt(ctx, nk, "t-SNE transpose keys");
    tedge.reset(ctx, nk, "t-SNE transpose edges");
    DeviceBuffer<int32_t> tedge_alt(ctx, nk, "t-SNE transpose edges");
    PRISM_CUDA_TRY(cudaMemcpyAsync(tkey.data(), ids.data(), nk * sizeof(int32_t),
                                   cudaMemcpyDeviceToDevice, s));
    iota_kernel<<<grid_for(nk, kBlock), kBlock, 0, s>>>(tedge.data(), nk);
    PRISM_CUDA_LAUNCH_CHECK(s);
    cub::DoubleBuffer<uint32_t> keys(tkey.data(), tkey_alt.data());
    cub::DoubleBuffer<int32_t> vals(tedge.data(), tedge_alt.data());
    {
      size_t temp = 0;
      PRISM_CUDA_TRY(cub::DeviceRadixSort::SortPairs(nullptr, temp, keys, vals, nk, 0, plan.id_bits, s));
      DeviceBuffer<unsigned char> scratch(ctx, static_cast<int64_t>(temp), "radix sort scratch");
      PRISM_CUDA_TRY(
          cub::DeviceRadixSort::SortPairs(scratch.data(), temp, keys, vals, nk, 0, plan.id_bits, s));
    }
    if (keys.Current() != tkey.data()) std::swap(tkey, tkey_alt);
    if (vals.Current() != tedge.data()) std::swap(tedge, tedge_alt);
    tkey_alt.release();
    tedge_alt.release();
    toff.reset(ctx, n + 1, "t-SNE transpose offsets");
    segment_offsets(ctx, tkey.data(), nk, n, toff.data());
  }

  // "count"
  DeviceP p;
  p.n = n;
  p.row_ptr.reset(ctx, n + 1, "t-SNE P row pointers");
  DeviceBuffer<double> total(ctx, 1, "t-SNE P total");
  PRISM_CUDA_TRY(cudaMemsetAsync(p.row_ptr.data() + n, 0, sizeof(int64_t), s));
  merge_rows_kernel<false><<<grid_for(n, kBlock), kBlock, 0, s>>>(
      ids.data(), cond.data(), tedge.data(), toff.data(), n, k, p.row_ptr.data(), nullptr, nullptr,
      nullptr);
  PRISM_CUDA_LAUNCH_CHECK(s);
  {
    size_t scan_temp = 0, sum_temp = 0;
    PRISM_CUDA_TRY(cub::DeviceScan::ExclusiveSum(nullptr, scan_temp, p.row_ptr.data(),
                                                 p.row_ptr.data(), n + 1, s));
    // Sum of the conditional P in double (each row's sums to 1 up to rounding).
    PRISM_CUDA_TRY(cub::DeviceReduce::Reduce(nullptr, sum_temp, cond.data(), total.data(), nk,
                                             ::cuda::std::plus<double>{}, 0.0, s));
    const size_t temp = std::max(scan_temp, sum_temp);
    DeviceBuffer<unsigned char> scratch(ctx, static_cast<int64_t>(temp), "scan scratch");
    PRISM_CUDA_TRY(cub::DeviceScan::ExclusiveSum(scratch.data(), scan_temp, p.row_ptr.data(),
                                                 p.row_ptr.data(), n + 1, s));
    PRISM_CUDA_TRY(cub::DeviceReduce::Reduce(scratch.data(), sum_temp, cond.data(), total.data(),
                                             nk, ::cuda::std::plus<double>{}, 0.0, s));
  }
  p.row_ptr.download(&p.nnz, 1, n);
  ctx.sync();
  PRISM_CHECK(p.nnz >= 1 && p.nnz <= plan.max_nnz, "t-SNE P has ", p.nnz, " entries for ", nk,
              " edges");

  // "merge"
  p.col.reset(ctx, p.nnz, "t-SNE P columns");
  p.val.reset(ctx, p.nnz, "t-SNE P values");
  merge_rows_kernel<true><<<grid_for(n, kBlock), kBlock, 0, s>>>(
      ids.data(), cond.data(), tedge.data(), toff.data(), n, k, p.row_ptr.data(), total.data(),
      p.col.data(), p.val.data());
  PRISM_CUDA_LAUNCH_CHECK(s);
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
