#pragma once
// Shared by the gpu tests: the skip guard and the kNN comparison with ties.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "prism/backend.hpp"
#include "prism/knn.hpp"

/// Every GPU test starts with this: without a device the test is skipped with
/// the reason, or fails when PRISM_REQUIRE_GPU is set (bench/gpu/run.sh sets
/// it on the GPU machine, so a broken driver cannot pass as skips).
#define PRISM_REQUIRE_CUDA()                                                        \
  do {                                                                              \
    if (!::prism::cuda_available()) {                                               \
      if (std::getenv("PRISM_REQUIRE_GPU"))                                         \
        FAIL() << "PRISM_REQUIRE_GPU is set but there is no CUDA device: "          \
               << ::prism::cuda_device_description();                               \
      GTEST_SKIP() << "no CUDA device: " << ::prism::cuda_device_description();     \
    }                                                                               \
  } while (0)

namespace prism::test {

/// Rows whose neighbour sets differ beyond exact ties: a neighbour of `got`
/// missing from `want` counts only if its distance is clearly below want's
/// k-th distance (relative tolerance `tol`; the expanded-form GEMM and FAISS
/// round differently, so "exact tie" means equal to ~1e-5). Also checks that
/// the sorted distances agree to `tol`.
inline int64_t knn_mismatched_rows(const KnnGraph& got, const KnnGraph& want, double tol = 1e-4) {
  EXPECT_EQ(got.n, want.n);
  EXPECT_EQ(got.k, want.k);
  int64_t bad = 0;
  for (int64_t i = 0; i < want.n; ++i) {
    const std::set<int32_t> w(want.neighbors(i), want.neighbors(i) + want.k);
    const double kth = want.dists(i)[want.k - 1];
    bool ok = true;
    for (int j = 0; j < got.k; ++j) {
      const int32_t id = got.neighbors(i)[j];
      if (id == i || id < 0 || id >= want.n) ok = false;
      if (!w.count(id) && got.dists(i)[j] < kth - tol * std::max(1.0, kth)) ok = false;
      const double a = got.dists(i)[j], b = want.dists(i)[j];
      if (std::abs(a - b) > tol * std::max(1.0, std::abs(b))) ok = false;
    }
    bad += ok ? 0 : 1;
  }
  return bad;
}

/// Rows whose list is not a valid kNN list of x: an id out of range, the row
/// itself, an id twice, or a reported distance that is not the true one
/// (relative tolerance `tol`; euclidean only). The tie-proof check: any
/// choice among equal distances passes, a wrong or repeated one does not.
inline int64_t knn_invalid_rows(const KnnGraph& g, ConstView x, double tol = 1e-4) {
  int64_t bad = 0;
  for (int64_t i = 0; i < g.n; ++i) {
    std::set<int32_t> seen;
    bool ok = true;
    for (int j = 0; j < g.k; ++j) {
      const int32_t id = g.neighbors(i)[j];
      if (id < 0 || id >= g.n || id == i || !seen.insert(id).second) {
        ok = false;
        break;
      }
      double s = 0;
      for (int64_t c = 0; c < x.cols; ++c) {
        const double t = double(x(i, c)) - x(id, c);
        s += t * t;
      }
      if (std::abs(std::sqrt(s) - g.dists(i)[j]) > tol * std::max(1.0, std::sqrt(s))) ok = false;
      if (j > 0 && g.dists(i)[j] < g.dists(i)[j - 1]) ok = false;
    }
    bad += ok ? 0 : 1;
  }
  return bad;
}

}  // namespace prism::test
