#pragma once
// Principal component analysis: centred, to any k <= D, optional whitening.
#include <cstdint>
#include <string>
#include <vector>

#include "prism/backend.hpp"
#include "prism/matrix.hpp"
#include "prism/progress.hpp"

namespace prism {

enum class PcaSolver {
  automatic,   ///< full below ~1e9 * k / D work, randomized above
  full,        ///< covariance (D x D) + LAPACK symmetric eigensolver
  randomized,  ///< Halko et al. randomized range finder with power iterations
};

PcaSolver parse_pca_solver(const std::string& s);  ///< "auto" | "full" | "randomized"
const char* to_string(PcaSolver s);

struct PcaParams {
  int dims = 3;                       ///< components kept, 1..D
  bool whiten = false;                ///< scale each component to unit variance
  PcaSolver solver = PcaSolver::automatic;
  int oversample = 10;                ///< randomized: extra subspace columns
  int power_iterations = 4;           ///< randomized: subspace iterations
  uint64_t seed = 0;                  ///< randomized: test matrix seed
  Backend backend = Backend::automatic;
};

struct PcaModel {
  std::vector<float> mean;                 ///< D
  Matrix components;                       ///< dims x D, rows are unit principal axes
  std::vector<double> explained_variance;  ///< dims, variance along each axis
  std::vector<double> explained_variance_ratio;  ///< dims, fraction of total variance
  bool whiten = false;

  /// Projects rows of x (same D) to dims columns.
  Matrix transform(ConstView x) const;
};

/// Fits on params.backend (automatic: CUDA when present).
PcaModel fit_pca(ConstView x, const PcaParams& params, Progress* progress = nullptr);
/// The CPU implementation (LAPACK / randomized with OpenBLAS).
PcaModel fit_pca_cpu(ConstView x, const PcaParams& params, Progress* progress = nullptr);

}  // namespace prism
