#pragma once
// Distance kernels shared by the exact and the approximate CPU kNN paths.
// Private to the knn module.
#include <cmath>
#include <cstdint>
#include <cstring>
#if defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "prism/matrix.hpp"
#include "../simd.hpp"

namespace prism::knn_detail {

// Lanes summed independently: 32 floats = four AVX2 registers, enough
// independent FMA chains to hide their latency. A single accumulator (what a
// plain `omp simd reduction` gives) is latency-bound and about 2x slower at
// D = 784. The lanes are folded pairwise at the end (vectorisable, unlike a
// sequential sum over 32 lanes, which costs as much as the whole loop at
// D = 48). The fixed order also makes the result independent of threads.
inline constexpr int kLanes = 32;

inline float fold_lanes(float (&acc)[kLanes]) {
  float v[8];
#pragma omp simd
  for (int l = 0; l < 8; ++l) v[l] = (acc[l] + acc[l + 8]) + (acc[l + 16] + acc[l + 24]);
  return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
}

/// Squared L2 distance between two d-vectors.
inline float sq_l2(const float* __restrict a, const float* __restrict b, int64_t d) {
  float acc[kLanes];
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) acc[l] = 0.0f;
  int64_t j = 0;
  for (; j + kLanes <= d; j += kLanes) {
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      const float t = a[j + l] - b[j + l];
      acc[l] += t * t;
    }
  }
  // One more AVX2 register's worth for dimensions that are multiples of 8
  // (the approximate path pads its working copy to those).
  for (; j + 8 <= d; j += 8) {
#pragma omp simd
    for (int l = 0; l < 8; ++l) {
      const float t = a[j + l] - b[j + l];
      acc[l] += t * t;
    }
  }
  for (; j < d; ++j) {
    const float t = a[j] - b[j];
    acc[0] += t * t;
  }
  return fold_lanes(acc);
}

/// Inner product of two d-vectors.
inline float dot(const float* __restrict a, const float* __restrict b, int64_t d) {
  float acc[kLanes];
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) acc[l] = 0.0f;
  int64_t j = 0;
  for (; j + kLanes <= d; j += kLanes) {
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) acc[l] += a[j + l] * b[j + l];
  }
  for (; j + 8 <= d; j += 8) {
#pragma omp simd
    for (int l = 0; l < 8; ++l) acc[l] += a[j + l] * b[j + l];
  }
  for (; j < d; ++j) acc[0] += a[j] * b[j];
  return fold_lanes(acc);
}

// ---- float16 rows ----------------------------------------------------------
// NN-descent's joins are bound by memory traffic: every distance fetches two
// rows scattered over memory. Its working copy of the vectors is therefore
// kept in IEEE half precision (half the bytes per row), scaled by a power of
// two so that the largest |value| sits near 2^13; distances are accumulated
// in float32 and only rank candidates, and the final lists are re-ranked in
// float32. Integers up to 2048 (after the scaling: pixel values 0..255 times a
// power of two) are exact in half precision.

/// IEEE binary16 <-> binary32 (round to nearest even), portable versions
/// (the F16C instructions below where the build has them).
inline float half_to_float_portable(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal: normalise the mantissa
    uint32_t e = 113;
    while (!(man & 0x400u)) man <<= 1, --e;
    bits = sign | (e << 23) | ((man & 0x3FFu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t float_to_half_portable(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  x &= 0x7FFFFFFFu;
  if (x > 0x7F800000u) return static_cast<uint16_t>(sign | 0x7E00u);  // NaN
  if (x < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    if (x < 0x33000000u) return static_cast<uint16_t>(sign);  // below half the smallest subnormal
    const uint32_t e = x >> 23, m = (x & 0x7FFFFFu) | 0x800000u, shift = 126 - e;
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  // Normal: rebias the exponent, round the mantissa (a carry may reach inf).
  uint32_t h = (x - 0x38000000u) >> 13;
  const uint32_t rem = x & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  if (h >= 0x7C00u) h = 0x7C00u;
  return static_cast<uint16_t>(sign | h);
}

inline float half_to_float(uint16_t h) {
#if defined(__F16C__)
  return _cvtsh_ss(h);
#else
  return half_to_float_portable(h);
#endif
}

inline uint16_t float_to_half(float f) {
#if defined(__F16C__)
  return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
#else
  return float_to_half_portable(f);
#endif
}

/// The one kernel behind sq_l2_half and sq_l2_half_bounded: with kBounded it
/// checks the partial sum against `bound` every kBoundStride columns and
/// returns it once it reaches the bound; otherwise the check is compiled out.
/// Both share one accumulation order, so below the bound the results are
/// bit-identical.
inline constexpr int kBoundStride = 64;
template <bool kBounded>
inline float sq_l2_half_kernel(const uint16_t* __restrict a, const uint16_t* __restrict b, int64_t d,
                               [[maybe_unused]] float bound) {
#if defined(__F16C__) && defined(__FMA__)
  auto ld = [](const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  };
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(),
         s3 = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 32 <= d; j += 32) {
    const __m256 t0 = _mm256_sub_ps(ld(a + j), ld(b + j));
    const __m256 t1 = _mm256_sub_ps(ld(a + j + 8), ld(b + j + 8));
    const __m256 t2 = _mm256_sub_ps(ld(a + j + 16), ld(b + j + 16));
    const __m256 t3 = _mm256_sub_ps(ld(a + j + 24), ld(b + j + 24));
    s0 = _mm256_fmadd_ps(t0, t0, s0);
    s1 = _mm256_fmadd_ps(t1, t1, s1);
    s2 = _mm256_fmadd_ps(t2, t2, s2);
    s3 = _mm256_fmadd_ps(t3, t3, s3);
    if constexpr (kBounded) {
      if ((j + 32) % kBoundStride == 0 && j + 32 < d) {
        const float part = simd::hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
        if (part >= bound) return part;
      }
    }
  }
  for (; j + 8 <= d; j += 8) {
    const __m256 t = _mm256_sub_ps(ld(a + j), ld(b + j));
    s0 = _mm256_fmadd_ps(t, t, s0);
  }
  return simd::hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
#else
  // Portable fallback: never stops early (a partial sum is only an
  // optimisation; the full distance is always a valid answer).
  float acc[8] = {};
  for (int64_t j = 0; j < d; j += 8)
    for (int l = 0; l < 8; ++l) {
      const float t = half_to_float(a[j + l]) - half_to_float(b[j + l]);
      acc[l] += t * t;
    }
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
#endif
}

/// Squared L2 distance between two half-precision d-vectors, d a multiple of 8.
inline float sq_l2_half(const uint16_t* __restrict a, const uint16_t* __restrict b, int64_t d) {
  return sq_l2_half_kernel<false>(a, b, d, 0.0f);
}

/// sq_l2_half, but it may stop early: once the partial sum over the leading
/// columns reaches `bound` it returns that partial sum (>= bound; the true
/// distance is no smaller). The descent only needs distances below its
/// admission thresholds, and with the columns in principal-component order
/// (the working copy is rotated) most rejected pairs pass the bound within the
/// first quarter of the columns.
inline float sq_l2_half_bounded(const uint16_t* __restrict a, const uint16_t* __restrict b, int64_t d,
                                float bound) {
  return sq_l2_half_kernel<true>(a, b, d, bound);
}

/// Inner product of a float d-vector with a half-precision one, d a multiple of 8.
inline float dot_half(const float* __restrict a, const uint16_t* __restrict b, int64_t d) {
#if defined(__F16C__) && defined(__FMA__)
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= d; j += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j),
                         _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + j))), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8),
                         _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + j + 8))), s1);
  }
  for (; j + 8 <= d; j += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j),
                         _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + j))), s0);
  return simd::hsum8(_mm256_add_ps(s0, s1));
#else
  float acc[8] = {};
  for (int64_t j = 0; j < d; j += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[j + l] * half_to_float(b[j + l]);
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
#endif
}

/// Asks for a row's cache lines ahead of use: the neighbour lists send the
/// distance loops to rows scattered over memory, and issuing all of a point's
/// candidate rows at once overlaps their memory latencies.
inline void prefetch_row(const float* p, int64_t d) {
  for (int64_t j = 0; j < d; j += 16) __builtin_prefetch(p + j);
}

/// Scales a d-vector to unit L2 norm in place; a zero vector stays zero (its
/// cosine distance to everything is then 1).
inline void normalize(float* v, int64_t d) {
  double s = 0;
  for (int64_t j = 0; j < d; ++j) s += double(v[j]) * v[j];
  if (s > 0) {
    const float inv = static_cast<float>(1.0 / std::sqrt(s));
    for (int64_t j = 0; j < d; ++j) v[j] *= inv;
  }
}

/// The reported distance from a squared L2 distance (euclidean) or an inner
/// product of unit vectors (cosine).
inline float euclidean_from_sq(float sq) { return std::sqrt(sq > 0.0f ? sq : 0.0f); }
inline float cosine_from_dot(float ip) { return 1.0f - ip; }

/// True when every entry of the view is finite (NaN and inf break the
/// neighbour heaps and FAISS alike, so both paths reject them up front).
inline bool all_finite(ConstView x) {
  bool ok = true;
#pragma omp parallel for schedule(static) reduction(&& : ok)
  for (int64_t i = 0; i < x.rows; ++i) {
    const float* r = x.row(i);
    bool row_ok = true;
    for (int64_t j = 0; j < x.cols; ++j) row_ok &= std::isfinite(r[j]);
    ok = ok && row_ok;
  }
  return ok;
}

}  // namespace prism::knn_detail
