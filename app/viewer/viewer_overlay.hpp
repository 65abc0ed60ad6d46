#pragma once
// What the viewer draws over the points with Dear ImGui: labels (the hovered,
// selected and neighbour points, class names at their centres, and the label
// text of every point that stands apart on screen, never overlapping), the
// hover tooltip with the row's metadata, the legend or colour bar, and the
// box or lasso being dragged.
#include <string>
#include <vector>

#include <glm/glm.hpp>

#include "prism/render/screen.hpp"

namespace prism::app::viewer {

class ViewerApp;

class ViewerOverlay {
 public:
  explicit ViewerOverlay(ViewerApp& app) : app_(app) {}
  void draw();
  void positions_changed() { centers_dirty_ = true; }
  void labels_changed() { centers_dirty_ = true; }

 private:
  void labels();
  void tooltip();
  void legend();
  void drag_shapes();
  void update_centers();

  ViewerApp& app_;
  // Points that stand apart, for the current visible set.
  std::vector<render::ScreenPoint> separated_;
  uint64_t separated_version_ = ~uint64_t(0);
  // Labels of the points near the cursor: within kNearCursorPx (display
  // pixels), at most kNearCursorLabels, for the cursor and visible set below.
  static constexpr float kNearCursorPx = 90.0f;
  static constexpr int kNearCursorLabels = 12;
  glm::vec2 near_cursor_at_{-1.0f};
  uint64_t near_version_ = ~uint64_t(0);
  std::vector<render::ScreenPoint> near_cursor_;
  // Class centres of the label column (recomputed at most 4 times a second).
  bool centers_dirty_ = true;
  double centers_time_ = -1;
  std::vector<glm::vec3> centers_;
  std::vector<std::string> center_names_;
  std::vector<int64_t> center_counts_;
  // The legend window's box in the last frame (labels keep out of it).
  glm::vec2 legend_min_{0.0f}, legend_max_{0.0f};
};

}  // namespace prism::app::viewer
