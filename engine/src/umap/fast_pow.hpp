#pragma once
// x^y for the UMAP gradients (d^(2b) with b near 0.9): libm's powf was a third
// of the optimiser's time. Both halves by short polynomials, inlined and
// vectorised; tests/unit/test_umap.cpp holds them to std::pow.
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include <bit>
#include <cmath>
#include <cstdint>

namespace prism::umap {

/// Largest relative error of fast_pow / fast_pow8 against std::pow for x in
/// [kFastPowMin, kFastPowMax] and y in [0, 2] wherever x^y is a normal float
/// (in [2^-126, 2^126]); beyond that the result saturates at those bounds,
/// finite and positive (what the test checks).
inline constexpr float kFastPowTolerance = 1e-5f;
inline constexpr float kFastPowMin = 1e-20f, kFastPowMax = 1e12f;

/// x^y for x > 0 as 2^(y log2 x), both halves by short polynomials (relative
/// error below kFastPowTolerance, far below the SGD's noise). libm's powf was a third of the
/// optimiser's time, and this one inlines and vectorises.
inline float fast_pow(float x, float y) {
  x = x > 1e-30f ? x : 1e-30f;  // no denormals: the gradients there are clipped anyway
  const uint32_t ix = std::bit_cast<uint32_t>(x);
  const float e = static_cast<float>(static_cast<int32_t>(ix >> 23) - 127);
  const float m = std::bit_cast<float>((ix & 0x007FFFFFu) | 0x3F800000u);  // [1, 2)
  // log2(m) = 2 / ln 2 * atanh(t), t = (m - 1) / (m + 1) in [0, 1/3).
  const float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
  const float atanh =
      t * (1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7 + t2 * (1.0f / 9)))));
  float z = y * (e + 2.8853900817779268f * atanh);
  z = z < -126.0f ? -126.0f : (z > 126.0f ? 126.0f : z);
  const float n = std::floor(z);
  const float f = (z - n) * 0.69314718055994531f;  // 2^(z - n) = e^f, f in [0, ln 2)
  const float ef =
      1.0f + f * (1.0f + f * (0.5f + f * (1.0f / 6 + f * (1.0f / 24 + f * (1.0f / 120 +
                                                          f * (1.0f / 720 + f * (1.0f / 5040)))))));
  return ef * std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
}

#if defined(__AVX2__) && defined(__FMA__)
/// fast_pow on 8 lanes (the same polynomials).
inline __m256 fast_pow8(__m256 x, float y) {
  x = _mm256_max_ps(x, _mm256_set1_ps(1e-30f));
  const __m256i ix = _mm256_castps_si256(x);
  const __m256 e = _mm256_cvtepi32_ps(
      _mm256_sub_epi32(_mm256_srli_epi32(ix, 23), _mm256_set1_epi32(127)));
  const __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
      _mm256_and_si256(ix, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F800000)));
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 t = _mm256_div_ps(_mm256_sub_ps(m, one), _mm256_add_ps(m, one));
  const __m256 t2 = _mm256_mul_ps(t, t);
  __m256 p = _mm256_set1_ps(1.0f / 9);
  p = _mm256_fmadd_ps(p, t2, _mm256_set1_ps(1.0f / 7));
  p = _mm256_fmadd_ps(p, t2, _mm256_set1_ps(1.0f / 5));
  p = _mm256_fmadd_ps(p, t2, _mm256_set1_ps(1.0f / 3));
  p = _mm256_fmadd_ps(p, t2, one);
  __m256 z = _mm256_mul_ps(_mm256_set1_ps(y),
                           _mm256_fmadd_ps(_mm256_set1_ps(2.8853900817779268f),
                                           _mm256_mul_ps(t, p), e));
  z = _mm256_min_ps(_mm256_max_ps(z, _mm256_set1_ps(-126.0f)), _mm256_set1_ps(126.0f));
  const __m256 n = _mm256_floor_ps(z);
  const __m256 f = _mm256_mul_ps(_mm256_sub_ps(z, n), _mm256_set1_ps(0.69314718055994531f));
  __m256 q = _mm256_set1_ps(1.0f / 5040);
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(1.0f / 720));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(1.0f / 120));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(1.0f / 24));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(1.0f / 6));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(0.5f));
  q = _mm256_fmadd_ps(q, f, one);
  q = _mm256_fmadd_ps(q, f, one);
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(q, _mm256_castsi256_ps(bits));
}

#endif

}  // namespace prism::umap
