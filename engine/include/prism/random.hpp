#pragma once
// Counter-based random numbers shared by the CPU algorithms (and the GPU
// code's host side): every (seed, stream) gets its own values, so results
// never depend on which thread drew them.
#include <cstdint>

namespace prism {

/// splitmix64 (Steele, Lea & Flood 2014): a strong 64-bit mix of any counter.
constexpr uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// Uniform double in (0, 1] from the top 53 bits of `bits`.
constexpr double unit_interval(uint64_t bits) { return static_cast<double>((bits >> 11) + 1) * 0x1.0p-53; }

}  // namespace prism
