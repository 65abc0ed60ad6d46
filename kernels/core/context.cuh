#pragma once
// The one handle every GPU entry point takes (RAFT's resources, FAISS's
// GpuResources): the device, a non-default stream (and a second one for
// work that overlaps it), the cuBLAS and cuSOLVER handles bound to the main
// stream, a stream-ordered scratch allocator and pinned staging for uploads.
// One Context per host thread (Context::shared()); all work of a call runs in
// order on its streams, so kernels never race with each other.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "core/check.cuh"
#include "prism/matrix.hpp"

namespace prism::cuda {

class HostStaging;

/// Which device allocator a Context uses.
enum class Allocator {
  automatic,  ///< the memory pool when the device supports it (cudaDevAttrMemoryPoolsSupported), else plain
  pool,       ///< cudaMallocAsync / cudaFreeAsync on the device's default pool
  plain,      ///< cudaMalloc / cudaFree after a stream synchronisation (virtualised GPUs)
};

/// What the device and the allocator hold, in bytes.
struct MemoryState {
  size_t free = 0, total = 0;        ///< cudaMemGetInfo
  size_t pool_reserved = 0;          ///< held by the pool (its free blocks count as usable)
  size_t pool_used = 0;              ///< handed out by the pool and not yet freed
};

class Context {
 public:
  explicit Context(int device = 0, Allocator allocator = Allocator::automatic);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// This thread's context on device 0, created on first use (handles are
  /// expensive to create: hundreds of ms for cuBLAS's first one).
  static std::shared_ptr<Context> shared();

  int device() const { return device_; }
  int sm_count() const { return sm_count_; }
  cudaStream_t stream() const { return stream_; }
  /// A second stream for work that overlaps the main one (exact kNN's
  /// selection while the next GEMM runs); order it with fork()/join() or events.
  cudaStream_t aux_stream() const { return aux_stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  cusolverDnHandle_t cusolver() const { return cusolver_; }
  bool uses_pool() const { return pool_ != nullptr; }

  /// The aux stream waits for everything queued on the main stream so far.
  void fork();
  /// The main stream waits for everything queued on the aux stream so far.
  void join();

  /// Free and total device memory in bytes, now.
  std::pair<size_t, size_t> memory_info() const;
  /// Device and pool figures, now.
  MemoryState memory_state() const;
  /// What allocate() can still hand out: the device's free memory plus the
  /// pool's reserved but unused blocks (synchronises first, so pending frees count).
  size_t available_bytes();

  /// Stream-ordered allocation (pool) or cudaMalloc (plain). On failure it
  /// synchronises, trims the pool and retries once; then throws RuntimeError
  /// "CUDA out of memory: <what> needs X; Y free of Z on the device, the memory
  /// pool holds R (U in use)".
  void* allocate(size_t bytes, const char* what);
  /// Frees what allocate(bytes) returned (stream-ordered on the main stream).
  void deallocate(void* p, size_t bytes) noexcept;
  /// Bytes handed out by allocate() and not yet freed, and their high-water
  /// mark since reset_peak_bytes(): the figure the memory plans bound.
  int64_t live_bytes() const { return live_bytes_; }
  int64_t peak_bytes() const { return peak_bytes_; }
  void reset_peak_bytes() { peak_bytes_ = live_bytes_; }

  /// Host-to-device copies on the main stream, staged through pinned,
  /// double-buffered chunks when large; they return once the host memory has
  /// been read (it may be freed or changed afterwards).
  void upload(void* dst, const void* src, size_t bytes);
  /// `rows` rows of `width` bytes, `src_pitch` apart on the host, to `dst`
  /// with `dst_pitch` (cudaMemcpy2D's arguments).
  void upload_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width,
                 size_t rows);
  /// Waits for all work queued on both streams and reports any asynchronous error.
  void sync() const;

  /// A device workspace of at least `bytes`, kept by the context (grown when
  /// asked for more): for short-lived scratch of per-iteration launchers
  /// (CUB reductions). Valid for work on the main stream until the next call.
  void* workspace(size_t bytes, const char* what);

 private:
  int device_ = 0;
  int sm_count_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaStream_t aux_stream_ = nullptr;
  cudaEvent_t fork_event_ = nullptr, join_event_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cusolverDnHandle_t cusolver_ = nullptr;
  cudaMemPool_t pool_ = nullptr;  // null: plain allocation
  int64_t live_bytes_ = 0, peak_bytes_ = 0;
  std::unique_ptr<HostStaging> staging_;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
};

/// While alive, the aux stream may be used: it starts after the work queued
/// on the main stream so far, and the main stream waits for it when the scope
/// ends (also on exceptions), so buffers declared before the scope are freed
/// only after the aux stream is done with them.
class AuxStreamScope {
 public:
  explicit AuxStreamScope(Context& ctx) : ctx_(ctx) { ctx_.fork(); }
  ~AuxStreamScope();
  AuxStreamScope(const AuxStreamScope&) = delete;
  AuxStreamScope& operator=(const AuxStreamScope&) = delete;

 private:
  Context& ctx_;
};

/// An event without timing (cudaEventDisableTiming): orders two streams.
class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record(cudaStream_t s);
  /// Stream `s` waits for the last record() of this event.
  void wait_in(cudaStream_t s) const;
  /// The host waits for the last record() (no-op before the first).
  void sync() const;

 private:
  cudaEvent_t e_ = nullptr;
  bool recorded_ = false;
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
    PRISM_CHECK(count >= 0, "negative buffer size ", count, " for ", what);
    ctx_ = &ctx;
    if (count > 0)
      data_ = static_cast<T*>(ctx.allocate(static_cast<size_t>(checked_mul(count, sizeof(T))), what));
    size_ = count;
  }
  /// Grows to at least `count` elements; a workspace reused across calls.
  void reserve(Context& ctx, int64_t count, const char* what) {
    if (count > size_ || ctx_ != &ctx) reset(ctx, count, what);
  }
  void release() noexcept {
    if (data_ && ctx_) ctx_->deallocate(data_, bytes());
    data_ = nullptr;
    size_ = 0;
  }
  T* data() const { return data_; }
  int64_t size() const { return size_; }
  size_t bytes() const { return static_cast<size_t>(size_) * sizeof(T); }

  /// Asynchronous copies on the owner's stream. upload returns once the host
  /// side has been read (large copies go through pinned staging); download
  /// from pageable memory completes before it returns.
  void upload(const T* host, int64_t count, int64_t offset = 0) {
    PRISM_CHECK(offset >= 0 && count >= 0 && offset + count <= size_, "upload of ", count,
                " past a buffer of ", size_);
    if (count > 0) ctx_->upload(data_ + offset, host, static_cast<size_t>(count) * sizeof(T));
  }
  void download(T* host, int64_t count, int64_t offset = 0) const {
    PRISM_CHECK(offset >= 0 && count >= 0 && offset + count <= size_, "download of ", count,
                " past a buffer of ", size_);
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

/// Hardware limits of a launch: gridDim.x up to 2^31 - 1, gridDim.y/z up to 65535.
inline constexpr int64_t kMaxGridX = 2147483647;
inline constexpr int64_t kMaxGridYZ = 65535;

/// Blocks for a 1-D launch over `n` items, one thread each; throws when more
/// than kMaxGridX blocks would be needed (5.5e11 items at 256 threads).
inline unsigned grid_for(int64_t n, int block) {
  const int64_t blocks = n <= 0 ? 1 : (n + block - 1) / block;
  PRISM_CHECK(blocks <= kMaxGridX, "a launch over ", n, " items needs ", blocks,
              " blocks; the hardware allows ", kMaxGridX);
  return static_cast<unsigned>(blocks);
}
/// One block per item (rows, lists) for up to kMaxGridX items.
inline unsigned blocks_for(int64_t items) {
  PRISM_CHECK(items >= 1 && items <= kMaxGridX, "a launch of ", items,
              " blocks (the hardware allows 1..", kMaxGridX, ")");
  return static_cast<unsigned>(items);
}

/// Uploads a (possibly strided) host view to a contiguous device matrix
/// (rows [row0, row0 + rows) of x), through the context's pinned staging.
void upload_rows(Context& ctx, ConstView x, int64_t row0, int64_t rows, float* dst);

/// "1.50 GiB"
std::string format_bytes(double bytes);

/// True when this library was built with -DPRISM_CUDA_SYNC_DEBUG=ON.
bool sync_debug_build();

}  // namespace prism::cuda
