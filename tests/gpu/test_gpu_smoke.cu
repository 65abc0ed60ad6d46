// The first thing to run on a GPU machine (bench/gpu/run.sh smoke, under a
// minute): the device and its memory pools, one kernel, one cuBLAS call and
// one small exact kNN against the CPU. Each prints one line of the smoke
// table ("smoke: <what>: <result>"). Built only with CUDA.
#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "core/context.cuh"
#include "gpu_test_util.hpp"
#include "knn/knn_internal.cuh"
#include "prism/cuda/api.hpp"
#include "test_util.hpp"

namespace prism::cuda {
namespace {

TEST(GpuSmoke, Device) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  int pools = 0, major = 0, minor = 0;
  PRISM_CUDA_TRY(cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, 0));
  PRISM_CUDA_TRY(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0));
  PRISM_CUDA_TRY(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0));
  int driver = 0, runtime = 0;
  PRISM_CUDA_TRY(cudaDriverGetVersion(&driver));
  PRISM_CUDA_TRY(cudaRuntimeGetVersion(&runtime));
  std::printf("smoke: device: %s\n", device_description().c_str());
  std::printf("smoke: compute capability: %d.%d, driver %d, runtime %d\n", major, minor, driver, runtime);
  std::printf("smoke: memory pools: %s (allocator: %s)\n", pools ? "supported" : "NOT supported",
              ctx->uses_pool() ? "pool" : "plain cudaMalloc");
  std::printf("smoke: sync-debug build: %s\n", sync_debug_build() ? "yes" : "no");
  const MemoryState m = ctx->memory_state();
  std::printf("smoke: memory: %s free of %s\n", format_bytes(double(m.free)).c_str(),
              format_bytes(double(m.total)).c_str());
  EXPECT_EQ(ctx->uses_pool(), pools != 0);
}

__global__ void squares_kernel(int* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = i * i;
}

TEST(GpuSmoke, OneKernel) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  const int n = 1000;
  DeviceBuffer<int> d(*ctx, n, "smoke squares");
  squares_kernel<<<grid_for(n, 256), 256, 0, ctx->stream()>>>(d.data(), n);
  PRISM_CUDA_LAUNCH_CHECK(ctx->stream());
  std::vector<int> h(n);
  d.download(h.data(), n);
  ctx->sync();
  int wrong = 0;
  for (int i = 0; i < n; ++i) wrong += h[i] != i * i;
  std::printf("smoke: kernel: %s\n", wrong ? "WRONG" : "ok");
  EXPECT_EQ(wrong, 0);
}

TEST(GpuSmoke, OneCublasCall) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  const int n = 64;
  const Matrix a = test::random_matrix(n, n, 81), b = test::random_matrix(n, n, 82);
  DeviceBuffer<float> da(*ctx, n * n, "smoke A"), db(*ctx, n * n, "smoke B"), dc(*ctx, n * n, "smoke C");
  da.upload(a.data(), n * n);
  db.upload(b.data(), n * n);
  const float one = 1.f, zero = 0.f;
  // Column-major C = A B of the row-major arrays is (B^T A^T)^T: C_row = A_row B_row via B * A.
  PRISM_CUBLAS_TRY(cublasSgemm(ctx->cublas(), CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, db.data(), n,
                               da.data(), n, &zero, dc.data(), n));
  std::vector<float> c(n * n);
  dc.download(c.data(), n * n);
  ctx->sync();
  double err = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int t = 0; t < n; ++t) s += double(a(i, t)) * b(t, j);
      err = std::max(err, std::abs(s - c[i * n + j]));
    }
  std::printf("smoke: cuBLAS SGEMM 64^3: max error %.2e\n", err);
  EXPECT_LT(err, 1e-4);
}

TEST(GpuSmoke, SmallExactKnnMatchesCpu) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  const Matrix x = test::random_matrix(2000, 32, 83);
  const KnnGraph gpu = detail::knn_exact_device(*ctx, x, 15, Metric::euclidean, {}, nullptr);
  const int64_t bad = test::knn_mismatched_rows(gpu, knn_exact_cpu(x, 15, Metric::euclidean));
  std::printf("smoke: exact kNN 2000 x 32, k = 15: %lld of 2000 rows differ from the CPU\n",
              static_cast<long long>(bad));
  EXPECT_EQ(bad, 0);
}

}  // namespace
}  // namespace prism::cuda
