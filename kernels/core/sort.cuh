#pragma once
// Deterministic key-value sorts (CUB radix sort is stable and its result does
// not depend on scheduling) and segment offsets of sorted keys: the building
// blocks that replace float atomics wherever results must be reproducible.
#include <cub/device/device_radix_sort.cuh>

#include "core/context.cuh"

namespace prism::cuda {

/// Sorts (keys_in, vals_in) by the low `end_bit` bits of the key into keys_out / vals_out.
template <class K, class V>
void sort_pairs(Context& ctx, const K* keys_in, K* keys_out, const V* vals_in, V* vals_out,
                int64_t count, int end_bit = static_cast<int>(sizeof(K) * 8)) {
  if (count <= 0) return;
  size_t temp = 0;
  PRISM_CUDA_TRY(cub::DeviceRadixSort::SortPairs(nullptr, temp, keys_in, keys_out, vals_in,
                                                 vals_out, count, 0, end_bit, ctx.stream()));
  DeviceBuffer<unsigned char> scratch(ctx, static_cast<int64_t>(temp), "radix sort scratch");
  PRISM_CUDA_TRY(cub::DeviceRadixSort::SortPairs(scratch.data(), temp, keys_in, keys_out, vals_in,
                                                 vals_out, count, 0, end_bit, ctx.stream()));
}

namespace detail {
template <class K>
__global__ void segment_offsets_kernel(const K* __restrict__ keys, int64_t count, int64_t segments,
                                       int64_t* __restrict__ offsets) {
  const int64_t s = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (s > segments) return;
  int64_t lo = 0, hi = count;  // first position with key >= s
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (static_cast<int64_t>(keys[mid]) < s) lo = mid + 1;
    else hi = mid;
  }
  offsets[s] = lo;
}
}  // namespace detail

/// offsets[s] = first position of key s in sorted `keys` (segments + 1 entries;
/// offsets[segments] = count): CSR row pointers from sorted row ids.
template <class K>
void segment_offsets(Context& ctx, const K* keys, int64_t count, int64_t segments, int64_t* offsets) {
  constexpr int block = 256;
  detail::segment_offsets_kernel<<<grid_for(segments + 1, block), block, 0, ctx.stream()>>>(
      keys, count, segments, offsets);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

}  // namespace prism::cuda
