// The CUDA backend's internal paths that the public API picks only for large
// inputs (tf32 + re-rank, host-blocked exact search, IVF), the device-side
// t-SNE affinities, and the error reporting. Built only with CUDA.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/context.cuh"
#include "gpu_test_util.hpp"
#include "knn/knn_internal.cuh"
#include "prism/tsne.hpp"
#include "test_util.hpp"
#include "tsne/tsne_internal.cuh"

namespace prism::cuda {
namespace {

using detail::ExactOptions;

KnnGraph exact_with(const Matrix& x, int k, Metric metric, ExactOptions o) {
  auto ctx = Context::shared();
  return detail::knn_exact_device(*ctx, x, k, metric, o, nullptr);
}

TEST(GpuKernels, Tf32WithRerankIsStillExact) {
  PRISM_REQUIRE_CUDA();
  const Matrix x = test::random_matrix(6000, 96, 31);
  ExactOptions o;
  o.precision = ExactOptions::Precision::tf32;
  for (Metric m : {Metric::euclidean, Metric::cosine}) {
    const KnnGraph gpu = exact_with(x, 15, m, o);
    EXPECT_EQ(test::knn_mismatched_rows(gpu, knn_exact_cpu(x, 15, m)), 0) << to_string(m);
  }
}

TEST(GpuKernels, HostBlockedExactSearch) {
  PRISM_REQUIRE_CUDA();
  // A budget far below the data size forces several host blocks.
  const Matrix x = test::random_matrix(9000, 40, 32);
  ExactOptions o;
  o.memory_budget = 3u << 20;
  const KnnGraph gpu = exact_with(x, 10, Metric::euclidean, o);
  EXPECT_EQ(test::knn_mismatched_rows(gpu, knn_exact_cpu(x, 10, Metric::euclidean)), 0);
}

TEST(GpuKernels, IvfRecallAndDeterminism) {
  PRISM_REQUIRE_CUDA();
  const test::Blobs b = test::make_blobs(30000, 32, 40, 8, 4.0f);
  auto ctx = Context::shared();
  detail::IvfOptions o;
  for (Metric m : {Metric::euclidean, Metric::cosine}) {
    const KnnGraph a = detail::knn_ivf_device(*ctx, b.x, 15, m, 5, o, nullptr);
    const KnnGraph again = detail::knn_ivf_device(*ctx, b.x, 15, m, 5, o, nullptr);
    EXPECT_EQ(a.indices, again.indices);
    const KnnGraph exact = detail::knn_exact_device(*ctx, b.x, 15, m, {}, nullptr);
    EXPECT_GE(knn_recall(a, exact), 0.95) << to_string(m);
  }
}

TEST(GpuKernels, AffinitiesMatchCpu) {
  PRISM_REQUIRE_CUDA();
  const test::Blobs b = test::make_blobs(2000, 20, 5, 9, 3.0f);
  const KnnGraph g = knn_exact_cpu(b.x, 45, Metric::euclidean);
  const SparseP cpu = tsne_affinities(g, 15.0);
  auto ctx = Context::shared();
  const SparseP gpu = detail::download_p(*ctx, detail::tsne_affinities_device(*ctx, g, 15.0));
  ASSERT_EQ(gpu.row_ptr, cpu.row_ptr);
  ASSERT_EQ(gpu.col, cpu.col);
  double err = 0;
  for (size_t e = 0; e < cpu.val.size(); ++e)
    err = std::max(err, std::abs(double(gpu.val[e]) - cpu.val[e]) / cpu.val[e]);
  EXPECT_LT(err, 1e-4);
}

TEST(GpuKernels, OutOfMemorySaysHowMuch) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  try {
    DeviceBuffer<float> huge(*ctx, int64_t{1} << 50, "a test buffer");
    FAIL() << "4 PiB allocation succeeded";
  } catch (const RuntimeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("out of memory"), std::string::npos) << what;
    EXPECT_NE(what.find("a test buffer"), std::string::npos) << what;
    EXPECT_NE(what.find("GiB"), std::string::npos) << what;
  }
  // The context still works afterwards.
  DeviceBuffer<float> small(*ctx, 16, "small");
  small.fill_zero();
  EXPECT_NO_THROW(ctx->sync());
}

TEST(GpuKernels, CudaErrorsNameTheCallSite) {
  PRISM_REQUIRE_CUDA();
  try {
    PRISM_CUDA_TRY(cudaSetDevice(1 << 20));
    FAIL() << "cudaSetDevice accepted a bogus device";
  } catch (const RuntimeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cudaSetDevice"), std::string::npos) << what;
    EXPECT_NE(what.find("test_gpu_kernels.cu"), std::string::npos) << what;
  }
  cudaGetLastError();
  PRISM_CUDA_TRY(cudaSetDevice(0));
}

}  // namespace
}  // namespace prism::cuda
