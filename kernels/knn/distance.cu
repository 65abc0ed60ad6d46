// Row norms, normalisation, gathers and the tile GEMM (FAISS's runL2Norm +
// runMatrixMult, without ever forming more than one tile of distances).
#include "knn/knn_internal.cuh"

namespace prism::cuda::detail {
namespace {

constexpr int kWarp = 32;

// One warp per row: rows are long (hundreds of floats), so lanes stride the row.
__global__ void row_sq_norms_kernel(const float* __restrict__ x, int64_t rows, int64_t cols,
                                    float* __restrict__ out) {
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const float* p = x + row * cols;
  float s = 0.f;
  for (int64_t j = lane; j < cols; j += kWarp) s = fmaf(p[j], p[j], s);
  for (int o = kWarp / 2; o > 0; o /= 2) s += __shfl_down_sync(0xffffffffu, s, o);
  if (lane == 0) out[row] = s;
}

__global__ void normalize_rows_kernel(float* __restrict__ x, int64_t rows, int64_t cols) {
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  float* p = x + row * cols;
  float s = 0.f;
  for (int64_t j = lane; j < cols; j += kWarp) s = fmaf(p[j], p[j], s);
  for (int o = kWarp / 2; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
  if (s <= 0.f) return;
  const float inv = rsqrtf(s);
  for (int64_t j = lane; j < cols; j += kWarp) p[j] *= inv;
}

__global__ void gather_rows_kernel(const float* __restrict__ x, int64_t d,
                                   const int32_t* __restrict__ ids, int64_t count,
                                   float* __restrict__ out) {
  const int64_t total = count * d;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = t / d, j = t - r * d;
    out[t] = x[static_cast<int64_t>(ids[r]) * d + j];
  }
}

__global__ void gather_floats_kernel(const float* __restrict__ src, const int32_t* __restrict__ ids,
                                     int64_t count, float* __restrict__ out) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < count) out[t] = src[ids[t]];
}

}  // namespace

void launch_row_sq_norms(Context& ctx, const float* x, int64_t rows, int64_t cols, float* out) {
  if (rows <= 0) return;
  constexpr int block = 256;
  row_sq_norms_kernel<<<grid_for(checked_mul(rows, kWarp), block), block, 0, ctx.stream()>>>(
      x, rows, cols, out);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

void launch_normalize_rows(Context& ctx, float* x, int64_t rows, int64_t cols) {
  if (rows <= 0) return;
  constexpr int block = 256;
  normalize_rows_kernel<<<grid_for(checked_mul(rows, kWarp), block), block, 0, ctx.stream()>>>(
      x, rows, cols);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

void launch_gather_rows(Context& ctx, const float* x, int64_t d, const int32_t* ids, int64_t count,
                        float* out) {
  if (count <= 0) return;
  constexpr int block = 256;
  const int64_t blocks = std::min<int64_t>((checked_mul(count, d) + block - 1) / block,
                                           static_cast<int64_t>(ctx.sm_count()) * 32);
  gather_rows_kernel<<<checked_cast<unsigned>(blocks), block, 0, ctx.stream()>>>(x, d, ids, count,
                                                                                 out);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

void launch_gather_floats(Context& ctx, const float* src, const int32_t* ids, int64_t count,
                          float* out) {
  if (count <= 0) return;
  constexpr int block = 256;
  gather_floats_kernel<<<grid_for(count, block), block, 0, ctx.stream()>>>(src, ids, count, out);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

void gemm_dots(Context& ctx, const float* q, int64_t nq, const float* x, int64_t nx, int64_t d,
               float* dots, GemmPrecision precision) {
  if (nq <= 0 || nx <= 0) return;
  // cuBLAS is column-major: row-major X (nx x d) is X^T (d x nx) with ld d, and
  // the column-major nx x nq result C = X * Q^T is our row-major nq x nx tile.
  const float one = 1.f, zero = 0.f;
  const cublasComputeType_t compute =
      precision == GemmPrecision::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  PRISM_CUBLAS_TRY(cublasGemmEx(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, checked_cast<int>(nx),
                                checked_cast<int>(nq), checked_cast<int>(d), &one, x, CUDA_R_32F,
                                checked_cast<int>(d), q, CUDA_R_32F, checked_cast<int>(d), &zero,
                                dots, CUDA_R_32F, checked_cast<int>(nx), compute,
                                CUBLAS_GEMM_DEFAULT));
}

}  // namespace prism::cuda::detail
