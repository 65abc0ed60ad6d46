#pragma once
// Counter-based random numbers: each draw is a pure function of (seed, stream,
// counter), so results do not depend on thread scheduling (the reproducibility
// rule) and no RNG state lives in memory. SplitMix64 finaliser, as in
// Steele et al. 2014; good enough for sampling, not for cryptography.
#include <cstdint>

namespace prism::cuda {

__host__ __device__ inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// A 64-bit draw for item `stream`, draw number `counter`.
__host__ __device__ inline uint64_t random_u64(uint64_t seed, uint64_t stream, uint64_t counter) {
  return mix64(mix64(seed ^ 0x9e3779b97f4a7c15ULL) ^ mix64(stream * 0xd1342543de82ef95ULL + counter));
}

/// Uniform integer in [0, n) (n > 0; Lemire's multiply-shift, bias below 2^-32).
__host__ __device__ inline uint32_t random_below(uint64_t seed, uint64_t stream, uint64_t counter,
                                                 uint32_t n) {
  const uint64_t r = random_u64(seed, stream, counter) >> 32;
  return static_cast<uint32_t>((r * n) >> 32);
}

}  // namespace prism::cuda
