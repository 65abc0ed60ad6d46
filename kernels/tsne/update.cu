// The update, as the CPU's gradient_step (openTSNE's gradient_descent):
// delta-bar-delta gains, momentum, then re-centring on the origin.
#include "tsne/tsne_internal.cuh"

namespace prism::cuda::detail {
namespace {

constexpr int kBlock = 256;
constexpr int kStatsBlock = 1024;

__device__ inline int sign_of(float v) { return (v > 0.f) - (v < 0.f); }

__global__ void gradient_step_kernel(float* __restrict__ y, const float* __restrict__ attr,
                                     const float* __restrict__ rep, const double* __restrict__ z,
                                     float* __restrict__ update, float* __restrict__ gains,
                                     int64_t count, float learning_rate, float momentum,
                                     float min_gain) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= count) return;
  const float inv_z = static_cast<float>(1.0 / *z);
  const float grad = attr[t] - rep[t] * inv_z;
  // Opposite signs of gradient and last update: still descending, speed up.
  const bool keeps_direction = sign_of(grad) != sign_of(update[t]);
  float g = keeps_direction ? gains[t] + 0.2f : gains[t] * 0.8f;
  g = fmaxf(g, min_gain);
  gains[t] = g;
  const float u = momentum * update[t] - learning_rate * g * grad;
  update[t] = u;
  y[t] += u;
}

// One block: per-dimension sums in a fixed-shape tree, then subtract the mean.
__global__ void __launch_bounds__(kStatsBlock) recentre_kernel(float* __restrict__ y, int64_t n,
                                                               int dims) {
  __shared__ double s[3][kStatsBlock];
  __shared__ float mean[3];
  for (int d = 0; d < dims; ++d) {
    double acc = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += y[i * dims + d];
    s[d][threadIdx.x] = acc;
  }
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w)
      for (int d = 0; d < dims; ++d) s[d][threadIdx.x] += s[d][threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x < dims) mean[threadIdx.x] = static_cast<float>(s[threadIdx.x][0] / n);
  __syncthreads();
  for (int64_t t = threadIdx.x; t < n * dims; t += blockDim.x) y[t] -= mean[t % dims];
}

}  // namespace

void launch_gradient_step(Context& ctx, float* y, const float* attr, const float* rep,
                          const double* z, float* update, float* gains, int64_t count,
                          float learning_rate, float momentum, float min_gain) {
  gradient_step_kernel<<<grid_for(count, kBlock), kBlock, 0, ctx.stream()>>>(
      y, attr, rep, z, update, gains, count, learning_rate, momentum, min_gain);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

void launch_recentre(Context& ctx, float* y, int64_t n, int dims) {
  PRISM_CHECK(dims >= 1 && dims <= 3, "recentre supports 1..3 dims, got ", dims);
  recentre_kernel<<<1, kStatsBlock, 0, ctx.stream()>>>(y, n, dims);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

}  // namespace prism::cuda::detail
