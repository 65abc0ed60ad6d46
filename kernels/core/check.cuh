#pragma once
// Checked CUDA / cuBLAS / cuSOLVER calls. Every failure throws prism::RuntimeError
// naming the failed expression and the call site (the caller's file and line,
// not this header's), as RAFT_CUDA_TRY does.
//
// -DPRISM_CUDA_SYNC_DEBUG=ON (a PUBLIC definition of prism::kernels, so every
// translation unit agrees) makes each of these macros also wait for the whole
// device after the call and check for asynchronous errors: a kernel fault is
// then reported at the launch or library call that caused it instead of at
// some later call. Every kernel launch is followed by PRISM_CUDA_LAUNCH_CHECK
// and every CUB / cuBLAS / cuSOLVER / copy call is wrapped in one of the TRY
// macros; tests/unit/test_cuda_launch_checks.cpp enforces that on the sources.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include "prism/error.hpp"

namespace prism::cuda::detail {

#ifdef PRISM_CUDA_SYNC_DEBUG
inline constexpr bool kSyncDebug = true;
#else
inline constexpr bool kSyncDebug = false;
#endif

[[noreturn]] void throw_cuda_error(cudaError_t e, const char* expr, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t s, const char* expr, const char* file, int line);
[[noreturn]] void throw_cusolver_error(cusolverStatus_t s, const char* expr, const char* file,
                                       int line);
/// Sync-debug builds: cudaDeviceSynchronize after `expr`, throwing with its
/// call site when any work queued so far failed.
void debug_sync(const char* expr, const char* file, int line);

}  // namespace prism::cuda::detail

#define PRISM_CUDA_DEBUG_SYNC_(expr)                                          \
  do {                                                                        \
    if constexpr (::prism::cuda::detail::kSyncDebug)                          \
      ::prism::cuda::detail::debug_sync(expr, __FILE__, __LINE__);            \
  } while (0)

#define PRISM_CUDA_TRY(call)                                                     \
  do {                                                                           \
    const cudaError_t prism_e_ = (call);                                         \
    if (prism_e_ != cudaSuccess)                                                 \
      ::prism::cuda::detail::throw_cuda_error(prism_e_, #call, __FILE__, __LINE__); \
    PRISM_CUDA_DEBUG_SYNC_(#call);                                               \
  } while (0)

#define PRISM_CUBLAS_TRY(call)                                                     \
  do {                                                                             \
    const cublasStatus_t prism_s_ = (call);                                        \
    if (prism_s_ != CUBLAS_STATUS_SUCCESS)                                         \
      ::prism::cuda::detail::throw_cublas_error(prism_s_, #call, __FILE__, __LINE__); \
    PRISM_CUDA_DEBUG_SYNC_(#call);                                                 \
  } while (0)

#define PRISM_CUSOLVER_TRY(call)                                                     \
  do {                                                                               \
    const cusolverStatus_t prism_s_ = (call);                                        \
    if (prism_s_ != CUSOLVER_STATUS_SUCCESS)                                         \
      ::prism::cuda::detail::throw_cusolver_error(prism_s_, #call, __FILE__, __LINE__); \
    PRISM_CUDA_DEBUG_SYNC_(#call);                                                   \
  } while (0)

// After every kernel launch: catches bad launch configurations at once (and,
// in sync-debug builds, faults inside the kernel; `stream` names the stream
// the kernel went to, for the reader: the debug wait covers the whole device).
#define PRISM_CUDA_LAUNCH_CHECK(stream)                                            \
  do {                                                                             \
    (void)(stream);                                                                \
    const cudaError_t prism_e_ = cudaGetLastError();                               \
    if (prism_e_ != cudaSuccess)                                                   \
      ::prism::cuda::detail::throw_cuda_error(prism_e_, "kernel launch", __FILE__, __LINE__); \
    PRISM_CUDA_DEBUG_SYNC_("kernel launch");                                       \
  } while (0)
