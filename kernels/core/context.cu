// The Context, CUDA error reporting and device discovery.
#include <algorithm>
#include <cstdio>
#include <tuple>

#include "core/context.cuh"
#include "core/staging.hpp"
#include "plan/memory_plan.hpp"
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

void debug_sync(const char* expr, const char* file, int line) {
  const cudaError_t e = cudaDeviceSynchronize();
  if (e != cudaSuccess)
    throw RuntimeError(cat("CUDA error ", cudaGetErrorName(e), " (", cudaGetErrorString(e),
                           ") found by the sync-debug wait after '", expr, "' at ", file, ":", line));
}

}  // namespace detail

bool sync_debug_build() { return detail::kSyncDebug; }

std::string format_bytes(double bytes) {
  char buf[64];
  if (bytes >= 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024));
  return buf;
}

Context::Context(int device, Allocator allocator) : device_(device) {
  PRISM_EXPECTS(device_available(), "no usable CUDA device: ", device_description());
  PRISM_CUDA_TRY(cudaSetDevice(device_));
  PRISM_CUDA_TRY(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device_));
  // Virtualised GPUs (some vGPU profiles) have no memory pools: plain
  // cudaMalloc/cudaFree then, with the same interface.
  int pools = 0;
  PRISM_CUDA_TRY(cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device_));
  PRISM_EXPECTS(allocator != Allocator::pool || pools, "the CUDA device has no memory pools");
  if (allocator != Allocator::plain && pools) {
    // Keep freed blocks in the pool instead of returning them to the driver:
    // stream-ordered reuse makes per-call workspaces nearly free.
    PRISM_CUDA_TRY(cudaDeviceGetDefaultMemPool(&pool_, device_));
    uint64_t threshold = UINT64_MAX;
    PRISM_CUDA_TRY(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &threshold));
  }
  PRISM_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  PRISM_CUDA_TRY(cudaStreamCreateWithFlags(&aux_stream_, cudaStreamNonBlocking));
  PRISM_CUDA_TRY(cudaEventCreateWithFlags(&fork_event_, cudaEventDisableTiming));
  PRISM_CUDA_TRY(cudaEventCreateWithFlags(&join_event_, cudaEventDisableTiming));
  PRISM_CUBLAS_TRY(cublasCreate(&cublas_));
  PRISM_CUBLAS_TRY(cublasSetStream(cublas_, stream_));
  PRISM_CUSOLVER_TRY(cusolverDnCreate(&cusolver_));
  PRISM_CUSOLVER_TRY(cusolverDnSetStream(cusolver_, stream_));
  staging_ = std::make_unique<HostStaging>();
}

Context::~Context() {
  // Destructors must not throw: errors here are ignored on purpose.
  if (stream_) cudaStreamSynchronize(stream_);
  if (aux_stream_) cudaStreamSynchronize(aux_stream_);
  deallocate(workspace_, workspace_bytes_);
  staging_.reset();
  if (cusolver_) cusolverDnDestroy(cusolver_);
  if (cublas_) cublasDestroy(cublas_);
  if (fork_event_) cudaEventDestroy(fork_event_);
  if (join_event_) cudaEventDestroy(join_event_);
  if (aux_stream_) cudaStreamDestroy(aux_stream_);
  if (stream_) cudaStreamDestroy(stream_);
}

std::shared_ptr<Context> Context::shared() {
  thread_local std::shared_ptr<Context> ctx;
  if (!ctx) ctx = std::make_shared<Context>(0);
  PRISM_CUDA_TRY(cudaSetDevice(ctx->device()));
  return ctx;
}

void Context::fork() {
  PRISM_CUDA_TRY(cudaEventRecord(fork_event_, stream_));
  PRISM_CUDA_TRY(cudaStreamWaitEvent(aux_stream_, fork_event_, 0));
}

void Context::join() {
  PRISM_CUDA_TRY(cudaEventRecord(join_event_, aux_stream_));
  PRISM_CUDA_TRY(cudaStreamWaitEvent(stream_, join_event_, 0));
}

AuxStreamScope::~AuxStreamScope() {
  // Must not throw; if the join cannot be queued, wait for the aux stream.
  try {
    ctx_.join();
  } catch (...) {
    cudaStreamSynchronize(ctx_.aux_stream());
  }
}

Event::Event() { PRISM_CUDA_TRY(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming)); }
Event::~Event() {
  if (e_) cudaEventDestroy(e_);
}
void Event::record(cudaStream_t s) {
  PRISM_CUDA_TRY(cudaEventRecord(e_, s));
  recorded_ = true;
}
void Event::wait_in(cudaStream_t s) const {
  if (recorded_) PRISM_CUDA_TRY(cudaStreamWaitEvent(s, e_, 0));
}
void Event::sync() const {
  if (recorded_) PRISM_CUDA_TRY(cudaEventSynchronize(e_));
}

std::pair<size_t, size_t> Context::memory_info() const {
  size_t free_b = 0, total_b = 0;
  PRISM_CUDA_TRY(cudaMemGetInfo(&free_b, &total_b));
  return {free_b, total_b};
}

MemoryState Context::memory_state() const {
  MemoryState m;
  std::tie(m.free, m.total) = memory_info();
  if (pool_) {
    uint64_t v = 0;
    PRISM_CUDA_TRY(cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrReservedMemCurrent, &v));
    m.pool_reserved = v;
    PRISM_CUDA_TRY(cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrUsedMemCurrent, &v));
    m.pool_used = v;
  }
  return m;
}

size_t Context::available_bytes() {
  sync();  // frees queued on the streams have happened
  const MemoryState m = memory_state();
  return m.free + (m.pool_reserved > m.pool_used ? m.pool_reserved - m.pool_used : 0);
}

void* Context::allocate(size_t bytes, const char* what) {
  auto try_once = [&](void** p) {
    const cudaError_t e = pool_ ? cudaMallocAsync(p, bytes, stream_) : cudaMalloc(p, bytes);
    if (e == cudaErrorMemoryAllocation) cudaGetLastError();  // not sticky: clear it
    return e;
  };
  void* p = nullptr;
  cudaError_t e = try_once(&p);
  if (e == cudaErrorMemoryAllocation) {
    // Frees still queued on other streams, and blocks the pool keeps but
    // cannot combine (its release threshold is UINT64_MAX), may be what is
    // missing: wait for the device, give the pool's unused memory back, retry.
    cudaDeviceSynchronize();
    if (pool_) cudaMemPoolTrimTo(pool_, 0);
    cudaGetLastError();
    e = try_once(&p);
  }
  if (e == cudaErrorMemoryAllocation) {
    MemoryState m;
    try {
      m = memory_state();
    } catch (const RuntimeError&) {  // the figures are a courtesy; the error is the OOM
    }
    throw RuntimeError(plan::out_of_memory_message(
        what, static_cast<int64_t>(bytes), static_cast<int64_t>(m.free),
        static_cast<int64_t>(m.total), pool_ != nullptr, static_cast<int64_t>(m.pool_reserved),
        static_cast<int64_t>(m.pool_used)));
  }
  PRISM_CUDA_TRY(e);
  live_bytes_ += static_cast<int64_t>(bytes);
  peak_bytes_ = std::max(peak_bytes_, live_bytes_);
  return p;
}

void Context::deallocate(void* p, size_t bytes) noexcept {
  if (!p) return;
  live_bytes_ -= static_cast<int64_t>(bytes);
  if (pool_) {
    cudaFreeAsync(p, stream_);
    return;
  }
  // Plain memory is not stream-ordered: wait until both streams are done with it.
  cudaStreamSynchronize(aux_stream_);
  cudaStreamSynchronize(stream_);
  cudaFree(p);
}

void Context::upload(void* dst, const void* src, size_t bytes) {
  staging_->upload_2d(dst, bytes, src, bytes, bytes, 1, stream_);
}

void Context::upload_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch,
                        size_t width, size_t rows) {
  staging_->upload_2d(dst, dst_pitch, src, src_pitch, width, rows, stream_);
}

void* Context::workspace(size_t bytes, const char* what) {
  if (bytes > workspace_bytes_) {
    deallocate(workspace_, workspace_bytes_);  // stream-ordered: earlier users are done first
    workspace_ = nullptr;
    workspace_bytes_ = 0;
    workspace_ = allocate(std::max(bytes, size_t{1} << 16), what);
    workspace_bytes_ = std::max(bytes, size_t{1} << 16);
  }
  return workspace_;
}

void Context::sync() const {
  PRISM_CUDA_TRY(cudaStreamSynchronize(aux_stream_));
  PRISM_CUDA_TRY(cudaStreamSynchronize(stream_));
}

void upload_rows(Context& ctx, ConstView x, int64_t row0, int64_t rows, float* dst) {
  if (rows <= 0) return;
  const size_t width = static_cast<size_t>(x.cols) * sizeof(float);
  ctx.upload_2d(dst, width, x.row(row0), static_cast<size_t>(x.stride) * sizeof(float), width,
                static_cast<size_t>(rows));
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
