// Pinned double-buffered uploads (see staging.hpp). Host code only: compiled
// by the C++ compiler, so the packing memcpy can use OpenMP.
#include "core/staging.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "core/check.cuh"

namespace prism::cuda {
namespace {

// memcpy of rows x width bytes into a packed buffer, split over threads when large.
void pack(void* out, const void* src, size_t src_pitch, size_t width, size_t rows) {
  auto* o = static_cast<unsigned char*>(out);
  const auto* s = static_cast<const unsigned char*>(src);
  const size_t total = width * rows;
  constexpr size_t kPiece = size_t{1} << 20;
  if (rows == 1 || src_pitch == width) {
    const int64_t pieces = static_cast<int64_t>((total + kPiece - 1) / kPiece);
#pragma omp parallel for schedule(static) if (pieces > 4)
    for (int64_t p = 0; p < pieces; ++p) {
      const size_t off = static_cast<size_t>(p) * kPiece;
      std::memcpy(o + off, s + off, std::min(kPiece, total - off));
    }
    return;
  }
#pragma omp parallel for schedule(static) if (total > 4 * kPiece)
  for (int64_t r = 0; r < static_cast<int64_t>(rows); ++r)
    std::memcpy(o + static_cast<size_t>(r) * width, s + static_cast<size_t>(r) * src_pitch, width);
}

}  // namespace

HostStaging::HostStaging(size_t chunk_bytes) : chunk_bytes_(chunk_bytes) {}

HostStaging::~HostStaging() {
  // Destructors must not throw: errors here are ignored on purpose.
  for (int b = 0; b < 2; ++b) {
    if (done_[b]) {
      cudaEventSynchronize(done_[b]);
      cudaEventDestroy(done_[b]);
    }
    if (chunk_[b]) cudaFreeHost(chunk_[b]);
  }
}

void* HostStaging::next_chunk() {
  const int b = next_;
  if (pending_[b]) PRISM_CUDA_TRY(cudaEventSynchronize(done_[b]));
  pending_[b] = false;
  return chunk_[b];
}

void HostStaging::sent(cudaStream_t stream) {
  PRISM_CUDA_TRY(cudaEventRecord(done_[next_], stream));
  pending_[next_] = true;
  next_ ^= 1;
}

void HostStaging::upload_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch,
                            size_t width, size_t rows, cudaStream_t stream) {
  if (width == 0 || rows == 0) return;
  if (!tried_) {
    tried_ = true;
    // Locked memory may be limited (containers, ulimit -l): then copy direct.
    for (int b = 0; b < 2; ++b) {
      if (cudaMallocHost(&chunk_[b], chunk_bytes_) != cudaSuccess ||
          cudaEventCreateWithFlags(&done_[b], cudaEventDisableTiming) != cudaSuccess) {
        cudaGetLastError();
        for (int c = 0; c < 2; ++c) {
          if (chunk_[c]) cudaFreeHost(chunk_[c]);
          if (done_[c]) cudaEventDestroy(done_[c]);
          chunk_[c] = nullptr;
          done_[c] = nullptr;
        }
        break;
      }
    }
  }
  if (!pinned() || width * rows < kDirectBytes) {
    PRISM_CUDA_TRY(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, width, rows,
                                     cudaMemcpyHostToDevice, stream));
    return;
  }
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if (width <= chunk_bytes_) {
    const size_t per = chunk_bytes_ / width;  // whole rows per chunk
    for (size_t r0 = 0; r0 < rows; r0 += per) {
      const size_t nr = std::min(per, rows - r0);
      void* c = next_chunk();
      pack(c, s + r0 * src_pitch, src_pitch, width, nr);
      PRISM_CUDA_TRY(cudaMemcpy2DAsync(d + r0 * dst_pitch, dst_pitch, c, width, width, nr,
                                       cudaMemcpyHostToDevice, stream));
      sent(stream);
    }
    return;
  }
  for (size_t r = 0; r < rows; ++r)  // rows longer than a chunk: pieces of each row
    for (size_t off = 0; off < width; off += chunk_bytes_) {
      const size_t len = std::min(chunk_bytes_, width - off);
      void* c = next_chunk();
      pack(c, s + r * src_pitch + off, len, len, 1);
      PRISM_CUDA_TRY(cudaMemcpyAsync(d + r * dst_pitch + off, c, len, cudaMemcpyHostToDevice, stream));
      sent(stream);
    }
}

}  // namespace prism::cuda
