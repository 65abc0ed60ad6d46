// Attractive forces over the sparse P (openTSNE's estimate_positive_gradient_nn)
// and the KL terms; one thread per row, so no two threads write the same value.
#include <cub/device/device_reduce.cuh>

#include "tsne/tsne_internal.cuh"

namespace prism::cuda::detail {
namespace {

constexpr int kBlock = 256;

template <int DIMS>
__global__ void attraction_kernel(const int64_t* __restrict__ row_ptr,
                                  const int32_t* __restrict__ col, const float* __restrict__ val,
                                  int64_t n, const float* __restrict__ y, float exaggeration,
                                  float* __restrict__ attr) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float yi[DIMS], f[DIMS];
  for (int d = 0; d < DIMS; ++d) {
    yi[d] = y[i * DIMS + d];
    f[d] = 0.f;
  }
  for (int64_t e = row_ptr[i]; e < row_ptr[i + 1]; ++e) {
    const int64_t j = col[e];
    float diff[DIMS], d2 = 0.f;
    for (int d = 0; d < DIMS; ++d) {
      diff[d] = yi[d] - y[j * DIMS + d];
      d2 += diff[d] * diff[d];
    }
    const float pw = val[e] / (1.f + d2);
    for (int d = 0; d < DIMS; ++d) f[d] += pw * diff[d];
  }
  for (int d = 0; d < DIMS; ++d) attr[i * DIMS + d] = exaggeration * f[d];
}

__global__ void kl_rows_kernel(const int64_t* __restrict__ row_ptr, const int32_t* __restrict__ col,
                               const float* __restrict__ val, int64_t n,
                               const float* __restrict__ y, int dims, double* __restrict__ out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  double s = 0;
  for (int64_t e = row_ptr[i]; e < row_ptr[i + 1]; ++e) {
    const int64_t j = col[e];
    double d2 = 0;
    for (int d = 0; d < dims; ++d) {
      const double t = static_cast<double>(y[i * dims + d]) - y[j * dims + d];
      d2 += t * t;
    }
    const double p = val[e];
    if (p > 0) s += p * log(p * (1.0 + d2));  // p log(p / w), w = 1 / (1 + d^2)
  }
  out[i] = s;
}

}  // namespace

void launch_attraction(Context& ctx, const DeviceP& p, const float* y, int dims,
                       float exaggeration, float* attr) {
  const unsigned grid = grid_for(p.n, kBlock);
  if (dims == 2)
    attraction_kernel<2><<<grid, kBlock, 0, ctx.stream()>>>(
        p.row_ptr.data(), p.col.data(), p.val.data(), p.n, y, exaggeration, attr);
  else
    attraction_kernel<3><<<grid, kBlock, 0, ctx.stream()>>>(
        p.row_ptr.data(), p.col.data(), p.val.data(), p.n, y, exaggeration, attr);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

void launch_kl_terms(Context& ctx, const DeviceP& p, const float* y, int dims, double* out) {
  DeviceBuffer<double> rows(ctx, p.n, "t-SNE KL rows");
  kl_rows_kernel<<<grid_for(p.n, kBlock), kBlock, 0, ctx.stream()>>>(
      p.row_ptr.data(), p.col.data(), p.val.data(), p.n, y, dims, rows.data());
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  size_t temp = 0;
  PRISM_CUDA_TRY(cub::DeviceReduce::Sum(nullptr, temp, rows.data(), out, p.n, ctx.stream()));
  DeviceBuffer<unsigned char> scratch(ctx, static_cast<int64_t>(temp), "KL reduce scratch");
  PRISM_CUDA_TRY(cub::DeviceReduce::Sum(scratch.data(), temp, rows.data(), out, p.n, ctx.stream()));
}

}  // namespace prism::cuda::detail
