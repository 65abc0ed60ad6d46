// Per-tile top-k selection merged into running lists, and the final re-rank.
// One block per query row. Most tiles are filtered in a single pass: only
// entries below the row's current k-th distance survive, and after the first
// tile those are few. When too many survive (the first tile), a 4-pass radix
// select on the float bits (distances are >= 0, so their bit patterns sort as
// unsigned integers) finds the kk-th smallest first, as in FAISS/RAFT's
// radix top-k. The N x N matrix is never written, only one tile at a time.
#include <cfloat>

#include "knn/knn_internal.cuh"

namespace prism::cuda::detail {
namespace {

constexpr int kBlock = 256;
constexpr int kCap = 2 * kMaxPool;  // shared entries: the kk list + candidates

__device__ inline bool pair_less(float da, int32_t ia, float db, int32_t ib) {
  // Ties by id (unsigned: the empty id -1 sorts last) make results independent
  // of the order in which atomics collected the candidates.
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
  __shared__ int s_count, s_less, s_ties, s_remaining;
  __shared__ unsigned s_prefix;
  __shared__ unsigned s_hist[256];

  const int64_t r = blockIdx.x;
  const int64_t qid = a.q_ids ? a.q_ids[r] : a.q0 + r;
  const int64_t lrow = a.q_ids ? a.q_ids[r] : r;
  float* bd = a.best_d + lrow * a.kk;
  int32_t* bi = a.best_i + lrow * a.kk;
  const float* row = a.dots + r * a.ld;
  const float qn = a.form == DistanceForm::l2_expanded ? a.q_norms[r] : 0.f;
  const float thr = bd[a.kk - 1];
  const int kk = a.kk;
  const int room = kCap - kk;

  if (threadIdx.x == 0) s_count = 0;
  __syncthreads();
  for (int64_t c = threadIdx.x; c < a.nx; c += blockDim.x) {
    int32_t gid;
    const float d = tile_distance(a, row, c, qn, qid, gid);
    if (d < thr) {
      const int p = atomicAdd(&s_count, 1);
      if (p < room) {
        sd[kk + p] = d;
        si[kk + p] = gid;
      }
    }
  }
  __syncthreads();
  int m = s_count;
  if (m == 0) return;

  if (m > room) {
    // Radix select of the kk-th smallest surviving distance, 8 bits per pass.
    unsigned prefix = 0, mask = 0;
    int remaining = kk;
    for (int shift = 24; shift >= 0; shift -= 8) {
      for (int b = threadIdx.x; b < 256; b += blockDim.x) s_hist[b] = 0;
      __syncthreads();
      for (int64_t c = threadIdx.x; c < a.nx; c += blockDim.x) {
        int32_t gid;
        const float d = tile_distance(a, row, c, qn, qid, gid);
        const unsigned u = __float_as_uint(d);
        if (d < thr && (u & mask) == prefix) atomicAdd(&s_hist[(u >> shift) & 255u], 1u);
      }
      __syncthreads();
      if (threadIdx.x == 0) {
        int cum = 0;
        for (int b = 0; b < 256; ++b) {
          const int h = static_cast<int>(s_hist[b]);
          if (cum + h >= remaining) {
            s_prefix = prefix | (static_cast<unsigned>(b) << shift);
            s_remaining = remaining - cum;
            break;
          }
          cum += h;
        }
      }
      __syncthreads();
      prefix = s_prefix;
      remaining = s_remaining;
      mask |= 255u << shift;
    }
    // prefix is now the bit pattern of the kk-th smallest value: keep all
    // below it and as many ties as fit (the sort then prefers small ids; only
    // more than ~2000 equal distances in one tile could make the choice
    // depend on atomic order).
    const int less = kk - remaining;
    if (threadIdx.x == 0) {
      s_less = 0;
      s_ties = 0;
    }
    __syncthreads();
    for (int64_t c = threadIdx.x; c < a.nx; c += blockDim.x) {
      int32_t gid;
      const float d = tile_distance(a, row, c, qn, qid, gid);
      if (!(d < thr)) continue;
      const unsigned u = __float_as_uint(d);
      if (u < prefix) {
        const int p = atomicAdd(&s_less, 1);
        sd[kk + p] = d;
        si[kk + p] = gid;
      } else if (u == prefix) {
        const int p = less + atomicAdd(&s_ties, 1);
        if (p < room) {
          sd[kk + p] = d;
          si[kk + p] = gid;
        }
      }
    }
    __syncthreads();
    m = min(less + s_ties, room);
  }

  for (int t = threadIdx.x; t < kk; t += blockDim.x) {
    sd[t] = bd[t];
    si[t] = bi[t];
  }
  const int total = kk + m;
  const int n = next_pow2(total);
  for (int t = total + threadIdx.x; t < n; t += blockDim.x) {
    sd[t] = INFINITY;
    si[t] = -1;
  }
  block_sort_pairs(sd, si, n);
  for (int t = threadIdx.x; t < kk; t += blockDim.x) {
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
                                                        const int32_t* __restrict__ pool_i, int kk,
                                                        int k, float* __restrict__ out_d,
                                                        int32_t* __restrict__ out_i) {
  __shared__ float sd[kMaxPool];
  __shared__ int32_t si[kMaxPool];
  const int64_t r = blockIdx.x;
  const float* q = x + (row0 + r) * dim;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int c = warp; c < kk; c += warps) {
    const int32_t id = pool_i[r * kk + c];
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
  const int n = next_pow2(kk);
  for (int t = kk + threadIdx.x; t < n; t += blockDim.x) {
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
                                const int32_t* __restrict__ pool_i, int kk, int k,
                                float* __restrict__ out_d, int32_t* __restrict__ out_i) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= rows * k) return;
  const int64_t r = t / k, c = t - r * k;
  const float d = pool_d[r * kk + c];
  out_d[t] = metric == Metric::euclidean ? sqrtf(d) : d;
  out_i[t] = pool_i[r * kk + c];
}

}  // namespace

void launch_select_tile(Context& ctx, const TileSelect& t) {
  PRISM_CHECK(t.kk >= 1 && t.kk <= kMaxPool, "pool size ", t.kk, " outside 1..", kMaxPool);
  if (t.nq <= 0 || t.nx <= 0) return;
  const size_t shared = static_cast<size_t>(kCap) * (sizeof(float) + sizeof(int32_t));
  select_tile_kernel<<<checked_cast<unsigned>(t.nq), kBlock, shared, ctx.stream()>>>(t);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

void launch_init_lists(Context& ctx, float* best_d, int32_t* best_i, int64_t count) {
  if (count <= 0) return;
  init_lists_kernel<<<grid_for(count, kBlock), kBlock, 0, ctx.stream()>>>(best_d, best_i, count);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

void launch_refine(Context& ctx, const float* x, int64_t d, Metric metric, int64_t row0,
                   int64_t rows, const int32_t* pool_i, int kk, int k, float* out_d,
                   int32_t* out_i) {
  PRISM_CHECK(k <= kk && kk <= kMaxPool, "refine: k ", k, " pool ", kk);
  if (rows <= 0) return;
  refine_kernel<<<checked_cast<unsigned>(rows), kBlock, 0, ctx.stream()>>>(
      x, d, metric, row0, pool_i, kk, k, out_d, out_i);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

void launch_finalize(Context& ctx, Metric metric, int64_t rows, const float* pool_d,
                     const int32_t* pool_i, int kk, int k, float* out_d, int32_t* out_i) {
  if (rows <= 0) return;
  finalize_kernel<<<grid_for(checked_mul(rows, k), kBlock), kBlock, 0, ctx.stream()>>>(
      metric, rows, pool_d, pool_i, kk, k, out_d, out_i);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

}  // namespace prism::cuda::detail
