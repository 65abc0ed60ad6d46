// The update, as the CPU's gradient_step (openTSNE's gradient_descent):
// delta-bar-delta gains, momentum, then re-centring on the origin.
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <cub/device/device_reduce.cuh>

#include "tsne/tsne_internal.cuh"

namespace prism::cuda::detail {
namespace {

constexpr int kBlock = 256;

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

// Column sums by a CUB reduction over all points (grid-wide, double, fixed
// order for a given device: the same bits every run), then a grid-wide
// subtraction of the means.
struct Sums {
  double s[3];
};

struct PointSums {
  const float* y;
  int dims;
  __host__ __device__ Sums operator()(int64_t i) const {
    Sums r;
    for (int d = 0; d < 3; ++d) r.s[d] = d < dims ? static_cast<double>(y[i * dims + d]) : 0.0;
    return r;
  }
};

struct AddSums {
  __host__ __device__ Sums operator()(const Sums& a, const Sums& b) const {
    Sums r;
    for (int d = 0; d < 3; ++d) r.s[d] = a.s[d] + b.s[d];
    return r;
  }
};

__global__ void subtract_mean_kernel(float* __restrict__ y, int64_t n, int dims,
                                     const Sums* __restrict__ sums) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= n * dims) return;
  y[t] -= static_cast<float>(sums->s[t % dims] / static_cast<double>(n));
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
  if (n <= 0) return;
  const auto points =
      thrust::make_transform_iterator(thrust::counting_iterator<int64_t>(0), PointSums{y, dims});
  size_t temp = 0;
  PRISM_CUDA_TRY(cub::DeviceReduce::Reduce(nullptr, temp, points, static_cast<Sums*>(nullptr), n,
                                           AddSums{}, Sums{}, ctx.stream()));
  // One workspace: the sums first (aligned), the reduction's scratch after them.
  constexpr size_t kHead = 256;
  auto* ws = static_cast<unsigned char*>(ctx.workspace(kHead + temp, "t-SNE re-centring"));
  Sums* sums = reinterpret_cast<Sums*>(ws);
  PRISM_CUDA_TRY(cub::DeviceReduce::Reduce(ws + kHead, temp, points, sums, n, AddSums{}, Sums{},
                                           ctx.stream()));
  const int64_t count = checked_mul(n, dims);
  subtract_mean_kernel<<<grid_for(count, kBlock), kBlock, 0, ctx.stream()>>>(y, n, dims, sums);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

}  // namespace prism::cuda::detail
