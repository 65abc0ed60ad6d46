// Per-tile top-k selection merged into running lists, and the final re-rank.
// One block per query row. Most tiles are filtered in a single pass: only
// entries below the row's current pool_size-th distance survive, and after the first
// tile those are few. When too many survive (the first tile), a 4-pass radix
// select on the float bits (distances are >= 0, so their bit patterns sort as
// unsigned integers) finds the pool_size-th smallest first, as in FAISS/RAFT's
// radix top-k. The N x N matrix is never written, only one tile at a time.
//
// Shared counters are updated once per warp, not once per lane: slots by
// __ballot_sync + __popc, histogram bins by __match_any_sync into per-warp
// sub-histograms (the first pass puts nearly every distance of a tile into
// one or two bins of the top 8 bits, where per-lane atomics serialise).
// After a radix select the survivors are gathered in column order by block
// scans, so which of many equal distances are kept never depends on timing.
#include <cfloat>

#include <cub/block/block_scan.cuh>

#include "knn/knn_internal.cuh"

namespace prism::cuda::detail {
namespace {

constexpr int kBlock = 256;  // also the number of histogram bins (8 bits)
constexpr int kWarps = kBlock / 32;
constexpr int kCap = 2 * kMaxPool;  // shared entries: the pool_size list + candidates
constexpr unsigned kFull = 0xffffffffu;

using BlockScan = cub::BlockScan<int, kBlock>;

__device__ inline bool pair_less(float da, int32_t ia, float db, int32_t ib) {
  // Ties by id (unsigned: the empty id -1 sorts last) make results independent
  // of the order in which the candidates were collected.
  return da < db || (da == db && static_cast<uint32_t>(ia) < static_cast<uint32_t>(ib));
}

// Ascending bitonic sort of n (a power of two) pairs in shared memory.
__device__ void block_sort_pairs(float* d, int32_t* id, int n) {
  for (int size = 2; size <= n; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      __syncthreads();
      for (int t = threadIdx.x; t < n / 2; t += blockDim.x) {
        const int lo = 2 * t - (t & (stride - 1));
        const int hi = lo + stride;
        const bool ascending = (lo & size) == 0;
        if (pair_less(d[hi], id[hi], d[lo], id[lo]) == ascending) {
          const float td = d[lo];
          d[lo] = d[hi];
          d[hi] = td;
          const int32_t ti = id[lo];
          id[lo] = id[hi];
          id[hi] = ti;
        }
      }
    }
  }
  __syncthreads();
}

__device__ inline int next_pow2(int v) {
  int p = 1;
  while (p < v) p <<= 1;
  return p;
}

__device__ inline unsigned lanemask_lt() {
  unsigned m;
  asm("mov.u32 %0, %%lanemask_lt;" : "=r"(m));
  return m;
}

// Consecutive slots from *counter for the lanes with `want`, one shared
// atomic per warp. Every lane of the warp must call it.
__device__ inline int warp_reserve(int* counter, bool want) {
  const unsigned mask = __ballot_sync(kFull, want);
  if (mask == 0) return -1;
  const int lane = threadIdx.x & 31;
  const int leader = __ffs(mask) - 1;
  int base = 0;
  if (lane == leader) base = atomicAdd(counter, __popc(mask));
  base = __shfl_sync(kFull, base, leader);
  return want ? base + __popc(mask & lanemask_lt()) : -1;
}

__device__ inline float tile_distance(const TileSelect& a, const float* row, int64_t c, float qn,
                                      int64_t qid, int32_t& gid) {
  gid = a.x_ids ? a.x_ids[c] : static_cast<int32_t>(a.x0 + c);
  if (a.exclude_self && gid == qid) return INFINITY;
  float d = a.form == DistanceForm::l2_expanded ? qn + a.x_norms[c] - 2.f * row[c] : 1.f - row[c];
  return d > 0.f ? d : 0.f;  // rounding can make it slightly negative; also maps -0 to +0
}

__global__ void __launch_bounds__(kBlock) select_tile_kernel(TileSelect a) {
  extern __shared__ unsigned char smem[];
  float* sd = reinterpret_cast<float*>(smem);
  int32_t* si = reinterpret_cast<int32_t*>(sd + kCap);
  __shared__ int s_count;
  __shared__ unsigned s_prefix;
  __shared__ int s_remaining;
  __shared__ unsigned s_hist[kWarps][kBlock];
  __shared__ typename BlockScan::TempStorage s_scan;

  const int64_t r = blockIdx.x;
  const int64_t qid = a.q_ids ? a.q_ids[r] : a.q0 + r;
  const int64_t lrow = a.q_rows ? a.q_rows[r] : r;
  float* bd = a.best_d + lrow * a.pool_size;
  int32_t* bi = a.best_i + lrow * a.pool_size;
  const float* row = a.dots + r * a.ld;
  const float qn = a.form == DistanceForm::l2_expanded ? a.q_norms[r] : 0.f;
  const float thr = bd[a.pool_size - 1];
  const int pool_size = a.pool_size;
  const int room = kCap - pool_size;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

  if (threadIdx.x == 0) s_count = 0;
  __syncthreads();
  // The trip count is the same for every thread, so whole warps vote.
  for (int64_t c0 = 0; c0 < a.nx; c0 += kBlock) {
    const int64_t c = c0 + threadIdx.x;
    int32_t gid = -1;
    const float d = c < a.nx ? tile_distance(a, row, c, qn, qid, gid) : INFINITY;
    const bool keep = d < thr;
    const int p = warp_reserve(&s_count, keep);
    if (keep && p < room) {
      sd[pool_size + p] = d;
      si[pool_size + p] = gid;
    }
  }
  __syncthreads();
  int m = s_count;
  if (m == 0) return;

  if (m > room) {
    // Radix select of the pool_size-th smallest surviving distance, 8 bits per pass.
    unsigned prefix = 0, mask = 0;
    int remaining = pool_size;
    for (int shift = 24; shift >= 0; shift -= 8) {
      for (int t = threadIdx.x; t < kWarps * kBlock; t += kBlock) (&s_hist[0][0])[t] = 0;
      __syncthreads();
      for (int64_t c0 = 0; c0 < a.nx; c0 += kBlock) {
        const int64_t c = c0 + threadIdx.x;
        int32_t gid;
        const float d = c < a.nx ? tile_distance(a, row, c, qn, qid, gid) : INFINITY;
        const unsigned u = __float_as_uint(d);
        const bool in = d < thr && (u & mask) == prefix;
        const unsigned bin = (u >> shift) & 255u;
        const unsigned active = __ballot_sync(kFull, in);
        if (in) {
          const unsigned peers = __match_any_sync(active, bin);
          if (lane == __ffs(peers) - 1) atomicAdd(&s_hist[warp][bin], static_cast<unsigned>(__popc(peers)));
        }
      }
      __syncthreads();
      int h = 0;  // thread b owns bin b
      for (int w = 0; w < kWarps; ++w) h += static_cast<int>(s_hist[w][threadIdx.x]);
      int below = 0;
      BlockScan(s_scan).ExclusiveSum(h, below);
      if (below < remaining && remaining <= below + h) {  // exactly one bin
        s_prefix = prefix | (static_cast<unsigned>(threadIdx.x) << shift);
        s_remaining = remaining - below;
      }
      __syncthreads();
      prefix = s_prefix;
      remaining = s_remaining;
      mask |= 255u << shift;
    }
    // prefix is now the bit pattern of the pool_size-th smallest value: keep all
    // `less` values below it and as many equal ones as fit, in column order.
    const int less = pool_size - remaining;
    int seen_less = 0, seen_ties = 0;
    for (int64_t c0 = 0; c0 < a.nx; c0 += kBlock) {
      const int64_t c = c0 + threadIdx.x;
      int32_t gid = -1;
      const float d = c < a.nx ? tile_distance(a, row, c, qn, qid, gid) : INFINITY;
      const unsigned u = __float_as_uint(d);
      const bool is_less = d < thr && u < prefix, is_tie = d < thr && u == prefix;
      // Both counts in one scan: at most kBlock each per step, so 16 bits apiece.
      int pos = 0, step = 0;
      BlockScan(s_scan).ExclusiveSum((is_less ? 1 : 0) | (is_tie ? 1 << 16 : 0), pos, step);
      __syncthreads();
      if (is_less) {
        const int slot = seen_less + (pos & 0xffff);
        sd[pool_size + slot] = d;
        si[pool_size + slot] = gid;
      } else if (is_tie) {
        const int slot = less + seen_ties + (pos >> 16);
        if (slot < room) {
          sd[pool_size + slot] = d;
          si[pool_size + slot] = gid;
        }
      }
      seen_less += step & 0xffff;
      seen_ties += step >> 16;
      if (seen_less == less && less + seen_ties >= room) break;  // nothing more can be kept
    }
    __syncthreads();
    m = min(less + seen_ties, room);
  }

  for (int t = threadIdx.x; t < pool_size; t += blockDim.x) {
    sd[t] = bd[t];
    si[t] = bi[t];
  }
  const int total = pool_size + m;
  const int n = next_pow2(total);
  for (int t = total + threadIdx.x; t < n; t += blockDim.x) {
    sd[t] = INFINITY;
    si[t] = -1;
  }
  block_sort_pairs(sd, si, n);
  for (int t = threadIdx.x; t < pool_size; t += blockDim.x) {
    bd[t] = sd[t];
    bi[t] = si[t];
  }
}

__global__ void init_lists_kernel(float* d, int32_t* id, int64_t count) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < count) {
    d[t] = INFINITY;
    id[t] = -1;
  }
}

// One block per query; each warp computes whole candidate distances (lanes
// over the dimensions), directly as sum (q - x)^2: no cancellation, unlike the
// expanded form the GEMM gives.
__global__ void __launch_bounds__(kBlock) refine_kernel(const float* __restrict__ x, int64_t dim,
                                                        Metric metric, int64_t row0,
                                                        const int32_t* __restrict__ q_ids,
                                                        const int32_t* __restrict__ pool_i, int pool_size,
                                                        int k, float* __restrict__ out_d,
                                                        int32_t* __restrict__ out_i) {
  __shared__ float sd[kMaxPool];
  __shared__ int32_t si[kMaxPool];
  const int64_t r = blockIdx.x;
  const float* q = x + (q_ids ? static_cast<int64_t>(q_ids[r]) : row0 + r) * dim;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int c = warp; c < pool_size; c += warps) {
    const int32_t id = pool_i[r * pool_size + c];
    float s = 0.f;
    if (id >= 0) {
      const float* p = x + static_cast<int64_t>(id) * dim;
      if (metric == Metric::euclidean) {
        for (int64_t j = lane; j < dim; j += 32) {
          const float t = q[j] - p[j];
          s = fmaf(t, t, s);
        }
      } else {
        for (int64_t j = lane; j < dim; j += 32) s = fmaf(q[j], p[j], s);
      }
    }
    for (int o = 16; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) {
      float dist = INFINITY;
      if (id >= 0) dist = metric == Metric::euclidean ? sqrtf(s) : fmaxf(1.f - s, 0.f);
      sd[c] = dist;
      si[c] = id;
    }
  }
  const int n = next_pow2(pool_size);
  for (int t = pool_size + threadIdx.x; t < n; t += blockDim.x) {
    sd[t] = INFINITY;
    si[t] = -1;
  }
  block_sort_pairs(sd, si, n);
  for (int t = threadIdx.x; t < k; t += blockDim.x) {
    out_d[r * k + t] = sd[t];
    out_i[r * k + t] = si[t];
  }
}

__global__ void finalize_kernel(Metric metric, int64_t rows, const float* __restrict__ pool_d,
                                const int32_t* __restrict__ pool_i, int pool_size, int k,
                                float* __restrict__ out_d, int32_t* __restrict__ out_i) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= rows * k) return;
  const int64_t r = t / k, c = t - r * k;
  const float d = pool_d[r * pool_size + c];
  out_d[t] = metric == Metric::euclidean ? sqrtf(d) : d;
  out_i[t] = pool_i[r * pool_size + c];
}

}  // namespace

void launch_select_tile(Context& ctx, const TileSelect& t, cudaStream_t stream) {
  PRISM_CHECK(t.pool_size >= 1 && t.pool_size <= kMaxPool, "pool size ", t.pool_size, " outside 1..", kMaxPool);
  if (t.nq <= 0 || t.nx <= 0) return;
  if (!stream) stream = ctx.stream();
  // 32 KiB of candidates + 8 KiB of sub-histograms + scan storage: under the
  // 48 KiB a block may have without opting in.
  const size_t shared = static_cast<size_t>(kCap) * (sizeof(float) + sizeof(int32_t));
  select_tile_kernel<<<blocks_for(t.nq), kBlock, shared, stream>>>(t);
  PRISM_CUDA_LAUNCH_CHECK(stream);
}

void launch_init_lists(Context& ctx, float* best_d, int32_t* best_i, int64_t count) {
  if (count <= 0) return;
  init_lists_kernel<<<grid_for(count, kBlock), kBlock, 0, ctx.stream()>>>(best_d, best_i, count);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

void launch_refine(Context& ctx, const float* x, int64_t d, Metric metric, int64_t row0,
                   int64_t rows, const int32_t* pool_i, int pool_size, int k, float* out_d,
                   int32_t* out_i, const int32_t* q_ids) {
  PRISM_CHECK(k <= pool_size && pool_size <= kMaxPool, "refine: k ", k, " pool ", pool_size);
  if (rows <= 0) return;
  refine_kernel<<<blocks_for(rows), kBlock, 0, ctx.stream()>>>(
      x, d, metric, row0, q_ids, pool_i, pool_size, k, out_d, out_i);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

void launch_finalize(Context& ctx, Metric metric, int64_t rows, const float* pool_d,
                     const int32_t* pool_i, int pool_size, int k, float* out_d, int32_t* out_i) {
  if (rows <= 0) return;
  finalize_kernel<<<grid_for(checked_mul(rows, k), kBlock), kBlock, 0, ctx.stream()>>>(
      metric, rows, pool_d, pool_i, pool_size, k, out_d, out_i);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

}  // namespace prism::cuda::detail
