// The CUDA backend's internal paths that the public API picks only for large
// inputs (tf32 + re-rank, host-blocked exact search, IVF), ties beyond the
// selection's capacity, the allocators and staged uploads, the device-side
// t-SNE affinities, and the error reporting. Built only with CUDA.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/context.cuh"
#include "gpu_test_util.hpp"
#include "knn/knn_internal.cuh"
#include "plan/memory_plan.hpp"
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
    detail::IvfStats st;
    const KnnGraph a = detail::knn_ivf_device(*ctx, b.x, 15, m, 5, o, nullptr, &st);
    const KnnGraph again = detail::knn_ivf_device(*ctx, b.x, 15, m, 5, o, nullptr);
    EXPECT_EQ(a.indices, again.indices);
    const KnnGraph exact = detail::knn_exact_device(*ctx, b.x, 15, m, {}, nullptr);
    EXPECT_GE(knn_recall(a, exact), 0.95) << to_string(m);
    // nprobe came from the measured recall of the calibration sample.
    EXPECT_GE(st.sample_recall, o.target_recall) << to_string(m) << " nprobe " << st.nprobe;
    const std::vector<int> ladder = plan::ivf_nprobe_ladder(st.nlist);
    EXPECT_NE(std::find(ladder.begin(), ladder.end(), st.nprobe), ladder.end()) << st.nprobe;
  }
}

TEST(GpuKernels, IvfWithEveryListIsExact) {
  PRISM_REQUIRE_CUDA();
  // nprobe = nlist: every point is a candidate; the fp32 re-rank makes the
  // result exact up to ties. Small batches exercise the batched search.
  const test::Blobs b = test::make_blobs(20000, 24, 30, 12, 3.0f);
  auto ctx = Context::shared();
  detail::IvfOptions o;
  o.nlist = 64;
  o.nprobe = 64;
  o.max_batch_rows = 3000;
  for (Metric m : {Metric::euclidean, Metric::cosine}) {
    detail::IvfStats st;
    const KnnGraph ivf = detail::knn_ivf_device(*ctx, b.x, 15, m, 2, o, nullptr, &st);
    EXPECT_EQ(st.batches, 7);
    EXPECT_EQ(st.nprobe, 64);
    EXPECT_EQ(test::knn_mismatched_rows(ivf, knn_exact_cpu(b.x, 15, m)), 0) << to_string(m);
  }
}

TEST(GpuKernels, MoreTiesThanThePoolHolds) {
  PRISM_REQUIRE_CUDA();
  // 5000 copies of one row (more equal distances in a tile than the
  // selection's 4096 slots) among 3000 random rows: every copy's neighbours
  // are other copies at distance 0, whichever are chosen, never itself or
  // twice; the choice does not depend on timing.
  Matrix x = test::random_matrix(8000, 48, 41);
  for (int64_t i = 1; i < 5000; ++i) std::copy(x.row(0), x.row(0) + 48, x.row(i));
  for (auto precision : {ExactOptions::Precision::fp32, ExactOptions::Precision::tf32}) {
    ExactOptions o;
    o.precision = precision;
    const KnnGraph g = exact_with(x, 15, Metric::euclidean, o);
    const KnnGraph again = exact_with(x, 15, Metric::euclidean, o);
    EXPECT_EQ(g.indices, again.indices);
    EXPECT_EQ(test::knn_invalid_rows(g, x), 0);
    for (int64_t i = 0; i < 5000; ++i)
      for (int j = 0; j < 15; ++j) {
        ASSERT_EQ(g.dists(i)[j], 0.f) << "row " << i;
        ASSERT_LT(g.neighbors(i)[j], 5000) << "row " << i;
      }
    EXPECT_EQ(test::knn_mismatched_rows(g, knn_exact_cpu(x, 15, Metric::euclidean)), 0);
  }
}

TEST(GpuKernels, K1000WithTf32AndRerank) {
  PRISM_REQUIRE_CUDA();
  const Matrix x = test::random_matrix(5000, 32, 43);
  ExactOptions o;
  o.precision = ExactOptions::Precision::tf32;
  const KnnGraph gpu = exact_with(x, 1000, Metric::euclidean, o);
  EXPECT_EQ(test::knn_mismatched_rows(gpu, knn_exact_cpu(x, 1000, Metric::euclidean)), 0);
  EXPECT_EQ(test::knn_invalid_rows(gpu, x), 0);
}

TEST(GpuKernels, PlainAllocatorGivesTheSameGraph) {
  PRISM_REQUIRE_CUDA();
  // What a GPU without memory pools gets (cudaMalloc / cudaFree).
  Context plain(0, Allocator::plain);
  EXPECT_FALSE(plain.uses_pool());
  const Matrix x = test::random_matrix(7000, 40, 44);
  const KnnGraph a = detail::knn_exact_device(plain, x, 10, Metric::euclidean, {}, nullptr);
  const KnnGraph b = exact_with(x, 10, Metric::euclidean, {});
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(a.distances, b.distances);
  EXPECT_EQ(plain.live_bytes(), 0);
  int pools = 0;
  PRISM_CUDA_TRY(cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, 0));
  EXPECT_EQ(Context::shared()->uses_pool(), pools != 0);
}

TEST(GpuKernels, StagedUploadsAreExact) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  // Strided rows (a view of the first 700 of 711 columns) through two pinned
  // chunks, and one row longer than a chunk.
  const int64_t rows = 20000;
  const Matrix wide = test::random_matrix(rows, 711, 45);
  const ConstView v(wide.data(), rows, 700, 711);
  DeviceBuffer<float> d(*ctx, rows * 700, "test rows");
  upload_rows(*ctx, v, 0, rows, d.data());
  std::vector<float> back(rows * 700);
  d.download(back.data(), rows * 700);
  ctx->sync();
  for (int64_t i = 0; i < rows; ++i)
    ASSERT_TRUE(std::equal(v.row(i), v.row(i) + 700, back.begin() + i * 700)) << "row " << i;
  std::vector<float> big(9 << 20);
  for (size_t t = 0; t < big.size(); ++t) big[t] = static_cast<float>(t % 9973);
  DeviceBuffer<float> db(*ctx, static_cast<int64_t>(big.size()), "test row");
  db.upload(big.data(), static_cast<int64_t>(big.size()));
  std::vector<float> big_back(big.size());
  db.download(big_back.data(), static_cast<int64_t>(big.size()));
  ctx->sync();
  EXPECT_EQ(big, big_back);
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
    if (ctx->uses_pool()) EXPECT_NE(what.find("memory pool holds"), std::string::npos) << what;
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
