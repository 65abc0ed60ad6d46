// -DPRISM_CUDA_SYNC_DEBUG=ON: the definition reaches the tests (it is PUBLIC
// on prism::kernels), and a faulting kernel is reported at its own launch.
// Its own executable: the fault leaves the CUDA context unusable, so no
// other test may share the process. Built only with CUDA.
#include <gtest/gtest.h>

#include <string>

#include "core/context.cuh"
#include "gpu_test_util.hpp"

namespace prism::cuda {
namespace {

// Runs without a device: both sides are compile-time facts.
TEST(GpuSyncDebug, LibraryAndTestsAgree) {
  EXPECT_EQ(sync_debug_build(), detail::kSyncDebug)
      << "PRISM_CUDA_SYNC_DEBUG must be defined for every translation unit or none";
}

__global__ void faulting_kernel(int* p) { p[threadIdx.x] = 1; }

TEST(GpuSyncDebug, FaultIsReportedAtItsLaunch) {
  PRISM_REQUIRE_CUDA();
  if (!detail::kSyncDebug) GTEST_SKIP() << "a sync-debug build only (-DPRISM_CUDA_SYNC_DEBUG=ON)";
  auto ctx = Context::shared();
  int* bad = reinterpret_cast<int*>(uintptr_t{16});  // an address no allocation has
  try {
    faulting_kernel<<<1, 32, 0, ctx->stream()>>>(bad);
    PRISM_CUDA_LAUNCH_CHECK(ctx->stream());
    FAIL() << "the faulting launch was not reported";
  } catch (const RuntimeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("sync-debug"), std::string::npos) << what;
    EXPECT_NE(what.find("test_gpu_sync_debug.cu"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace prism::cuda
