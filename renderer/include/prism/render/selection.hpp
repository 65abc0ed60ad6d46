#pragma once
// Box and lasso selection over points projected on the CPU with the camera
// the GPU uses, so what is selected is what is seen.
#include <cstdint>
#include <vector>

#include <glm/glm.hpp>

#include "prism/matrix.hpp"
#include "prism/render/camera.hpp"

namespace prism::render {

/// Pixel positions of the rows of y (n x 2 or n x 3) under `camera`, n x 2
/// row-major; points behind the eye get NaN.
std::vector<float> project_points(ConstView y, const Camera& camera);

/// Rows whose projected centre lies in the rectangle spanned by corners a and b
/// (pixels, any order, edges included), ascending.
std::vector<int64_t> select_box(ConstView y, const Camera& camera, glm::vec2 a, glm::vec2 b);

/// Rows whose projected centre lies inside the closed polygon `lasso` (pixels,
/// even-odd rule), ascending. Fewer than 3 vertices select nothing.
std::vector<int64_t> select_lasso(ConstView y, const Camera& camera, const std::vector<glm::vec2>& lasso);

/// Even-odd point-in-polygon test.
bool point_in_polygon(glm::vec2 p, const std::vector<glm::vec2>& poly);

}  // namespace prism::render
