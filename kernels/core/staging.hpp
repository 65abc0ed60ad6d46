#pragma once
// Host-to-device uploads through pinned memory. From pageable memory the
// driver copies through its own small bounce buffer, synchronously and at a
// fraction of the link's speed; here two pinned chunks alternate: the host
// packs chunk b (OpenMP memcpy) while the DMA engine sends chunk b ^ 1.
#include <cuda_runtime.h>

#include <cstddef>

namespace prism::cuda {

class HostStaging {
 public:
  /// Copies below this size go straight from pageable memory (not worth a chunk).
  static constexpr size_t kDirectBytes = size_t{1} << 20;

  explicit HostStaging(size_t chunk_bytes = size_t{32} << 20);
  ~HostStaging();
  HostStaging(const HostStaging&) = delete;
  HostStaging& operator=(const HostStaging&) = delete;

  /// cudaMemcpy2DAsync's arguments, host to device on `stream`. Returns once
  /// the source has been read; a chunk is refilled only after its copy ended.
  void upload_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width,
                 size_t rows, cudaStream_t stream);
  /// False when pinned memory could not be had (copies then go direct).
  bool pinned() const { return chunk_[0] != nullptr; }

 private:
  void* next_chunk();  // waits until the next chunk is free
  void sent(cudaStream_t stream);

  size_t chunk_bytes_;
  void* chunk_[2] = {nullptr, nullptr};
  cudaEvent_t done_[2] = {nullptr, nullptr};
  bool pending_[2] = {false, false};
  int next_ = 0;
  bool tried_ = false;
};

}  // namespace prism::cuda
