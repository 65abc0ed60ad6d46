#pragma once
// The viewer's controller: one window, one model, the camera and what is
// drawn. Input (input.hpp), panels (viewer_panels.cpp), the scene overlay
// (viewer_overlay.cpp: labels, tooltip, legend) and scripts (viewer_script.cpp)
// all act through its public functions.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "input.hpp"
#include "live_reduction.hpp"
#include "prism/pipeline.hpp"
#include "prism/render/camera.hpp"
#include "prism/render/screen.hpp"
#include "prism/render/thumbnails.hpp"
#include "prism/render/window.hpp"
#include "viewer_model.hpp"

namespace prism::app::viewer {

/// What `prism view` was asked for.
struct ViewerConfig {
  ReduceParams params;          ///< what Run starts (--method, --dims, the parameters)
  bool metric_given = false;    ///< --metric was on the command line
  /// The metric the --projection was made with, when its run summary says
  /// (`prism reduce --summary`), and where that was read ("" when unknown).
  std::optional<Metric> projection_metric;
  std::string projection_metric_source;
  std::string color_by, label_by, size_by;
  float point_size = 0;         ///< pixels; 0 picks one from the point count
  std::shared_ptr<const render::ThumbnailSource> images;  ///< thumbnails, or nullptr
  uint64_t seed = 0;            ///< draw order of the moving-camera sample
  double frame_ms = 50;         ///< frame time a moving camera aims at
};

/// Display choices the panels and scripts change directly.
struct Display {
  bool view_2d = false;         ///< flat view of a 3-column projection
  bool isolate = false;         ///< dim all but the selection, matches and neighbours
  bool class_labels = true;     ///< class names at their centres
  bool point_labels = true;     ///< label text of the points that stand apart on screen
  int label_limit = 1000;       ///< at most this many point labels
  bool images = true;           ///< thumbnails in place of dots (when there are images)
  float image_scale = 1.0f;     ///< thumbnail size, times the automatic one
  bool auto_fit = true;         ///< follow a live reduction
  bool show_help = false;
  bool tooltip = true;          ///< metadata of the hovered row
};

/// One finished frame, for frame-time statistics (the script's frame-stats).
struct FrameRecord {
  double ms = 0;          ///< wall time from this frame's start to the next one's
  int64_t points = 0;     ///< points it drew (0: it showed the last points image again)
  bool moving = false;    ///< the camera (or the points) had moved within the rest time
};

/// A label drawn in the last frame (for tests and export-labels).
struct ShownLabel {
  int64_t row = -1;   ///< -1 for a class label
  std::string text;
  glm::vec2 box_min{0.0f}, box_max{0.0f};  ///< framebuffer pixels
  glm::vec2 anchor{0.0f};  ///< the point (or class centre) it names, framebuffer pixels
  float depth = 0.0f;      ///< clip w of a point label (distance from the eye); 0 for others
  bool point = false;      ///< one of the on-screen point labels (not hovered/selected/class)
};

/// A legend entry or other overlay box drawn in the last frame, framebuffer pixels.
struct OverlayBox {
  int32_t index = -1;  ///< class index for legend entries
  glm::vec2 box_min{0.0f}, box_max{0.0f};
};

class ViewerApp {
 public:
  ViewerApp(ViewerModel& model, render::Window& window, ViewerConfig config);
  ~ViewerApp();

  /// One frame: input (unless scripted), panels, overlay, render. False to quit.
  bool frame(float dt);
  void finish();

  ViewerModel& model() { return model_; }
  render::Window& window() { return window_; }
  render::Camera& camera() { return camera_; }
  render::PointStyle& style() { return style_; }
  ReduceParams& params() { return params_; }
  LiveReduction& live() { return live_; }
  InputHandler& input() { return input_; }
  Display& display() { return display_; }
  bool has_images() const { return images_ != nullptr; }
  /// Scripts drive the viewer: the mouse and keyboard are ignored.
  void set_scripted() { scripted_ = true; }
  bool scripted() const { return scripted_; }

  // ---- actions
  void run_reduction();
  void stop_reduction() { live_.stop(); }
  /// Fits the data into the part of the window right of the panel.
  void fit(bool animate);
  bool is_2d() const { return display_.view_2d || model_.y().cols() == 2; }
  void set_view_2d(bool two_d);
  /// Looks at row `row` (centred), `zoom` times closer than now.
  void look_at(int64_t row, float zoom);
  /// Colour by `column` ("" = the label column); std::nullopt = one colour.
  void set_color_by(const std::optional<std::string>& column);
  /// The column the colours were asked for ("" for one colour); it may be an
  /// identifier column, coloured uniformly (model().colors().note says why).
  const std::string& color_column() const { return color_column_; }
  void set_label_by(const std::string& column);
  void set_size_by(const std::string& column);
  void toggle_focus(int32_t class_index, bool add);
  void focus_class(const std::string& name, bool add);
  void clear_focus();
  void search(const std::string& text, const std::string& column, bool regex);
  void select(const std::vector<int64_t>& rows, SelectMode mode = SelectMode::replace);
  void select_matches(SelectMode mode = SelectMode::replace);
  void select_neighbours(SelectMode mode = SelectMode::replace);
  void clear_selection();
  void set_hovered(int64_t row);
  /// Neighbours of the first selected row (k), by the model's metric or `metric`.
  void find_neighbours(int k, std::optional<Metric> metric = std::nullopt);
  void set_metric(Metric metric, const std::string& reason);
  void screenshot(const std::string& path) { window_.request_screenshot(path); }
  void quit() { quit_ = true; }
  /// Something the person should read in the panel (red); scripts fail on it.
  void set_error(std::string message) { error_ = std::move(message); }
  const std::string& error() const { return error_; }
  void note(const std::string& message);

  // ---- what the overlay and panels show
  int64_t frame_points() const { return frame_points_; }  ///< points the last frame drew
  bool moving() const { return moving_; }
  /// The camera rests and every point has been drawn since it stopped.
  bool rested() const { return rested_; }
  /// Milliseconds since the camera (or the points) last moved.
  double ms_since_change() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - last_change_).count();
  }
  const render::FrameBudget& budget() const { return budget_; }
  double frame_ms() const { return frame_ms_; }
  float panel_right() const { return panel_right_; }
  void set_panel_right(float px) { panel_right_ = px; }
  const std::vector<ShownLabel>& shown_labels() const { return shown_labels_; }
  /// Frames since the last clear_frame_log().
  const std::vector<FrameRecord>& frame_log() const { return frame_log_; }
  void clear_frame_log() { frame_log_.clear(); }
  std::vector<ShownLabel>& shown_labels_mut() { return shown_labels_; }
  /// The legend's entries (class index and box) and the tooltip's box in the
  /// last frame (index -1 and an empty box when none was drawn).
  const std::vector<OverlayBox>& legend_entries() const { return legend_entries_; }
  std::vector<OverlayBox>& legend_entries_mut() { return legend_entries_; }
  const OverlayBox& tooltip_box() const { return tooltip_box_; }
  OverlayBox& tooltip_box_mut() { return tooltip_box_; }
  /// The legend's window and its colour bar (continuous colours) in the last frame.
  const OverlayBox& legend_box() const { return legend_box_; }
  OverlayBox& legend_box_mut() { return legend_box_; }
  const OverlayBox& colour_bar_box() const { return colour_bar_box_; }
  OverlayBox& colour_bar_box_mut() { return colour_bar_box_; }
  /// Visible points of the current frame (computed once per camera change).
  const std::vector<render::ScreenPoint>& visible() { return visible_points(); }
  /// Changes whenever visible() is recomputed.
  uint64_t visible_version() const { return visible_version_; }
  /// Thumbnail edge in world units (0: thumbnails off).
  float image_world_size() const;
  /// Pixel of row `row` on screen (false when behind the eye).
  bool project_row(int64_t row, glm::vec2* px) const;

 private:
  void upload_projection(bool refit);
  void poll_live();
  void apply(const std::vector<InputCommand>& commands);
  void apply_key(Key k);
  const std::vector<render::ScreenPoint>& visible_points();
  void request_thumbnails();

  ViewerModel& model_;
  render::Window& window_;
  ReduceParams params_;
  std::shared_ptr<const render::ThumbnailSource> images_;
  render::Camera camera_;
  render::PointStyle style_;
  Display display_;
  InputHandler input_;
  LiveReduction live_;
  Matrix live_buffer_;
  uint64_t live_version_ = 0;
  bool first_live_ = false;
  double last_fit_ = 0;
  bool states_dirty_ = true, quit_ = false, scripted_ = false;
  std::string error_;
  std::string color_column_;
  float panel_right_;
  // The moving-camera budget: a camera that changed within kRestSeconds is moving.
  render::FrameBudget budget_;
  glm::mat4 last_view_proj_{0.0f};
  std::chrono::steady_clock::time_point last_change_;
  std::chrono::steady_clock::time_point frame_start_;
  bool moving_ = false, rested_ = false, image_has_all_ = false;
  int64_t frame_points_ = 0;
  double frame_ms_ = 0;
  // Visible points, recomputed when the camera or the positions change.
  std::vector<render::ScreenPoint> visible_;
  glm::mat4 visible_view_proj_{0.0f};
  int64_t visible_points_drawn_ = -1;
  uint64_t positions_version_ = 0, visible_positions_version_ = ~uint64_t(0);
  uint64_t visible_version_ = 0, requested_version_ = ~uint64_t(0);
  float requested_size_ = 0;
  render::Bounds bounds_;
  std::vector<ShownLabel> shown_labels_;
  std::vector<OverlayBox> legend_entries_;
  OverlayBox tooltip_box_, legend_box_, colour_bar_box_;
  std::vector<FrameRecord> frame_log_;
  std::unique_ptr<class ViewerPanels> panels_;
  std::unique_ptr<class ViewerOverlay> overlay_;
};

}  // namespace prism::app::viewer
