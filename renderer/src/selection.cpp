#include "prism/render/selection.hpp"

#include <algorithm>
#include <cmath>

namespace prism::render {

std::vector<float> project_points(ConstView y, const Camera& camera) {
  PRISM_EXPECTS(y.cols == 2 || y.cols == 3, "positions must have 2 or 3 columns, got ", y.cols);
  std::vector<float> px(size_t(y.rows) * 2);
  const glm::mat4 m = camera.view_proj();
  const float w = float(camera.width()), h = float(camera.height());
  const int64_t n = y.rows;
#pragma omp parallel for schedule(static) if (n > 50000)
  for (int64_t i = 0; i < n; ++i) {
    const float* r = y.row(i);
    const glm::vec4 c = m * glm::vec4(r[0], r[1], y.cols == 3 ? r[2] : 0.0f, 1.0f);
    const float z = c.z / c.w;
    if (c.w <= 0.0f || z < 0.0f || z > 1.0f) {  // the GPU clips these too
      px[i * 2] = px[i * 2 + 1] = NAN;
    } else {
      px[i * 2] = (c.x / c.w + 1.0f) * 0.5f * w;
      px[i * 2 + 1] = (c.y / c.w + 1.0f) * 0.5f * h;
    }
  }
  return px;
}

namespace {
// Rows for which keep(x, y) holds, ascending: a flag per row in parallel,
// then one ordered compaction, so the result never depends on thread timing.
template <class Keep>
std::vector<int64_t> select_where(const std::vector<float>& px, Keep keep) {
  const int64_t n = int64_t(px.size() / 2);
  std::vector<uint8_t> flag(static_cast<size_t>(n));
#pragma omp parallel for schedule(static) if (n > 50000)
  for (int64_t i = 0; i < n; ++i) {
    const float x = px[i * 2], y = px[i * 2 + 1];
    flag[i] = !std::isnan(x) && keep(glm::vec2(x, y));
  }
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i)
    if (flag[i]) out.push_back(i);
  return out;
}
}  // namespace

std::vector<int64_t> select_box(ConstView y, const Camera& camera, glm::vec2 a, glm::vec2 b) {
  const glm::vec2 lo = glm::min(a, b), hi = glm::max(a, b);
  return select_where(project_points(y, camera), [&](glm::vec2 p) {
    return p.x >= lo.x && p.x <= hi.x && p.y >= lo.y && p.y <= hi.y;
  });
}

bool point_in_polygon(glm::vec2 p, const std::vector<glm::vec2>& poly) {
  bool inside = false;
  const size_t n = poly.size();
  for (size_t i = 0, j = n - 1; i < n; j = i++) {
    const glm::vec2 a = poly[i], b = poly[j];
    if ((a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

std::vector<int64_t> select_lasso(ConstView y, const Camera& camera, const std::vector<glm::vec2>& lasso) {
  if (lasso.size() < 3) return {};
  glm::vec2 lo(INFINITY), hi(-INFINITY);
  for (auto v : lasso) lo = glm::min(lo, v), hi = glm::max(hi, v);
  return select_where(project_points(y, camera), [&](glm::vec2 p) {
    return p.x >= lo.x && p.x <= hi.x && p.y >= lo.y && p.y <= hi.y && point_in_polygon(p, lasso);
  });
}

}  // namespace prism::render
