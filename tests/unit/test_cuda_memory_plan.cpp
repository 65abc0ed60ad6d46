// The CUDA backend's device-memory plans (kernels/plan): pure host functions,
// so these run without a GPU. The launchers allocate exactly what their plan
// lists (the gpu test GpuMemoryPlan.* checks the measured peak against it), so
// the bounds asserted here are the real peaks: the 10M-point jobs and exact
// kNN at 1M x 768 must fit 40 GB, half an 80 GB H100.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "plan/memory_plan.hpp"
#include "prism/error.hpp"
#include "prism/matrix.hpp"

namespace prism::cuda::plan {
namespace {

constexpr int64_t kGB = 1000LL * 1000 * 1000;
constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kTarget = 40 * kGB;
// What the launchers get on the cards the targets name: 80% of what is free.
constexpr int64_t kH100Budget = 64 * kGB;
constexpr int64_t kH200Budget = 112 * kGB;

int64_t stage_bytes(const MemoryPlan& m, const std::string& name) {
  for (const Stage& s : m.stages)
    if (s.name == name) return s.bytes();
  ADD_FAILURE() << "no stage '" << name << "'";
  return -1;
}

int64_t allocation_bytes(const Stage& s, const std::string& what) {
  int64_t b = 0;
  for (const Allocation& a : s.live)
    if (a.what == what) b += a.bytes;
  return b;
}

// ---- exact kNN ----------------------------------------------------------------

TEST(CudaMemoryPlan, Exact1Mx768FitsIn40GB) {
  for (int64_t budget : {kH100Budget, kH200Budget, kTarget}) {
    const ExactKnnPlan p = plan_exact_knn(1000000, 768, 15, GemmChoice::automatic, budget);
    EXPECT_LE(p.memory.peak_bytes(), kTarget) << p.memory.describe();
    // The fast path: everything resident, tf32 GEMM, a re-ranked pool of k + 32.
    EXPECT_TRUE(p.resident());
    EXPECT_TRUE(p.tf32);
    EXPECT_TRUE(p.refine);
    EXPECT_EQ(p.pool_size, 15 + 32);
    // The plan counts what the launcher holds: the rows, two tiles, the lists.
    const Stage& s = *p.memory.peak_stage();
    EXPECT_EQ(allocation_bytes(s, "kNN query rows"), 1000000LL * 768 * 4);
    EXPECT_EQ(allocation_bytes(s, "kNN distance tiles"), 2 * kTileRows * kTileCols * 4);
    EXPECT_EQ(allocation_bytes(s, "kNN candidate lists"), 1000000LL * 47 * 8);
    EXPECT_GT(p.memory.peak_bytes(), 1000000LL * 768 * 4);
  }
}

TEST(CudaMemoryPlan, ExactSmallWorkStaysFp32) {
  const ExactKnnPlan p = plan_exact_knn(20000, 33, 30, GemmChoice::automatic, kH100Budget);
  EXPECT_FALSE(p.tf32);  // 20000^2 * 33 = 1.3e10 < kTf32Work
  EXPECT_EQ(p.pool_size, 30);
  EXPECT_EQ(p.tile_rows, std::min<int64_t>(20000, kTileRows));
  EXPECT_EQ(p.tile_cols, std::min<int64_t>(20000, kTileCols));
  const ExactKnnPlan forced = plan_exact_knn(20000, 33, 30, GemmChoice::tf32, kH100Budget);
  EXPECT_TRUE(forced.tf32);
  EXPECT_EQ(forced.pool_size, 62);
}

TEST(CudaMemoryPlan, ExactK1000KeepsTheFullPool) {
  const ExactKnnPlan p = plan_exact_knn(100000, 64, 1000, GemmChoice::tf32, kH100Budget);
  EXPECT_EQ(p.pool_size, 2000);  // k + max(k, 32)
  EXPECT_EQ(plan_exact_knn(100000, 64, 1024, GemmChoice::tf32, kH100Budget).pool_size, kMaxPool);
  EXPECT_EQ(tf32_pool(1000, 1500), 1499);  // never more than the other points
  EXPECT_EQ(tf32_pool(5, 1000), 37);
}

TEST(CudaMemoryPlan, ExactShrinksToASmallBudget) {
  const int64_t budget = 256LL << 20;
  const ExactKnnPlan p = plan_exact_knn(1000000, 768, 15, GemmChoice::automatic, budget);
  EXPECT_LE(p.memory.peak_bytes(), budget) << p.memory.describe();
  EXPECT_GT(p.blocks, 1);
  EXPECT_FALSE(p.resident());
  EXPECT_FALSE(p.tf32);   // tf32 needs the resident rows for its re-rank
  EXPECT_FALSE(p.refine);
  EXPECT_EQ(p.blocks, (1000000 + p.block_rows - 1) / p.block_rows);
  EXPECT_GT(allocation_bytes(*p.memory.peak_stage(), "kNN base rows"), 0);
}

TEST(CudaMemoryPlan, ExactBudgetTooSmallSaysSo) {
  try {
    plan_exact_knn(1000000, 768, 15, GemmChoice::automatic, 1 << 20);
    FAIL() << "a 1 MiB budget was accepted";
  } catch (const RuntimeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("out of memory"), std::string::npos) << what;
    EXPECT_NE(what.find("1000000 x 768"), std::string::npos) << what;
  }
}

// ---- IVF ------------------------------------------------------------------------

TEST(CudaMemoryPlan, Ivf10Mx128FitsIn40GB) {
  for (int64_t budget : {kH100Budget, kH200Budget}) {
    const IvfPlan p = plan_ivf(10000000, 128, 15, 0, 0, true, true, budget);
    EXPECT_LE(p.memory.peak_bytes(), kTarget) << p.memory.describe();
    EXPECT_EQ(p.nlist, 3162);
    EXPECT_EQ(p.nprobe, ivf_nprobe_ladder(3162).back());
    // Batches bound the probe pairs: the old all-at-once design held
    // 10M x 197 probes x 24 bytes (47 GB) in pair arrays alone.
    EXPECT_LT(p.batch_rows, p.n);
    const int64_t pairs = checked_mul(p.batch_rows, p.nprobe);
    EXPECT_LE(pairs * 24, kIvfBatchBytes + kIvfBatchBytes / 4);
    EXPECT_GE(p.batch_rows, p.calibration_queries);
    EXPECT_EQ(p.calibration_queries, kIvfCalibrationQueries);
  }
}

TEST(CudaMemoryPlan, Ivf1Mx768FitsIn40GB) {
  const IvfPlan p = plan_ivf(1000000, 768, 15, 0, 0, true, true, kH100Budget);
  EXPECT_LE(p.memory.peak_bytes(), kTarget) << p.memory.describe();
  EXPECT_EQ(p.nlist, 1000);
  EXPECT_EQ(p.pool_size, 47);
}

TEST(CudaMemoryPlan, IvfFitsASmallBudgetOrSaysSo) {
  // Data + list-ordered copy: 10.24 GB; 12 GiB leaves little for the batches.
  const int64_t budget = 12 * kGiB;
  const IvfPlan p = plan_ivf(10000000, 128, 15, 0, 64, true, false, budget);
  EXPECT_LE(p.memory.peak_bytes(), budget) << p.memory.describe();
  EXPECT_EQ(p.nprobe, 64);
  EXPECT_EQ(p.calibration_queries, 0);
  EXPECT_LT(p.batch_rows, 10000000);
  EXPECT_THROW(plan_ivf(10000000, 128, 15, 0, 64, true, false, 8 * kGiB), RuntimeError);
}

TEST(CudaMemoryPlan, IvfBatchCapAndExplicitProbes) {
  const IvfPlan p = plan_ivf(30000, 32, 15, 0, 0, true, true, kH100Budget, 5000);
  EXPECT_EQ(p.batch_rows, 5000);
  const IvfPlan all = plan_ivf(30000, 32, 15, 0, 1000, true, false, kH100Budget);
  EXPECT_EQ(all.nprobe, all.nlist);  // nprobe = nlist: every list, exact up to ties
  EXPECT_EQ(all.batch_rows, 30000);
  EXPECT_THROW(plan_ivf(30000, 32, 15, 40000, 0, true, true, kH100Budget), InputError);
}

TEST(CudaMemoryPlan, NprobeLadder) {
  const std::vector<int> big = ivf_nprobe_ladder(3162);
  ASSERT_GE(big.size(), 3u);
  EXPECT_EQ(big.front(), 32);
  EXPECT_EQ(big[1], 48);
  EXPECT_EQ(big.back(), 3162 / 8);
  EXPECT_TRUE(std::is_sorted(big.begin(), big.end()));
  EXPECT_EQ(std::adjacent_find(big.begin(), big.end()), big.end());
  EXPECT_EQ(ivf_nprobe_ladder(100), (std::vector<int>{32, 48, 72, 100}));
  EXPECT_EQ(ivf_nprobe_ladder(10), (std::vector<int>{10}));
  EXPECT_EQ(ivf_nprobe_ladder(1000).back(), 256);
  EXPECT_EQ(ivf_nprobe_ladder(8192).back(), 1024);
  EXPECT_EQ(ivf_nlist(1000000), 1000);
  EXPECT_EQ(ivf_nlist(1), 1);
  EXPECT_EQ(ivf_nlist(int64_t{1} << 40), 8192);
}

// ---- t-SNE P ------------------------------------------------------------------------

TEST(CudaMemoryPlan, TsneP10Mx90FitsIn40GB) {
  const TsneAffinityPlan p = plan_tsne_affinities(10000000, 90);
  EXPECT_LE(p.memory.peak_bytes(), kTarget) << p.memory.describe();
  EXPECT_EQ(p.edges, 900000000);
  EXPECT_EQ(p.max_nnz, 1800000000);
  EXPECT_EQ(p.id_bits, 24);  // 10M < 2^24: three 8-bit radix passes
  // The peak is the merge, with P sized for no mutual edge at all.
  EXPECT_EQ(p.memory.peak_stage()->name, "merge");
  EXPECT_EQ(allocation_bytes(*p.memory.peak_stage(), "t-SNE P columns"), 1800000000LL * 4);
  // The distances are gone once P_j|i exists.
  for (const Stage& s : p.memory.stages)
    EXPECT_EQ(allocation_bytes(s, "t-SNE kNN distances") > 0, s.name == "calibrate") << s.name;
  EXPECT_LT(stage_bytes(p.memory, "calibrate"), p.memory.peak_bytes());
}

// ---- UMAP ---------------------------------------------------------------------------

TEST(CudaMemoryPlan, Umap10Mx128FitsIn40GB) {
  const int64_t n = 10000000;
  // The kNN graph first (IVF, k = 15), then the optimisation: never together.
  const IvfPlan knn = plan_ivf(n, 128, 15, 0, 0, true, true, kH100Budget);
  EXPECT_LE(knn.memory.peak_bytes(), kTarget) << knn.memory.describe();
  EXPECT_EQ(umap_max_edges(n, 15), 300000000);
  for (int dims : {2, 3})
    for (bool deterministic : {false, true}) {
      const UmapMemoryPlan p = plan_umap(n, umap_max_edges(n, 15), dims, deterministic);
      EXPECT_LE(p.memory.peak_bytes(), kTarget) << p.memory.describe();
      EXPECT_EQ(p.spectral_block, dims + 3);
      EXPECT_EQ(stage_bytes(p.memory, "sgd"),
                300000000LL * 24 + n * dims * 4 + (deterministic ? n * dims * 8 : 0));
    }
}

// ---- PCA ------------------------------------------------------------------------------

TEST(CudaMemoryPlan, PcaChunksKeepTheGridInLimits) {
  for (int64_t d : {1, 2, 50, 768, 4096}) {
    const PcaPlan p = plan_pca(100000000, d);
    EXPECT_LE(p.segments, kMaxGridY) << "d = " << d;
    EXPECT_GE(p.segments * p.segment_rows, p.chunk_rows) << "d = " << d;
    EXPECT_GE(p.segment_rows, kPcaSegmentRows);
    EXPECT_LE(p.chunk_rows * d * 8, kPcaChunkBytes) << "d = " << d;
  }
  // d = 1: 67M rows per chunk would need 65536 segments of 1024 rows.
  EXPECT_GT(plan_pca(100000000, 1).segment_rows, kPcaSegmentRows);
  const PcaPlan small = plan_pca(5000, 40, 777);
  EXPECT_EQ(small.chunk_rows, 777);
  EXPECT_EQ(small.segments, 1);
  EXPECT_LE(plan_pca(1000000, 768).memory.peak_bytes(), 2 * kGiB);
}

// ---- messages and bookkeeping -------------------------------------------------------------

TEST(CudaMemoryPlan, OutOfMemoryMessageCountsThePool) {
  const std::string m = out_of_memory_message("kNN distance tiles", 3 * kGiB, kGiB, 80 * kGiB, true,
                                              70 * kGiB, 2 * kGiB);
  EXPECT_NE(m.find("CUDA out of memory: kNN distance tiles needs 3.00 GiB"), std::string::npos) << m;
  EXPECT_NE(m.find("1.00 GiB free of 80.00 GiB"), std::string::npos) << m;
  EXPECT_NE(m.find("pool holds 70.00 GiB (2.00 GiB in use)"), std::string::npos) << m;
  const std::string plain = out_of_memory_message("x", kGiB, 0, 80 * kGiB, false, 0, 0);
  EXPECT_EQ(plain.find("pool"), std::string::npos) << plain;
}

TEST(CudaMemoryPlan, PeakIsTheLargestStage) {
  MemoryPlan m;
  m.stages.push_back({"a", {{"x", 10}, {"y", 5}}});
  m.stages.push_back({"b", {{"x", 10}, {"z", 30}}});
  m.stages.push_back({"c", {{"w", 1}}});
  EXPECT_EQ(m.peak_bytes(), 40);
  EXPECT_EQ(m.peak_stage()->name, "b");
  EXPECT_NE(m.describe().find("at 'b'"), std::string::npos) << m.describe();
  EXPECT_EQ(MemoryPlan{}.peak_bytes(), 0);
}

TEST(CudaMemoryPlan, ScratchAllowancesGrowWithTheInput) {
  EXPECT_GT(radix_sort_scratch_bytes(1000000, 4, 4, false), radix_sort_scratch_bytes(1000000, 4, 4, true));
  EXPECT_GE(radix_sort_scratch_bytes(1000000, 4, 4, false), 8000000);
  EXPECT_LT(radix_sort_scratch_bytes(900000000, 4, 4, true), kGiB);
  EXPECT_GT(segmented_sort_scratch_bytes(900000000, 10000000), 160000000);
}

}  // namespace
}  // namespace prism::cuda::plan
