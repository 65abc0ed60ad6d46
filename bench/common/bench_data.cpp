#include "bench_data.hpp"

#include <random>

#include "prism/io.hpp"

namespace prism::bench {

Dataset fashion_mnist() { return read_dataset(kFashionMnistDir); }

Matrix gaussian_mixture(int64_t n, int64_t d, int clusters, uint64_t seed,
                        std::vector<int32_t>* labels, float separation) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Matrix centres(clusters, d);
  for (auto& v : centres.storage()) v = normal(rng) * separation;
  Matrix x(n, d);
  if (labels) labels->resize(n);
#pragma omp parallel
  {
    // Per-row streams keep the data independent of the thread count.
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      std::mt19937_64 r(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(i));
      std::normal_distribution<float> nd(0.0f, 1.0f);
      const int c = static_cast<int>(r() % clusters);
      if (labels) (*labels)[i] = c;
      float* row = x.row(i);
      for (int64_t j = 0; j < d; ++j) row[j] = centres(c, j) + nd(r);
    }
  }
  return x;
}

}  // namespace prism::bench
