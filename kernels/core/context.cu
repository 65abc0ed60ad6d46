// The Context, CUDA error reporting and device discovery.
#include <cstdio>
#include <mutex>

#include "core/context.cuh"
#include "prism/cuda/api.hpp"

namespace prism::cuda {
namespace detail {

void throw_cuda_error(cudaError_t e, const char* expr, const char* file, int line) {
  throw RuntimeError(cat("CUDA error ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ") in '",
                         expr, "' at ", file, ":", line));
}

void throw_cublas_error(cublasStatus_t s, const char* expr, const char* file, int line) {
  throw RuntimeError(
      cat("cuBLAS error ", cublasGetStatusName(s), " in '", expr, "' at ", file, ":", line));
}

void throw_cusolver_error(cusolverStatus_t s, const char* expr, const char* file, int line) {
  throw RuntimeError(cat("cuSOLVER error ", static_cast<int>(s), " in '", expr, "' at ", file, ":",
                         line));
}

}  // namespace detail

std::string format_bytes(double bytes) {
  char buf[64];
  if (bytes >= 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024));
  return buf;
}

Context::Context(int device) : device_(device) {
  PRISM_EXPECTS(device_available(), "no usable CUDA device: ", device_description());
  PRISM_CUDA_TRY(cudaSetDevice(device_));
  PRISM_CUDA_TRY(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device_));
  // Keep freed blocks in the pool instead of returning them to the driver:
  // stream-ordered reuse makes per-call workspaces nearly free.
  cudaMemPool_t pool;
  PRISM_CUDA_TRY(cudaDeviceGetDefaultMemPool(&pool, device_));
  uint64_t threshold = UINT64_MAX;
  PRISM_CUDA_TRY(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  PRISM_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  PRISM_CUBLAS_TRY(cublasCreate(&cublas_));
  PRISM_CUBLAS_TRY(cublasSetStream(cublas_, stream_));
  PRISM_CUSOLVER_TRY(cusolverDnCreate(&cusolver_));
  PRISM_CUSOLVER_TRY(cusolverDnSetStream(cusolver_, stream_));
}

Context::~Context() {
  // Destructors must not throw: errors here are ignored on purpose.
  if (stream_) cudaStreamSynchronize(stream_);
  if (cusolver_) cusolverDnDestroy(cusolver_);
  if (cublas_) cublasDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
}

std::shared_ptr<Context> Context::shared() {
  thread_local std::shared_ptr<Context> ctx;
  if (!ctx) ctx = std::make_shared<Context>(0);
  PRISM_CUDA_TRY(cudaSetDevice(ctx->device()));
  return ctx;
}

std::pair<size_t, size_t> Context::memory_info() const {
  size_t free_b = 0, total_b = 0;
  PRISM_CUDA_TRY(cudaMemGetInfo(&free_b, &total_b));
  return {free_b, total_b};
}

void* Context::allocate(size_t bytes, const char* what) {
  void* p = nullptr;
  const cudaError_t e = cudaMallocAsync(&p, bytes, stream_);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it so later calls are unaffected
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    throw RuntimeError(cat("CUDA out of memory: ", what, " needs ", format_bytes(bytes), ", ",
                           format_bytes(free_b), " free of ", format_bytes(total_b),
                           " on the device; use fewer rows or --backend cpu"));
  }
  PRISM_CUDA_TRY(e);
  return p;
}

void Context::deallocate(void* p) noexcept { cudaFreeAsync(p, stream_); }

void Context::sync() const { PRISM_CUDA_TRY(cudaStreamSynchronize(stream_)); }

void upload_rows(Context& ctx, ConstView x, int64_t row0, int64_t rows, float* dst) {
  if (rows <= 0) return;
  const size_t width = static_cast<size_t>(x.cols) * sizeof(float);
  PRISM_CUDA_TRY(cudaMemcpy2DAsync(dst, width, x.row(row0), static_cast<size_t>(x.stride) * sizeof(float),
                                   width, static_cast<size_t>(rows), cudaMemcpyHostToDevice,
                                   ctx.stream()));
}

namespace {

__global__ void probe_kernel() {}

struct DeviceProbe {
  bool ok = false;
  std::string description;
};

// Probed once: without a driver (this machine, CI) cudaGetDeviceCount returns
// an error code, which becomes the reason string; nothing here may throw.
const DeviceProbe& probe() {
  static const DeviceProbe result = [] {
    DeviceProbe r;
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      cudaGetLastError();
      r.description = cat("no usable driver or device: ", cudaGetErrorName(e), " (",
                          cudaGetErrorString(e), ")");
      return r;
    }
    if (count == 0) {
      r.description = "no device (the driver reports none)";
      return r;
    }
    cudaDeviceProp prop{};
    const cudaError_t pe = cudaGetDeviceProperties(&prop, 0);
    if (pe != cudaSuccess) {
      cudaGetLastError();
      r.description = cat("CUDA device 0 unusable (", cudaGetErrorString(pe), ")");
      return r;
    }
    if (prop.major < 7) {
      r.description = cat(prop.name, " has compute capability ", prop.major, ".", prop.minor,
                          "; Prism's kernels need 7.0 or newer");
      return r;
    }
    // The binary holds code for PRISM_CUDA_ARCHITECTURES only: a device it
    // has no image for would fail at the first launch, so say so now.
    cudaFuncAttributes attr{};
    const cudaError_t ke = cudaFuncGetAttributes(&attr, probe_kernel);
    if (ke != cudaSuccess) {
      cudaGetLastError();
      r.description = cat(prop.name, " (sm_", prop.major, prop.minor, ") cannot run this build's kernels (",
                          cudaGetErrorName(ke), "); rebuild with -DPRISM_CUDA_ARCHITECTURES=",
                          prop.major, prop.minor);
      return r;
    }
    r.ok = true;
    char mem[32];
    std::snprintf(mem, sizeof mem, "%.1f GiB", prop.totalGlobalMem / (1024.0 * 1024 * 1024));
    r.description = cat(prop.name, " (", prop.multiProcessorCount, " SMs, ", mem, ", sm_",
                        prop.major, prop.minor, ")");
    return r;
  }();
  return result;
}

}  // namespace

bool device_available() { return probe().ok; }

std::string device_description() { return probe().description; }

}  // namespace prism::cuda
