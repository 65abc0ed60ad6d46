// Barnes-Hut tree and repulsion. Instead of a pointer-based tree (Burtscher &
// Pingali 2011) or a radix tree (Karras 2012), a complete tree of fixed depth
// stored densely: level l has 2^(dims*l) cells, a cell's children are
// 2^dims consecutive cells of the next level, and a point's cell at any level
// is a prefix of its Morton code. Building is a sort plus one pass per level,
// with no atomics and no data-dependent allocation; a leaf's points are a
// range of the sorted order, summed exactly when the traversal reaches it.
#include <algorithm>

#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>

#include "tsne/tsne_internal.cuh"

namespace prism::cuda::detail {
namespace {

constexpr int kBlock = 256;

// Number of cells above level l: (2^(dims*l) - 1) / (2^dims - 1).
__host__ __device__ inline int64_t level_offset(int l, int dims) {
  const int64_t per = int64_t{1} << dims;
  return ((int64_t{1} << (dims * l)) - 1) / (per - 1);
}

__device__ inline uint32_t spread_bits(uint32_t v, int dims) {
  uint32_t out = 0;
  for (int b = 0; b < 11; ++b) out |= ((v >> b) & 1u) << (b * dims);
  return out;
}

// Bounding box by a CUB reduction over all points (grid-wide; min and max
// are exact, so the order does not matter): point i as a degenerate box,
// boxes merged by union.
struct Box {
  float lo[3], hi[3];
};

struct PointBox {
  const float* y;
  int dims;
  __host__ __device__ Box operator()(int64_t i) const {
    Box b;
    for (int d = 0; d < 3; ++d) {
      const float v = d < dims ? y[i * dims + d] : 0.f;
      b.lo[d] = v;
      b.hi[d] = v;
    }
    return b;
  }
};

struct BoxUnion {
  __host__ __device__ Box operator()(const Box& a, const Box& b) const {
    Box r;
    for (int d = 0; d < 3; ++d) {
      r.lo[d] = fminf(a.lo[d], b.lo[d]);
      r.hi[d] = fmaxf(a.hi[d], b.hi[d]);
    }
    return r;
  }
};

using PointBoxes = thrust::transform_iterator<PointBox, thrust::counting_iterator<int64_t>>;

PointBoxes point_boxes(const float* y, int dims) {
  return thrust::make_transform_iterator(thrust::counting_iterator<int64_t>(0), PointBox{y, dims});
}

Box empty_box() {
  Box b;
  for (int d = 0; d < 3; ++d) {
    b.lo[d] = INFINITY;
    b.hi[d] = -INFINITY;
  }
  return b;
}

// box = (min[3], size) of the cube the tree covers.
__global__ void box_finish_kernel(const Box* __restrict__ b, int dims, float* __restrict__ box) {
  if (threadIdx.x != 0) return;
  float size = 0;
  for (int d = 0; d < dims; ++d) {
    box[d] = b->lo[d];
    size = fmaxf(size, b->hi[d] - b->lo[d]);
  }
  // A little larger so the maximum maps inside the last cell.
  box[3] = fmaxf(size, 1e-12f) * 1.0001f;
}

__global__ void morton_kernel(const float* __restrict__ y, int64_t n, int dims, int depth,
                              const float* __restrict__ box, uint32_t* __restrict__ codes,
                              int32_t* __restrict__ ids) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float cells = static_cast<float>(1u << depth);
  uint32_t code = 0;
  for (int d = 0; d < dims; ++d) {
    const float t = (y[i * dims + d] - box[d]) / box[3] * cells;
    const uint32_t c = static_cast<uint32_t>(fminf(fmaxf(t, 0.f), cells - 1.f));
    code |= spread_bits(c, dims) << (dims - 1 - d);
  }
  codes[i] = code;
  ids[i] = static_cast<int32_t>(i);
}

// The head of each run of equal leaf codes sums its points in sorted order.
__global__ void leaves_kernel(const float* __restrict__ y, const uint32_t* __restrict__ codes,
                              const int32_t* __restrict__ order, int64_t n, int dims,
                              int64_t leaf_offset, int32_t* __restrict__ count,
                              float* __restrict__ sum, int32_t* __restrict__ leaf_start) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= n || (t > 0 && codes[t] == codes[t - 1])) return;
  float s[3] = {0, 0, 0};
  int64_t u = t;
  for (; u < n && codes[u] == codes[t]; ++u)
    for (int d = 0; d < dims; ++d) s[d] += y[static_cast<int64_t>(order[u]) * dims + d];
  const int64_t node = leaf_offset + codes[t];
  count[node] = static_cast<int32_t>(u - t);
  for (int d = 0; d < dims; ++d) sum[node * dims + d] = s[d];
  leaf_start[codes[t]] = static_cast<int32_t>(t);
}

__global__ void level_kernel(int l, int dims, int32_t* __restrict__ count, float* __restrict__ sum) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= (int64_t{1} << (dims * l))) return;
  const int64_t node = level_offset(l, dims) + c;
  const int64_t child0 = level_offset(l + 1, dims) + (c << dims);
  int32_t total = 0;
  float s[3] = {0, 0, 0};
  for (int ch = 0; ch < (1 << dims); ++ch) {
    const int32_t c_count = count[child0 + ch];
    if (c_count == 0) continue;  // empty leaves keep stale sums (only counts are cleared)
    total += c_count;
    for (int d = 0; d < dims; ++d) s[d] += sum[(child0 + ch) * dims + d];
  }
  count[node] = total;
  for (int d = 0; d < dims; ++d) sum[node * dims + d] = s[d];
}

// Thread t handles sorted point order[t]: neighbouring threads walk similar
// paths, so the warp diverges little.
template <int DIMS>
__global__ void repulsion_kernel(const float* __restrict__ y, int64_t n, int depth, float theta2,
                                 const float* __restrict__ box, const uint32_t* __restrict__ codes,
                                 const int32_t* __restrict__ order,
                                 const int32_t* __restrict__ count, const float* __restrict__ sum,
                                 const int32_t* __restrict__ leaf_start, float* __restrict__ rep,
                                 double* __restrict__ sumq) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= n) return;
  const int64_t i = order[t];
  const uint32_t code = codes[t];
  float yi[DIMS], f[DIMS];
  for (int d = 0; d < DIMS; ++d) {
    yi[d] = y[i * DIMS + d];
    f[d] = 0.f;
  }
  double q_total = 0;
  constexpr int kStack = 8 * ((1 << DIMS) - 1) * 2 + 8;
  uint32_t stack_cell[kStack];
  uint8_t stack_level[kStack];
  int top = 0;
  stack_cell[0] = 0;
  stack_level[0] = 0;
  top = 1;
  const float size = box[3];
  while (top > 0) {
    --top;
    const uint32_t cell = stack_cell[top];
    const int l = stack_level[top];
    const int64_t node = level_offset(l, DIMS) + cell;
    const int32_t cnt = count[node];
    if (cnt == 0) continue;
    if (l == depth) {
      // Leaf: exact over its points (they are near each other, usually few).
      const int32_t s0 = leaf_start[cell];
      for (int32_t p = s0; p < s0 + cnt; ++p) {
        const int64_t j = order[p];
        if (j == i) continue;
        float diff[DIMS], d2 = 0.f;
        for (int d = 0; d < DIMS; ++d) {
          diff[d] = yi[d] - y[j * DIMS + d];
          d2 += diff[d] * diff[d];
        }
        const float w = 1.f / (1.f + d2);
        q_total += w;
        for (int d = 0; d < DIMS; ++d) f[d] += w * w * diff[d];
      }
      continue;
    }
    float diff[DIMS], d2 = 0.f;
    const float inv = 1.f / static_cast<float>(cnt);
    for (int d = 0; d < DIMS; ++d) {
      diff[d] = yi[d] - sum[node * DIMS + d] * inv;
      d2 += diff[d] * diff[d];
    }
    const float width = size / static_cast<float>(1u << l);
    const bool contains_i = (code >> (DIMS * (depth - l))) == cell;
    if (!contains_i && width * width < theta2 * d2) {
      const float w = 1.f / (1.f + d2);
      q_total += static_cast<double>(cnt) * w;
      for (int d = 0; d < DIMS; ++d) f[d] += cnt * w * w * diff[d];
      continue;
    }
    for (int ch = (1 << DIMS) - 1; ch >= 0; --ch) {
      stack_cell[top] = (cell << DIMS) | static_cast<uint32_t>(ch);
      stack_level[top] = static_cast<uint8_t>(l + 1);
      ++top;
    }
  }
  for (int d = 0; d < DIMS; ++d) rep[i * DIMS + d] = f[d];
  sumq[i] = q_total;
}

}  // namespace

BhTree::BhTree(Context& ctx, int64_t n, int dims) : ctx_(ctx), n_(n), dims_(dims) {
  PRISM_EXPECTS(dims == 2 || dims == 3, "the Barnes-Hut tree is 2D or 3D, got ", dims);
  // About 4-16 leaves per point in 2D, 1-8 in 3D: leaves rarely hold more than
  // a few points, while the dense arrays stay under ~100 MB.
  int depth = 1;
  const int max_depth = dims == 2 ? 11 : 7;
  while (depth < max_depth && (int64_t{1} << (dims * depth)) < 4 * n) ++depth;
  depth_ = depth;
  leaves_ = int64_t{1} << (dims * depth_);
  leaf_offset_ = level_offset(depth_, dims);
  nodes_ = leaf_offset_ + leaves_;
  box_.reset(ctx, 4, "t-SNE bounding box");
  box_reduced_.reset(ctx, sizeof(Box), "t-SNE bounding box");
  codes_.reset(ctx, n, "t-SNE Morton codes");
  codes_sorted_.reset(ctx, n, "t-SNE Morton codes");
  ids_.reset(ctx, n, "t-SNE point order");
  order_.reset(ctx, n, "t-SNE point order");
  count_.reset(ctx, nodes_, "t-SNE tree counts");
  sum_.reset(ctx, checked_mul(nodes_, dims), "t-SNE tree sums");
  leaf_start_.reset(ctx, leaves_, "t-SNE tree leaves");
  sumq_.reset(ctx, n, "t-SNE per-point Z");
  PRISM_CUDA_TRY(cub::DeviceRadixSort::SortPairs(nullptr, sort_temp_bytes_, codes_.data(),
                                                 codes_sorted_.data(), ids_.data(), order_.data(),
                                                 n, 0, dims * depth_, ctx.stream()));
  sort_temp_.reset(ctx, static_cast<int64_t>(sort_temp_bytes_), "t-SNE sort scratch");
  double* dummy = nullptr;
  PRISM_CUDA_TRY(cub::DeviceReduce::Sum(nullptr, reduce_temp_bytes_, sumq_.data(), dummy, n,
                                        ctx.stream()));
  size_t box_temp = 0;
  PRISM_CUDA_TRY(cub::DeviceReduce::Reduce(nullptr, box_temp, point_boxes(nullptr, dims),
                                           reinterpret_cast<Box*>(box_reduced_.data()), n,
                                           BoxUnion{}, empty_box(), ctx.stream()));
  reduce_temp_bytes_ = std::max(reduce_temp_bytes_, box_temp);
  reduce_temp_.reset(ctx, static_cast<int64_t>(reduce_temp_bytes_), "t-SNE reduce scratch");
}

void BhTree::build(const float* y) {
  cudaStream_t s = ctx_.stream();
  size_t temp = reduce_temp_bytes_;
  PRISM_CUDA_TRY(cub::DeviceReduce::Reduce(reduce_temp_.data(), temp, point_boxes(y, dims_),
                                           reinterpret_cast<Box*>(box_reduced_.data()), n_,
                                           BoxUnion{}, empty_box(), s));
  box_finish_kernel<<<1, 32, 0, s>>>(reinterpret_cast<const Box*>(box_reduced_.data()), dims_,
                                     box_.data());
  PRISM_CUDA_LAUNCH_CHECK(s);
  morton_kernel<<<grid_for(n_, kBlock), kBlock, 0, s>>>(y, n_, dims_, depth_, box_.data(),
                                                       codes_.data(), ids_.data());
  PRISM_CUDA_LAUNCH_CHECK(s);
  PRISM_CUDA_TRY(cub::DeviceRadixSort::SortPairs(sort_temp_.data(), sort_temp_bytes_,
                                                 codes_.data(), codes_sorted_.data(), ids_.data(),
                                                 order_.data(), n_, 0, dims_ * depth_, s));
  // Only the leaves need clearing: every upper cell is rewritten from its children.
  PRISM_CUDA_TRY(cudaMemsetAsync(count_.data() + leaf_offset_, 0, leaves_ * sizeof(int32_t), s));
  leaves_kernel<<<grid_for(n_, kBlock), kBlock, 0, s>>>(y, codes_sorted_.data(), order_.data(), n_,
                                                       dims_, leaf_offset_, count_.data(),
                                                       sum_.data(), leaf_start_.data());
  PRISM_CUDA_LAUNCH_CHECK(s);
  for (int l = depth_ - 1; l >= 0; --l) {
    level_kernel<<<grid_for(int64_t{1} << (dims_ * l), kBlock), kBlock, 0, s>>>(
        l, dims_, count_.data(), sum_.data());
    PRISM_CUDA_LAUNCH_CHECK(s);
  }
}

void BhTree::repulsion(const float* y, double theta, float* rep, double* z) {
  cudaStream_t s = ctx_.stream();
  const float theta2 = static_cast<float>(theta * theta);
  if (dims_ == 2)
    repulsion_kernel<2><<<grid_for(n_, kBlock), kBlock, 0, s>>>(
        y, n_, depth_, theta2, box_.data(), codes_sorted_.data(), order_.data(), count_.data(),
        sum_.data(), leaf_start_.data(), rep, sumq_.data());
  else
    repulsion_kernel<3><<<grid_for(n_, kBlock), kBlock, 0, s>>>(
        y, n_, depth_, theta2, box_.data(), codes_sorted_.data(), order_.data(), count_.data(),
        sum_.data(), leaf_start_.data(), rep, sumq_.data());
  PRISM_CUDA_LAUNCH_CHECK(s);
  size_t temp = reduce_temp_bytes_;
  PRISM_CUDA_TRY(cub::DeviceReduce::Sum(reduce_temp_.data(), temp, sumq_.data(), z, n_, s));
}

}  // namespace prism::cuda::detail
