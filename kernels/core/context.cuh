#pragma once
// The one handle every GPU entry point takes (RAFT's resources, FAISS's
// GpuResources): the device, a non-default stream, the cuBLAS and cuSOLVER
// handles bound to that stream, and a stream-ordered scratch allocator.
// One Context per host thread (Context::shared()); all work of a call runs in
// order on its stream, so kernels never race with each other.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "core/check.cuh"
#include "prism/matrix.hpp"

namespace prism::cuda {

class Context {
 public:
  explicit Context(int device = 0);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// This thread's context on device 0, created on first use (handles are
  /// expensive to create: hundreds of ms for cuBLAS's first one).
  static std::shared_ptr<Context> shared();

  int device() const { return device_; }
  int sm_count() const { return sm_count_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  cusolverDnHandle_t cusolver() const { return cusolver_; }

  /// Free and total device memory in bytes, now.
  std::pair<size_t, size_t> memory_info() const;
  /// Stream-ordered allocation from the device's pool; throws RuntimeError
  /// "CUDA out of memory: <what> needs X GiB, Y GiB free of Z GiB" on failure.
  void* allocate(size_t bytes, const char* what);
  void deallocate(void* p) noexcept;
  /// Waits for all work queued on the stream and reports any asynchronous error.
  void sync() const;

 private:
  int device_ = 0;
  int sm_count_ = 0;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cusolverDnHandle_t cusolver_ = nullptr;
};

/// Owning, typed, stream-ordered device array (freed on the owner's stream).
/// The Context must outlive it.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Context& ctx, int64_t count, const char* what) { reset(ctx, count, what); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept { swap(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      swap(o);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  /// Reallocates for `count` elements (contents are not kept).
  void reset(Context& ctx, int64_t count, const char* what) {
    release();
    ctx_ = &ctx;
    size_ = count;
    if (count > 0)
      data_ = static_cast<T*>(ctx.allocate(static_cast<size_t>(checked_mul(count, sizeof(T))), what));
  }
  /// Grows to at least `count` elements; a workspace reused across calls.
  void reserve(Context& ctx, int64_t count, const char* what) {
    if (count > size_ || ctx_ != &ctx) reset(ctx, count, what);
  }
  void release() noexcept {
    if (data_ && ctx_) ctx_->deallocate(data_);
    data_ = nullptr;
    size_ = 0;
  }
  T* data() const { return data_; }
  int64_t size() const { return size_; }
  size_t bytes() const { return static_cast<size_t>(size_) * sizeof(T); }

  /// Asynchronous copies on the owner's stream (host memory is pageable, so
  /// these return after the host side has been read).
  void upload(const T* host, int64_t count, int64_t offset = 0) {
    PRISM_CHECK(offset + count <= size_, "upload of ", count, " past a buffer of ", size_);
    if (count > 0)
      PRISM_CUDA_TRY(cudaMemcpyAsync(data_ + offset, host, count * sizeof(T),
                                     cudaMemcpyHostToDevice, ctx_->stream()));
  }
  void download(T* host, int64_t count, int64_t offset = 0) const {
    PRISM_CHECK(offset + count <= size_, "download of ", count, " past a buffer of ", size_);
    if (count > 0)
      PRISM_CUDA_TRY(cudaMemcpyAsync(host, data_ + offset, count * sizeof(T),
                                     cudaMemcpyDeviceToHost, ctx_->stream()));
  }
  void fill_zero() {
    if (size_ > 0) PRISM_CUDA_TRY(cudaMemsetAsync(data_, 0, bytes(), ctx_->stream()));
  }

 private:
  void swap(DeviceBuffer& o) noexcept {
    std::swap(ctx_, o.ctx_);
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
  }
  Context* ctx_ = nullptr;
  T* data_ = nullptr;
  int64_t size_ = 0;
};

/// Blocks for a 1-D launch over `n` items; throws when the grid would not fit.
inline unsigned grid_for(int64_t n, int block) {
  return checked_cast<unsigned>(n <= 0 ? 1 : (n + block - 1) / block);
}

/// Uploads a (possibly strided) host view to a contiguous device matrix
/// (rows [row0, row0 + rows) of x).
void upload_rows(Context& ctx, ConstView x, int64_t row0, int64_t rows, float* dst);

/// "1.50 GiB"
std::string format_bytes(double bytes);

}  // namespace prism::cuda
