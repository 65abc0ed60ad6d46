#pragma once
// The kernels draw from Prism's one family of random numbers
// (prism/random.hpp, __host__ __device__ under nvcc): each draw is a pure
// function of (seed, stream, counter), so results do not depend on thread
// scheduling (the reproducibility rule) and no RNG state lives in memory.
#include <cstdint>

#include "prism/random.hpp"

namespace prism::cuda {

using prism::random_u64;

/// Uniform integer in [0, n) for item `stream`, draw number `counter` (n < 2^32).
__host__ __device__ inline uint32_t random_below(uint64_t seed, uint64_t stream, uint64_t counter,
                                                 uint32_t n) {
  return uniform_below(random_u64(seed, stream, counter), n);
}

}  // namespace prism::cuda
