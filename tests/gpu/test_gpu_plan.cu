// The launchers allocate what their memory plans (kernels/plan) say, so the
// host-only bounds of tests/unit/test_cuda_memory_plan.cpp are the real
// peaks: the Context's high-water mark during a call against the plan's
// peak, and CUB's / cuSOLVER's scratch for the planned 10M-point shapes
// against the plan's allowances. Built only with CUDA.
#include <gtest/gtest.h>

#include <algorithm>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_scan.cuh>
#include <cub/device/device_segmented_sort.cuh>
#include <cuda/std/functional>

#include "core/context.cuh"
#include "gpu_test_util.hpp"
#include "knn/knn_internal.cuh"
#include "pca/pca_internal.cuh"
#include "plan/memory_plan.hpp"
#include "prism/tsne.hpp"
#include "prism/umap.hpp"
#include "test_util.hpp"
#include "tsne/tsne_internal.cuh"
#include "umap/umap_internal.cuh"

namespace prism::cuda {
namespace {

// Device bytes the call allocated at its peak, beyond what was live before.
template <class F>
int64_t measured_peak(Context& ctx, F&& call) {
  ctx.sync();
  const int64_t base = ctx.live_bytes();
  ctx.reset_peak_bytes();
  call();
  ctx.sync();
  EXPECT_EQ(ctx.live_bytes(), base) << "the call left device memory allocated";
  return ctx.peak_bytes() - base;
}

TEST(GpuMemoryPlan, ExactAllocatesExactlyItsPlan) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  const Matrix x = test::random_matrix(20000, 64, 71);
  for (size_t budget : {size_t{1} << 30, size_t{3} << 20}) {  // resident, then host blocks
    detail::ExactOptions o;
    o.memory_budget = budget;
    const plan::ExactKnnPlan p = detail::exact_plan(*ctx, 20000, 64, 15, o);
    const int64_t peak = measured_peak(
        *ctx, [&] { detail::knn_exact_device(*ctx, x, 15, Metric::euclidean, o, nullptr); });
    EXPECT_EQ(peak, p.memory.peak_bytes()) << p.memory.describe();
    EXPECT_LE(peak, static_cast<int64_t>(budget));
  }
}

TEST(GpuMemoryPlan, IvfStaysWithinItsPlan) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  const test::Blobs b = test::make_blobs(60000, 32, 40, 72, 4.0f);
  detail::IvfOptions o;
  o.memory_budget = size_t{2} << 30;
  o.max_batch_rows = 8000;
  detail::IvfStats st;
  const int64_t peak = measured_peak(*ctx, [&] {
    detail::knn_ivf_device(*ctx, b.x, 15, Metric::euclidean, 3, o, nullptr, &st);
  });
  const int64_t planned = std::max(st.plan.memory.peak_bytes(), st.search_plan.memory.peak_bytes());
  EXPECT_LE(peak, planned) << st.plan.memory.describe() << "; " << st.search_plan.memory.describe();
  EXPECT_GE(peak, planned / 2) << "the plan is far above what is used";
  EXPECT_LE(planned, static_cast<int64_t>(o.memory_budget));
  EXPECT_EQ(st.batches, 8);  // 60000 queries, at most 8000 per batch
}

TEST(GpuMemoryPlan, TsneAffinitiesStayWithinTheirPlan) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  const test::Blobs b = test::make_blobs(20000, 16, 10, 73, 3.0f);
  const KnnGraph g = knn_exact_cpu(b.x, 90, Metric::euclidean);
  const plan::TsneAffinityPlan p = plan::plan_tsne_affinities(g.n, g.k);
  int64_t nnz = 0;
  const int64_t peak = measured_peak(*ctx, [&] {
    const detail::DeviceP dp = detail::tsne_affinities_device(*ctx, g, 30.0);
    nnz = dp.nnz;
  });
  EXPECT_LE(peak, p.memory.peak_bytes()) << p.memory.describe();
  // The plan's merge stage holds P at its largest (2 n k); the real one is smaller.
  EXPECT_LE(nnz, p.max_nnz);
  EXPECT_GE(nnz, g.n * g.k);
}

TEST(GpuMemoryPlan, UmapStagesMatchTheirPlan) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  const test::Blobs b = test::make_blobs(5000, 16, 6, 74, 3.0f);
  UmapParams params;
  const FuzzyGraph g = umap_fuzzy_graph(knn_exact_cpu(b.x, 15, Metric::euclidean), params);
  const int64_t edges = g.row_ptr[g.n];
  const plan::UmapMemoryPlan p = plan::plan_umap(g.n, edges, 2, true);
  std::vector<float> y;
  const int64_t spectral = measured_peak(*ctx, [&] { detail::spectral_init_device(*ctx, g, 2, 1, 300, y); });
  EXPECT_EQ(spectral, p.memory.stages[0].bytes()) << p.memory.describe();
  detail::SgdState s;
  s.n = g.n;
  s.edges = edges;
  s.dims = 2;
  s.deterministic = true;
  const int64_t sgd = measured_peak(*ctx, [&] {
    detail::allocate_sgd_state(*ctx, s);
    s = detail::SgdState{};  // frees
  });
  EXPECT_EQ(sgd + g.n * 2 * 4, p.memory.stages[1].bytes()) << "the layout (n x dims floats) is the caller's";
}

TEST(GpuMemoryPlan, PcaStaysWithinItsPlan) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  const Matrix x = test::random_matrix(30000, 300, 75);
  PcaParams params;
  params.dims = 10;
  for (int64_t chunk : {int64_t{0}, int64_t{4096}}) {
    const plan::PcaPlan p = plan::plan_pca(30000, 300, chunk);
    detail::PcaOptions o;
    o.chunk_rows = chunk;
    const int64_t peak =
        measured_peak(*ctx, [&] { detail::fit_pca_device(*ctx, x, params, o, nullptr); });
    EXPECT_LE(peak, p.memory.peak_bytes()) << p.memory.describe();
  }
}

TEST(GpuMemoryPlan, LibraryScratchWithinTheAllowancesAt10M) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  const cudaStream_t s = ctx->stream();
  // t-SNE P at 10M x 90 (size queries only: nothing is allocated).
  const plan::TsneAffinityPlan tp = plan::plan_tsne_affinities(10000000, 90);
  const int64_t nk = tp.edges, n = tp.n;
  size_t t = 0;
  {
    cub::DoubleBuffer<uint32_t> k(nullptr, nullptr);
    cub::DoubleBuffer<int32_t> v(nullptr, nullptr);
    PRISM_CUDA_TRY(cub::DeviceRadixSort::SortPairs(nullptr, t, k, v, nk, 0, tp.id_bits, s));
    EXPECT_LE(static_cast<int64_t>(t), plan::radix_sort_scratch_bytes(nk, 4, 4, true));
  }
  {
    cub::DoubleBuffer<int32_t> k(nullptr, nullptr);
    cub::DoubleBuffer<float> v(nullptr, nullptr);
    const int64_t* offsets = nullptr;
    PRISM_CUDA_TRY(cub::DeviceSegmentedSort::StableSortPairs(nullptr, t, k, v, nk, n, offsets, offsets, s));
    EXPECT_LE(static_cast<int64_t>(t), plan::segmented_sort_scratch_bytes(nk, n));
  }
  {
    int64_t* p = nullptr;
    PRISM_CUDA_TRY(cub::DeviceScan::ExclusiveSum(nullptr, t, p, p, n + 1, s));
    EXPECT_LE(static_cast<int64_t>(t), plan::scan_scratch_bytes(std::max(n + 1, nk)));
    const float* in = nullptr;
    double* out = nullptr;
    PRISM_CUDA_TRY(cub::DeviceReduce::Reduce(nullptr, t, in, out, nk, ::cuda::std::plus<double>{}, 0.0, s));
    EXPECT_LE(static_cast<int64_t>(t), plan::scan_scratch_bytes(std::max(n + 1, nk)));
  }
  // IVF at 10M x 128: the k-means, list and pair sorts (sort_pairs: no DoubleBuffer).
  const plan::IvfPlan ip = plan::plan_ivf(10000000, 128, 15, 0, 0, true, true, int64_t{64} << 30);
  for (int64_t count : {ip.sample_rows, ip.n, ip.batch_rows * ip.nprobe}) {
    const int32_t* kin = nullptr;
    int32_t* kout = nullptr;
    PRISM_CUDA_TRY(cub::DeviceRadixSort::SortPairs(nullptr, t, kin, kout, kin, kout, count, 0, 12, s));
    EXPECT_LE(static_cast<int64_t>(t), plan::radix_sort_scratch_bytes(count, 4, 4, false)) << count;
  }
}

TEST(GpuMemoryPlan, SyevdWorkspaceWithinTheAllowance) {
  PRISM_REQUIRE_CUDA();
  auto ctx = Context::shared();
  for (int d : {50, 784, 2048}) {
    DeviceBuffer<double> a(*ctx, int64_t{d} * d, "test matrix"), w(*ctx, d, "test eigenvalues");
    int lwork = 0;
    PRISM_CUSOLVER_TRY(cusolverDnDsyevd_bufferSize(ctx->cusolver(), CUSOLVER_EIG_MODE_VECTOR,
                                                   CUBLAS_FILL_MODE_LOWER, d, a.data(), d, w.data(),
                                                   &lwork));
    EXPECT_LE(lwork, plan::plan_pca(1000, d).syevd_work) << "d = " << d;
  }
}

}  // namespace
}  // namespace prism::cuda
