#pragma once
// Data sets the benchmarks share.
#include <cstdint>
#include <string>
#include <vector>

#include "prism/dataset.hpp"
#include "prism/matrix.hpp"

namespace prism::bench {

/// Where Debian's dataset-fashion-mnist puts the IDX files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// All 70,000 Fashion-MNIST images (train then test) as 784 float32 pixels in
/// [0, 255], with the class names as labels. Throws InputError when missing.
Dataset fashion_mnist();

/// Seeded Gaussian mixture: n x d, `clusters` centres (std `separation`), unit noise.
Matrix gaussian_mixture(int64_t n, int64_t d, int clusters, uint64_t seed,
                        std::vector<int32_t>* labels = nullptr, float separation = 3.0f);

}  // namespace prism::bench
