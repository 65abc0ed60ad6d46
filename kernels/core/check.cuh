#pragma once
// Checked CUDA / cuBLAS / cuSOLVER calls. Every failure throws prism::RuntimeError
// naming the failed expression and the call site (the caller's file and line,
// not this header's), as RAFT_CUDA_TRY does.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include "prism/error.hpp"

namespace prism::cuda::detail {

[[noreturn]] void throw_cuda_error(cudaError_t e, const char* expr, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t s, const char* expr, const char* file, int line);
[[noreturn]] void throw_cusolver_error(cusolverStatus_t s, const char* expr, const char* file,
                                       int line);

}  // namespace prism::cuda::detail

#define PRISM_CUDA_TRY(call)                                                     \
  do {                                                                           \
    const cudaError_t prism_e_ = (call);                                         \
    if (prism_e_ != cudaSuccess)                                                 \
      ::prism::cuda::detail::throw_cuda_error(prism_e_, #call, __FILE__, __LINE__); \
  } while (0)

#define PRISM_CUBLAS_TRY(call)                                                     \
  do {                                                                             \
    const cublasStatus_t prism_s_ = (call);                                        \
    if (prism_s_ != CUBLAS_STATUS_SUCCESS)                                         \
      ::prism::cuda::detail::throw_cublas_error(prism_s_, #call, __FILE__, __LINE__); \
  } while (0)

#define PRISM_CUSOLVER_TRY(call)                                                     \
  do {                                                                               \
    const cusolverStatus_t prism_s_ = (call);                                        \
    if (prism_s_ != CUSOLVER_STATUS_SUCCESS)                                         \
      ::prism::cuda::detail::throw_cusolver_error(prism_s_, #call, __FILE__, __LINE__); \
  } while (0)

// After every kernel launch: catches bad launch configurations at once; with
// -DPRISM_CUDA_SYNC_DEBUG=ON also waits for the kernel so that a fault is
// reported at the launch that caused it instead of at some later call.
#ifdef PRISM_CUDA_SYNC_DEBUG
#define PRISM_CUDA_LAUNCH_CHECK(stream)              \
  do {                                               \
    PRISM_CUDA_TRY(cudaGetLastError());              \
    PRISM_CUDA_TRY(cudaStreamSynchronize(stream));   \
  } while (0)
#else
#define PRISM_CUDA_LAUNCH_CHECK(stream) PRISM_CUDA_TRY(cudaGetLastError())
#endif
