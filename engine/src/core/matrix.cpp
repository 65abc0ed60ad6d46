#include <cmath>

#include "prism/matrix.hpp"

namespace prism {

Matrix normalised_rows(ConstView x) {
  Matrix m(x.rows, x.cols);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < x.rows; ++i) {
    double s = 0;
    for (int64_t j = 0; j < x.cols; ++j) s += double(x(i, j)) * x(i, j);
    const float inv = s > 0 ? static_cast<float>(1.0 / std::sqrt(s)) : 0.f;
    for (int64_t j = 0; j < x.cols; ++j) m(i, j) = x(i, j) * inv;
  }
  return m;
}

}  // namespace prism
