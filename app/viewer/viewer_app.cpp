#include "viewer_app.hpp"

#include <GLFW/glfw3.h>
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "common.hpp"
#include "prism/render/selection.hpp"
#include "viewer_overlay.hpp"
#include "viewer_panels.hpp"

namespace prism::app::viewer {

namespace {
// A camera that changed within this time is moving: frames draw the budget.
constexpr double kRestSeconds = 0.15;
// Smaller thumbnails stay dots (level of detail), pixels.
constexpr float kImageMinPx = 10.0f;

// The one place ImGui's IO becomes the input handler's snapshot.
InputSnapshot snapshot() {
  const ImGuiIO& io = ImGui::GetIO();
  InputSnapshot s;
  s.mouse = {io.MousePos.x * io.DisplayFramebufferScale.x, io.MousePos.y * io.DisplayFramebufferScale.y};
  s.mouse_valid = ImGui::IsMousePosValid();
  s.over_ui = io.WantCaptureMouse;
  s.left_pressed = ImGui::IsMouseClicked(ImGuiMouseButton_Left);
  s.left_down = ImGui::IsMouseDown(ImGuiMouseButton_Left);
  s.left_released = ImGui::IsMouseReleased(ImGuiMouseButton_Left);
  s.pan_dragging = ImGui::IsMouseDragging(ImGuiMouseButton_Right) || ImGui::IsMouseDragging(ImGuiMouseButton_Middle);
  s.wheel = io.MouseWheel;
  s.shift = io.KeyShift;
  s.ctrl = io.KeyCtrl;
  s.alt = io.KeyAlt;
  if (io.WantCaptureKeyboard) return s;
  // ImGui 1.86 indexes keys by the backend's codes (GLFW_KEY_*).
  const std::pair<int, Key> keys[] = {
      {GLFW_KEY_F, Key::fit},         {GLFW_KEY_I, Key::isolate},     {GLFW_KEY_ESCAPE, Key::clear},
      {GLFW_KEY_N, Key::neighbours},  {GLFW_KEY_B, Key::box_tool},    {GLFW_KEY_L, Key::lasso_tool},
      {GLFW_KEY_2, Key::view_2d},     {GLFW_KEY_3, Key::view_3d},     {GLFW_KEY_H, Key::help},
      {GLFW_KEY_F1, Key::help},       {GLFW_KEY_P, Key::screenshot},  {GLFW_KEY_SPACE, Key::run_stop}};
  for (const auto& [code, key] : keys)
    if (ImGui::IsKeyPressed(code)) s.keys.push_back(key);
  if (io.KeyCtrl && ImGui::IsKeyPressed(GLFW_KEY_A)) s.keys.push_back(Key::select_all_matches);
  if (io.KeyCtrl && ImGui::IsKeyPressed(GLFW_KEY_Q)) s.keys.push_back(Key::quit);
  return s;
}

double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
}  // namespace

ViewerApp::ViewerApp(ViewerModel& model, render::Window& window, ViewerConfig config)
    : model_(model), window_(window), params_(config.params), images_(config.images),
      panel_right_(ViewerPanels::kPanelX + ViewerPanels::kPanelWidth), budget_(config.frame_ms, 5000, 100000) {
  const int64_t n = model_.rows();
  style_.point_size = config.point_size > 0
                          ? config.point_size
                          : std::clamp(0.5f * std::sqrt(1.0e6f / float(std::max<int64_t>(n, 1))), 2.0f, 8.0f);
  style_.background = {250, 250, 250, 255};
  style_.image_min_px = kImageMinPx;
  // Neighbours by the metric the projection was made with: --metric when given;
  // cosine for unit-normalised rows (text embeddings); else the default.
  if (config.metric_given)
    model_.set_neighbor_metric(params_.metric, cat("--metric ", to_string(params_.metric)));
  else if (config.projection_metric)
    model_.set_neighbor_metric(*config.projection_metric,
                               cat("the projection's metric, from ", config.projection_metric_source));
  else if (ViewerModel::rows_unit_normalised(model_.data().x))
    model_.set_neighbor_metric(Metric::cosine, "the rows are unit-normalised");
  else
    model_.set_neighbor_metric(params_.metric, "the rows are not unit-normalised; --metric cosine to change");
  note(cat("neighbours in the original space by ", to_string(model_.neighbor_metric()), " (",
           model_.neighbor_metric_reason(), ")"));
  // A shuffled order makes every prefix a uniform sample: the moving-camera budget.
  window_.set_draw_order(render::DrawOrder::shuffled, config.seed);
  camera_.set_viewport(window_.width(), window_.height());  // the first fit needs the real aspect ratio
  // Positions first: the window's colour and size buffers are sized by them.
  upload_projection(true);
  if (images_) {
    window_.set_thumbnails(images_);
    note(cat("thumbnails: ", images_->describe(), " (zoom in to see them; 'images' in the panel)"));
  }
  panels_ = std::make_unique<ViewerPanels>(*this);
  overlay_ = std::make_unique<ViewerOverlay>(*this);
  set_color_by(config.color_by);
  if (!config.label_by.empty()) set_label_by(config.label_by);
  if (!config.size_by.empty()) set_size_by(config.size_by);
  last_change_ = std::chrono::steady_clock::now();
}

ViewerApp::~ViewerApp() = default;

void ViewerApp::note(const std::string& message) { prism::app::note(message); }

void ViewerApp::run_reduction() {
  // The neighbours follow the metric this run uses (cosine ranks unit rows as euclidean does).
  if (!(params_.metric == Metric::euclidean && ViewerModel::rows_unit_normalised(model_.data().x)))
    set_metric(params_.metric, cat("the projection's metric (", to_string(params_.method), ")"));
  first_live_ = true;
  live_.start(model_.data().x, params_);
}

bool ViewerApp::frame(float dt) {
  const auto now = std::chrono::steady_clock::now();
  const int64_t n = model_.rows();
  if (frame_start_.time_since_epoch().count() != 0) {
    frame_ms_ = ms_between(frame_start_, now);
    const int64_t drew = window_.last_frame_drew_points() ? frame_points_ : 0;
    // The budget prices sprites: a resting frame by the compute rasteriser says
    // nothing of them. A moving one (the budget covered every point) counts, or
    // the budget could never come down again.
    if (!(drew > 0 && !moving_ && window_.last_rasterizer() == render::Rasterizer::compute))
      budget_.record(frame_ms_, drew, moving_);
    if (frame_log_.size() < 100000) frame_log_.push_back({frame_ms_, drew, moving_});
  }
  frame_start_ = now;
  window_.new_frame();
  poll_live();
  // A script's mouse (set_scripted_mouse) goes the way a person's does.
  if (!scripted_ || window_.has_scripted_mouse()) apply(input_.update(snapshot(), is_2d()));
  camera_.set_viewport(window_.width(), window_.height());
  camera_.update(dt);

  const glm::mat4 vp = camera_.view_proj();
  if (vp != last_view_proj_ || camera_.animating()) last_change_ = now;
  last_view_proj_ = vp;
  moving_ = ms_between(last_change_, now) < kRestSeconds * 1000.0;
  frame_points_ = budget_.points(n, moving_);
  style_.max_points = frame_points_ < n ? frame_points_ : 0;
  style_.isolate = display_.isolate || model_.has_focus();
  style_.image_size = image_world_size();

  panels_->draw();
  overlay_->draw();
  request_thumbnails();
  if (states_dirty_) {
    window_.set_states(model_.point_states());
    states_dirty_ = false;
  }
  window_.render(camera_, style_);
  // The points image on screen has every point once a frame drew it with
  // max_points 0 (a later frame may show that image again unchanged).
  if (window_.last_frame_drew_points())
    image_has_all_ = style_.max_points == 0 && window_.last_frame_complete();
  rested_ = !moving_ && image_has_all_;
  if (!error_.empty() && scripted_) throw InputError(error_);
  return !quit_ && !window_.should_close();
}

void ViewerApp::finish() {
  live_.join();
  window_.wait_idle();
}

void ViewerApp::apply(const std::vector<InputCommand>& commands) {
  for (const InputCommand& c : commands) {
    switch (c.kind) {
      case InputCommand::hover:
        if (c.valid) {
          window_.set_pick_pixel(int(c.a.x), int(c.a.y));
          set_hovered(window_.picked());
        } else {
          window_.set_pick_pixel(-1, -1);
          set_hovered(-1);
        }
        break;
      case InputCommand::orbit: camera_.orbit(c.a, c.b); break;
      case InputCommand::pan: camera_.pan(c.a); break;
      case InputCommand::zoom: camera_.zoom_at(c.a, c.factor); break;
      case InputCommand::click: {
        const int64_t id = model_.hovered();
        if (id >= 0) select({id}, c.mode);
        else if (c.mode == SelectMode::replace) clear_selection();
        break;
      }
      case InputCommand::box: select(render::select_box(model_.y(), camera_, c.a, c.b), c.mode); break;
      case InputCommand::lasso: select(render::select_lasso(model_.y(), camera_, c.polygon), c.mode); break;
      case InputCommand::key_press: apply_key(c.key); break;
    }
  }
}

void ViewerApp::apply_key(Key k) {
  switch (k) {
    case Key::fit: fit(true); break;
    case Key::isolate: display_.isolate = !display_.isolate; break;
    case Key::clear:
      clear_selection();
      clear_focus();
      break;
    case Key::select_all_matches: select_matches(); break;
    case Key::neighbours:
      if (!model_.selection().empty()) find_neighbours(panels_->k());
      break;
    case Key::box_tool:
    case Key::lasso_tool: break;  // the handler switched its tool
    case Key::view_2d: set_view_2d(true); break;
    case Key::view_3d: set_view_2d(false); break;
    case Key::help: display_.show_help = !display_.show_help; break;
    case Key::screenshot: screenshot(panels_->screenshot_path()); break;
    case Key::run_stop: live_.running() ? live_.stop() : run_reduction(); break;
    case Key::quit: quit_ = true; break;
  }
}

void ViewerApp::set_view_2d(bool two_d) {
  display_.view_2d = two_d;
  camera_.set_projection(is_2d() ? render::Projection::orthographic : render::Projection::perspective);
  if (is_2d()) camera_.set_angles(0, 0);
  else camera_.set_angles(30, 20);
  fit(false);
}

void ViewerApp::fit(bool animate) {
  const render::Camera::State before = camera_.state();
  const int W = window_.width(), H = window_.height();
  const float off = panel_right_ > 0 && panel_right_ < 0.5f * W ? panel_right_ : 0.0f;
  camera_.set_viewport(int(W - off), H);
  camera_.fit_points(model_.y(), 1.0f, is_2d());
  camera_.set_viewport(W, H);
  camera_.pan({0.5f * off, 0.0f});
  if (animate) {
    const render::Camera::State goal = camera_.state();
    camera_.set_state(before);
    camera_.animate_to(goal);
  }
}

void ViewerApp::look_at(int64_t row, float zoom) {
  PRISM_EXPECTS(row >= 0 && row < model_.rows(), "row ", row, " is out of range (0..", model_.rows() - 1, ")");
  PRISM_EXPECTS(zoom > 0, "the zoom factor must be positive");
  render::Camera::State s = camera_.state();
  const float* p = model_.y().row(row);
  s.target = {p[0], p[1], model_.y().cols() == 3 && !is_2d() ? p[2] : 0.0f};
  s.distance /= zoom;
  camera_.set_state(s);
}

bool ViewerApp::project_row(int64_t row, glm::vec2* px) const {
  const float* p = model_.y().row(row);
  return camera_.project({p[0], p[1], model_.y().cols() == 3 && !is_2d() ? p[2] : 0.0f}, px);
}

void ViewerApp::upload_projection(bool refit) {
  window_.set_positions(model_.y());
  ++positions_version_;
  bounds_ = render::compute_bounds(model_.y());
  if (overlay_) overlay_->positions_changed();
  if (refit) set_view_2d(display_.view_2d);
}

void ViewerApp::poll_live() {
  if (!live_.take(live_buffer_, &live_version_)) return;
  const bool dims_changed = live_buffer_.cols() != model_.y().cols();
  model_.set_projection(live_buffer_);
  upload_projection(first_live_ || dims_changed);
  last_change_ = std::chrono::steady_clock::now();  // moving points: the budget applies
  if (!first_live_ && display_.auto_fit) {
    const double now = ImGui::GetTime();
    if (now - last_fit_ > 0.5) {
      fit(true);
      last_fit_ = now;
    }
  }
  first_live_ = false;
}

void ViewerApp::set_color_by(const std::optional<std::string>& column) {
  if (column) {
    model_.color_by(*column);
    const int label = model_.meta().label_column;
    color_column_ = !column->empty() ? *column : label >= 0 ? model_.meta().names[size_t(label)] : std::string();
  } else {
    model_.color_uniform();
    color_column_.clear();
  }
  window_.set_colors(model_.colors().packed);
  states_dirty_ = true;  // the class focus was cleared
  if (!model_.colors().note.empty()) note(cat("colour: ", model_.colors().note));
}

void ViewerApp::set_label_by(const std::string& column) {
  model_.label_by(column);
  overlay_->labels_changed();
}

void ViewerApp::set_size_by(const std::string& column) {
  model_.size_by(column);
  window_.set_sizes(model_.sizes());
}

void ViewerApp::toggle_focus(int32_t c, bool add) {
  model_.toggle_focus(c, add);
  states_dirty_ = true;
}

void ViewerApp::focus_class(const std::string& name, bool add) {
  model_.focus_class(name, add);
  states_dirty_ = true;
}

void ViewerApp::clear_focus() {
  model_.clear_focus();
  states_dirty_ = true;
}

void ViewerApp::search(const std::string& text, const std::string& column, bool regex) {
  model_.search(text, column, regex);
  states_dirty_ = true;
}

void ViewerApp::select(const std::vector<int64_t>& rows, SelectMode mode) {
  model_.select(rows, mode);
  states_dirty_ = true;
}

void ViewerApp::select_matches(SelectMode mode) {
  model_.select_matches(mode);
  states_dirty_ = true;
}

void ViewerApp::select_neighbours(SelectMode mode) {
  std::vector<int64_t> ids;
  for (const Neighbor& nb : model_.neighbors()) ids.push_back(nb.row);
  select(ids, mode);
}

void ViewerApp::clear_selection() {
  model_.clear_selection();
  model_.clear_neighbors();
  states_dirty_ = true;
}

void ViewerApp::set_hovered(int64_t row) {
  if (row == model_.hovered()) return;
  model_.set_hovered(row);
  states_dirty_ = true;
}

void ViewerApp::find_neighbours(int k, std::optional<Metric> metric) {
  PRISM_EXPECTS(!model_.selection().empty(), "neighbours need a selected point");
  if (metric) model_.find_neighbors(model_.selection().front(), k, *metric);
  else model_.find_neighbors(model_.selection().front(), k);
  states_dirty_ = true;
}

void ViewerApp::set_metric(Metric metric, const std::string& reason) {
  model_.set_neighbor_metric(metric, reason);
}

float ViewerApp::image_world_size() const {
  if (!images_ || !display_.images) return 0.0f;
  // About the spacing of evenly spread points: thumbnails tile the cloud, and
  // grow past the dot threshold as the view zooms in.
  const glm::vec3 e = bounds_.hi - bounds_.lo;
  const float side = std::max({e.x, e.y, is_2d() ? 0.0f : e.z, 1e-6f});
  return 1.5f * display_.image_scale * side / std::sqrt(float(std::max<int64_t>(model_.rows(), 1)));
}

const std::vector<render::ScreenPoint>& ViewerApp::visible_points() {
  const glm::mat4 vp = camera_.view_proj();
  if (vp == visible_view_proj_ && positions_version_ == visible_positions_version_ &&
      frame_points_ == visible_points_drawn_)
    return visible_;
  visible_view_proj_ = vp;
  visible_positions_version_ = positions_version_;
  visible_points_drawn_ = frame_points_;
  // Only what this frame draws: the sample while moving.
  const auto& order = window_.draw_order();
  std::span<const uint32_t> rows;
  if (frame_points_ < model_.rows() && !order.empty()) rows = std::span(order).first(size_t(frame_points_));
  visible_ = render::visible_points(model_.y(), camera_, rows, is_2d());
  ++visible_version_;
  return visible_;
}

void ViewerApp::request_thumbnails() {
  if (style_.image_size <= 0) return;
  const auto& visible = visible_points();
  if (visible_version_ == requested_version_ && style_.image_size == requested_size_) return;
  requested_version_ = visible_version_;
  requested_size_ = style_.image_size;
  // A thumbnail's edge in pixels at clip w = 1 (as the vertex shader computes it).
  const float scale = style_.image_size * std::abs(camera_.proj()[1][1]) * 0.5f * float(window_.height());
  std::vector<std::pair<float, int64_t>> near;
  for (const render::ScreenPoint& p : visible)
    if (scale / p.w >= style_.image_min_px) near.emplace_back(p.w, p.row);
  std::sort(near.begin(), near.end());  // nearest first: they load first
  std::vector<int64_t> wanted(near.size());
  for (size_t i = 0; i < near.size(); ++i) wanted[i] = near[i].second;
  window_.request_thumbnails(wanted);
}

}  // namespace prism::app::viewer
