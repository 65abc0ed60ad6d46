#pragma once
// Shared by the gpu tests: the skip guard and the kNN comparison with ties.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "prism/backend.hpp"
#include "prism/knn.hpp"

/// Every GPU test starts with this: without a device the test is skipped with the reason.
#define PRISM_REQUIRE_CUDA()                                                        \
  do {                                                                              \
    if (!::prism::cuda_available())                                                 \
      GTEST_SKIP() << "no CUDA device: " << ::prism::cuda_device_description();     \
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

}  // namespace prism::test
