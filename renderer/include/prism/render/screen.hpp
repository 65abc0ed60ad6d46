#pragma once
// What a frame shows, worked out on the CPU with the camera the GPU uses:
// the points on screen, which of them stand apart enough to carry a label or
// a thumbnail, and how many points a moving camera's frame can draw.
#include <cstdint>
#include <span>
#include <vector>

#include <glm/glm.hpp>

#include "prism/matrix.hpp"
#include "prism/render/camera.hpp"

namespace prism::render {

/// A point inside the viewport.
struct ScreenPoint {
  glm::vec2 px{0.0f};  ///< pixels from the top-left
  float w = 1.0f;      ///< clip-space w: the eye distance (perspective) or 1 (orthographic)
  int64_t row = -1;
};

/// The rows of y (n x 2 or n x 3; z ignored when `flat`) that land inside the
/// camera's viewport, in the order given: `rows` (e.g. the part of a draw
/// order a moving frame draws), or every row when it is empty.
std::vector<ScreenPoint> visible_points(ConstView y, const Camera& camera, std::span<const uint32_t> rows = {},
                                        bool flat = false);

/// The visible points that stand apart: at most `max_per_cell` visible points
/// share their square cell of `cell_px` pixels, so a label or an image beside
/// them would be read as theirs. Returned nearest the camera first (smallest
/// w), ties in the input order.
std::vector<ScreenPoint> separated_points(std::span<const ScreenPoint> visible, int width, int height,
                                          float cell_px, int max_per_cell = 1);

/// How many points a frame of a moving camera draws so that frames take about
/// `target_ms`: the frame time is modelled as a fixed part (panels, copying,
/// measured on frames that drew no points) plus a cost per point (measured on
/// moving frames), and the budget is what fits. At rest every point is drawn.
class FrameBudget {
 public:
  explicit FrameBudget(double target_ms = 50.0, int64_t min_points = 20000, int64_t start_points = 200000);
  /// Points the next frame draws: all n at rest, min(n, budget) while moving.
  int64_t points(int64_t n, bool moving) const;
  /// A finished frame: its time in ms, the points it drew (0: it showed the
  /// last points image again) and whether the camera was moving.
  void record(double ms, int64_t drawn, bool moving);
  int64_t budget() const { return budget_; }
  double target_ms() const { return target_ms_; }
  void set_target_ms(double ms) { target_ms_ = ms; }
  double per_point_ns() const { return per_point_ms_ * 1e6; }
  double fixed_ms() const { return fixed_ms_; }

 private:
  double target_ms_;
  int64_t min_points_, budget_;
  double fixed_ms_ = 5.0;       // estimate of a frame without points
  double per_point_ms_ = 0.0;   // 0 until measured
};

}  // namespace prism::render
