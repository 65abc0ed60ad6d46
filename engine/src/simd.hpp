#pragma once
// Small AVX helpers shared by the engine's CPU kernels (private to the engine).
#if defined(__AVX__)
#include <immintrin.h>

namespace prism::simd {

/// Sum of the 8 lanes of v, in a fixed order (the same result wherever it runs).
inline float hsum8(__m256 v) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

}  // namespace prism::simd
#endif
