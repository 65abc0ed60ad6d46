#include "prism/render/screen.hpp"

#include <algorithm>
#include <cmath>

namespace prism::render {

std::vector<ScreenPoint> visible_points(ConstView y, const Camera& camera, std::span<const uint32_t> rows,
                                        bool flat) {
  PRISM_EXPECTS(y.cols == 2 || y.cols == 3, "positions must have 2 or 3 columns, got ", y.cols);
  const glm::mat4 m = camera.view_proj();
  const float w = float(camera.width()), h = float(camera.height());
  const int64_t n = rows.empty() ? y.rows : int64_t(rows.size());
  const bool three = y.cols == 3 && !flat;
  // A flag pass in parallel, then one ordered compaction: the order never
  // depends on thread timing.
  std::vector<ScreenPoint> all(static_cast<size_t>(n));
  std::vector<uint8_t> keep(static_cast<size_t>(n), 0);
#pragma omp parallel for schedule(static) if (n > 50000)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = rows.empty() ? i : int64_t(rows[size_t(i)]);
    const float* p = y.row(r);
    const glm::vec4 c = m * glm::vec4(p[0], p[1], three ? p[2] : 0.0f, 1.0f);
    if (!(c.w > 0.0f)) continue;
    const float z = c.z / c.w;
    if (z < 0.0f || z > 1.0f) continue;
    const glm::vec2 px((c.x / c.w + 1.0f) * 0.5f * w, (c.y / c.w + 1.0f) * 0.5f * h);
    if (!(px.x >= 0.0f && px.y >= 0.0f && px.x < w && px.y < h)) continue;  // NaN fails too
    all[size_t(i)] = {px, c.w, r};
    keep[size_t(i)] = 1;
  }
  size_t out = 0;
  for (size_t i = 0; i < all.size(); ++i)
    if (keep[i]) all[out++] = all[i];
  all.resize(out);
  return all;
}

std::vector<ScreenPoint> separated_points(std::span<const ScreenPoint> visible, int width, int height,
                                          float cell_px, int max_per_cell) {
  cell_px = std::max(cell_px, 1.0f);
  const int gx = std::max(1, int(std::ceil(float(width) / cell_px)));
  const int gy = std::max(1, int(std::ceil(float(height) / cell_px)));
  auto cell = [&](glm::vec2 p) {
    const int x = std::clamp(int(p.x / cell_px), 0, gx - 1), y = std::clamp(int(p.y / cell_px), 0, gy - 1);
    return size_t(y) * size_t(gx) + size_t(x);
  };
  std::vector<uint16_t> count(size_t(gx) * size_t(gy), 0);
  for (const ScreenPoint& p : visible) {
    uint16_t& c = count[cell(p.px)];
    if (c < UINT16_MAX) ++c;
  }
  std::vector<ScreenPoint> out;
  for (const ScreenPoint& p : visible)
    if (count[cell(p.px)] <= max_per_cell) out.push_back(p);
  std::stable_sort(out.begin(), out.end(), [](const ScreenPoint& a, const ScreenPoint& b) { return a.w < b.w; });
  return out;
}

FrameBudget::FrameBudget(double target_ms, int64_t min_points, int64_t start_points)
    : target_ms_(target_ms), min_points_(std::max<int64_t>(min_points, 1)),
      budget_(std::max(start_points, min_points_)) {}

int64_t FrameBudget::points(int64_t n, bool moving) const { return moving ? std::min(n, budget_) : n; }

void FrameBudget::record(double ms, int64_t drawn, bool moving) {
  if (!(ms > 0.0) || !std::isfinite(ms)) return;
  if (drawn <= 0) {  // the last points image shown again: what a frame costs without points
    fixed_ms_ = 0.8 * fixed_ms_ + 0.2 * ms;
    return;
  }
  // At least a quarter of the frame is put on the points, so a noisy fixed
  // part never makes them look free.
  const double cost = std::max(ms - fixed_ms_, 0.25 * ms) / double(drawn);
  per_point_ms_ = per_point_ms_ > 0 ? (moving ? 0.6 : 0.8) * per_point_ms_ + (moving ? 0.4 : 0.2) * cost : cost;
  const double room = target_ms_ - fixed_ms_;
  const double fit = room > 0 ? room / per_point_ms_ : 0.0;
  budget_ = std::max<int64_t>(min_points_, int64_t(std::min(fit, 9.0e18)));
}

}  // namespace prism::render
