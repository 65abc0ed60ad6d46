#pragma once
// Distance kernels shared by the exact and the approximate CPU kNN paths.
// Private to the knn module.
#include <cmath>
#include <cstdint>

#include "prism/matrix.hpp"

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
