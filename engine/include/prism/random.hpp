#pragma once
// Prism's one family of random numbers, for the CPU code and the GPU code
// alike (the functions below are __host__ __device__ under nvcc).
// Counter-based: a draw is a pure function of (seed, stream, counter), so a
// result never depends on which thread drew it (the reproducibility rule),
// and a stream per point or per edge needs no state in memory. Rng turns one
// such draw into a fast sequential stream for the CPU's inner loops.
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define PRISM_HOST_DEVICE __host__ __device__
#else
#define PRISM_HOST_DEVICE
#endif

namespace prism {

/// splitmix64 (Steele, Lea & Flood 2014): a strong 64-bit mix of any counter.
PRISM_HOST_DEVICE constexpr uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// Draw number `counter` of stream `stream` under `seed`.
PRISM_HOST_DEVICE constexpr uint64_t random_u64(uint64_t seed, uint64_t stream, uint64_t counter) {
  return splitmix64(splitmix64(seed) ^ splitmix64(stream * 0xD1342543DE82EF95ULL + counter));
}

/// Uniform integer in [0, n) from 64 random bits (Lemire's multiply-shift; n < 2^32).
PRISM_HOST_DEVICE constexpr uint32_t uniform_below(uint64_t bits, uint32_t n) {
  return static_cast<uint32_t>(((bits >> 32) * n) >> 32);
}

/// Uniform double in (0, 1] from the top 53 bits of `bits`.
PRISM_HOST_DEVICE constexpr double unit_interval(uint64_t bits) {
  return static_cast<double>((bits >> 11) + 1) * 0x1.0p-53;
}

/// Standard normal from two uniform draws in (0, 1] (Box-Muller, one value).
PRISM_HOST_DEVICE inline double normal_from(double u1, double u2) {
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

/// A sequential stream for one (seed, stream, index) triple: seeded by a
/// counter-based draw, advanced by xorshift64* (one multiply per number, for
/// the SGD's negative sampling).
class Rng {
 public:
  PRISM_HOST_DEVICE Rng(uint64_t seed, uint64_t stream = 0, uint64_t index = 0)
      : s_(random_u64(seed, stream, index) | 1ULL) {}
  PRISM_HOST_DEVICE uint64_t next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1DULL;
  }
  /// Uniform integer in [0, n) (n < 2^32).
  PRISM_HOST_DEVICE uint32_t below(uint32_t n) { return uniform_below(next(), n); }
  /// Uniform double in (0, 1].
  PRISM_HOST_DEVICE double uniform() { return unit_interval(next()); }
  /// Standard normal.
  PRISM_HOST_DEVICE double normal() {
    const double u1 = uniform();
    return normal_from(u1, uniform());
  }

 private:
  uint64_t s_;
};

}  // namespace prism
