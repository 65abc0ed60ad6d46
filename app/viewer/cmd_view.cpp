// prism view: the interactive viewer (GLFW window, Vulkan points, Dear ImGui
// panels), and its scripted mode for tests (--script actions.txt).
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "command.hpp"
#include "common.hpp"
#include "live_reduction.hpp"
#include "prism/params.hpp"
#include "reduce_options.hpp"
#include "prism/io.hpp"
#include "prism/render/camera.hpp"
#include "prism/render/figure.hpp"
#include "prism/render/selection.hpp"
#include "prism/render/text.hpp"
#include "prism/render/window.hpp"
#include "viewer_model.hpp"

namespace prism::app::viewer {
namespace {

using render::Camera;

/// One scripted action: the words of a line ("search", "shirt", ...), quotes removed.
struct Action {
  int line = 0;
  std::vector<std::string> words;
};

constexpr const char* kActions[] = {"wait", "run", "wait-run", "stop", "rotate", "zoom", "pan", "fit", "view",
                                   "color-by", "label-by", "point-size", "search", "select-matches", "select",
                                   "add", "select-box", "select-lasso", "click", "neighbours", "neighbors",
                                   "select-neighbours", "select-neighbors", "isolate", "clear", "export",
                                   "screenshot", "quit"};

std::vector<Action> read_script(const std::string& path) {
  std::ifstream in(path);
  PRISM_EXPECTS(in, "cannot read script ", path);
  std::vector<Action> actions;
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    Action a;
    a.line = line;
    std::string word;
    bool quoted = false, has_word = false;
    for (char c : text) {
      if (c == '"') {
        quoted = !quoted;
        has_word = true;
      } else if (!quoted && (c == ' ' || c == '\t' || c == '\r')) {
        if (has_word) a.words.push_back(word);
        word.clear();
        has_word = false;
      } else if (!quoted && c == '#' && !has_word) {
        break;  // comment
      } else {
        word += c;
        has_word = true;
      }
    }
    PRISM_EXPECTS(!quoted, path, " line ", line, ": unterminated quote");
    if (has_word) a.words.push_back(word);
    if (a.words.empty()) continue;
    const bool known = std::find(std::begin(kActions), std::end(kActions), a.words[0]) != std::end(kActions);
    if (!known) {
      std::string list;
      for (const char* k : kActions) list += cat(list.empty() ? "" : " ", k);
      throw InputError(cat(path, " line ", line, ": unknown action '", a.words[0], "' (", list, ")"));
    }
    actions.push_back(std::move(a));
  }
  return actions;
}

struct ViewOptions {
  InputOptions input;
  std::string projection;
  ReduceOptions reduce;  ///< --method, --dims and every reduction parameter, as `prism reduce`
  SeedOption seed;
  std::string script;
  std::string window_size = "1280x800";
  std::string color_by, label_by;
  float point_size = 0;
};

class ViewerApp {
 public:
  ViewerApp(ViewerModel& model, render::Window& window, const ViewOptions& o, uint64_t seed)
      : m_(model), w_(window), params_(o.reduce.resolve(seed)) {
    if (!o.projection.empty()) params_.dims = int(m_.y().cols());
    metric_ = params_.metric == Metric::cosine ? 1 : 0;
    style_.point_size = o.point_size > 0 ? o.point_size
                                         : std::clamp(0.5f * std::sqrt(1.0e6f / float(std::max<int64_t>(m_.rows(), 1))), 2.0f, 8.0f);
    style_.background = {250, 250, 250, 255};
    columns_ = m_.meta().names;
    if (!o.color_by.empty()) set_color_by(o.color_by);
    if (!o.label_by.empty()) m_.label_by(o.label_by);
    label_col_idx_ = m_.label_column();
    color_col_idx_ = m_.meta().find(m_.colors().column);
    cam_.set_viewport(w_.width(), w_.height());  // the first fit needs the real aspect ratio
    upload_projection(true);
    w_.set_colors(m_.colors().packed);
    states_dirty_ = true;
  }

  /// Starts the chosen reduction on the worker thread.
  void run_reduction() {
    first_live_ = true;
    live_.start(m_.data().x, params_);
  }

  bool running() const { return live_.running(); }

  /// One frame: input, panels, labels, render. Returns false to quit.
  bool frame(float dt) {
    w_.new_frame();
    poll_live();
    if (!scripted_) handle_input();
    cam_.set_viewport(w_.width(), w_.height());
    cam_.update(dt);
    panels();
    overlay();
    if (states_dirty_) {
      w_.set_states(m_.point_states());
      states_dirty_ = false;
    }
    style_.isolate = isolate_;
    w_.render(cam_, style_);
    if (!error_.empty() && scripted_) throw InputError(error_);
    return !quit_ && !w_.should_close();
  }

  /// Performs one scripted action; returns false while it needs more frames.
  bool act(const Action& a) {
    scripted_ = true;
    const auto& v = a.words;
    auto num = [&](size_t i) {
      PRISM_EXPECTS(i < v.size(), "script line ", a.line, ": '", v[0], "' needs more arguments");
      try {
        return std::stod(v[i]);
      } catch (const std::exception&) {
        throw InputError(cat("script line ", a.line, ": '", v[i], "' is not a number"));
      }
    };
    const std::string& cmd = v[0];
    if (cmd == "wait") {
      if (wait_frames_ < 0) wait_frames_ = v.size() > 1 ? int(num(1)) : 1;
      if (wait_frames_-- > 0) return false;
      wait_frames_ = -1;
    } else if (cmd == "run") {
      run_reduction();
    } else if (cmd == "wait-run") {
      if (live_.running()) return false;
      poll_live();
      const auto st = live_.status();
      PRISM_EXPECTS(st.stage != "error", "script line ", a.line, ": reduction failed: ", st.error);
    } else if (cmd == "stop") {
      live_.stop();
    } else if (cmd == "rotate") {
      cam_.rotate(float(num(1)), v.size() > 2 ? float(num(2)) : 0.0f);
    } else if (cmd == "zoom") {
      const double f = num(1);
      PRISM_EXPECTS(f > 0, "script line ", a.line, ": zoom factor must be positive");
      cam_.zoom_at({w_.width() * 0.5f, w_.height() * 0.5f}, float(1.0 / f));
    } else if (cmd == "pan") {
      cam_.pan({float(num(1)), float(num(2))});
    } else if (cmd == "fit") {
      fit(false);
    } else if (cmd == "view") {
      PRISM_EXPECTS(v.size() > 1 && (v[1] == "2d" || v[1] == "3d"), "script line ", a.line, ": view 2d|3d");
      set_view_2d(v[1] == "2d");
    } else if (cmd == "color-by") {
      set_color_by(v.size() > 1 ? v[1] : "");
    } else if (cmd == "label-by") {
      m_.label_by(v.size() > 1 ? v[1] : "");
      label_col_idx_ = m_.label_column();
      centers_dirty_ = true;
    } else if (cmd == "point-size") {
      style_.point_size = float(num(1));
    } else if (cmd == "search") {
      PRISM_EXPECTS(v.size() > 1, "script line ", a.line, ": search \"text\" [column] [regex]");
      search_text_ = v[1];
      search_column_ = v.size() > 2 && v[2] != "regex" ? v[2] : "";
      search_regex_ = std::find(v.begin() + 2, v.end(), "regex") != v.end();
      m_.search(search_text_, search_column_, search_regex_);
      states_dirty_ = true;
      note(cat("search '", search_text_, "': ", m_.matches().size(), " matches"));
    } else if (cmd == "select-matches") {
      m_.select_matches();
      states_dirty_ = true;
    } else if (cmd == "select" || cmd == "add") {
      std::vector<int64_t> ids;
      for (size_t i = 1; i < v.size(); ++i) ids.push_back(int64_t(num(i)));
      m_.select(ids, cmd == "add" ? SelectMode::add : SelectMode::replace);
      states_dirty_ = true;
    } else if (cmd == "select-box") {
      m_.select(render::select_box(m_.y(), cam_, {float(num(1)), float(num(2))}, {float(num(3)), float(num(4))}));
      states_dirty_ = true;
      note(cat("select-box: ", m_.selection().size(), " points"));
    } else if (cmd == "select-lasso") {
      std::vector<glm::vec2> poly;
      for (size_t i = 1; i + 1 < v.size(); i += 2) poly.push_back({float(num(i)), float(num(i + 1))});
      m_.select(render::select_lasso(m_.y(), cam_, poly));
      states_dirty_ = true;
    } else if (cmd == "click") {
      // Picks through the GPU id buffer like a mouse click (after a frame).
      if (wait_frames_ < 0) {
        w_.set_pick_pixel(int(num(1)), int(num(2)));
        wait_frames_ = 3;  // two frames in flight, then the readback
        return false;
      }
      if (wait_frames_-- > 0) return false;
      wait_frames_ = -1;
      const int64_t id = w_.picked();
      m_.set_hovered(id);
      m_.select(id >= 0 ? std::vector<int64_t>{id} : std::vector<int64_t>{});
      states_dirty_ = true;
      note(cat("click: row ", id));
    } else if (cmd == "neighbours" || cmd == "neighbors") {
      PRISM_EXPECTS(!m_.selection().empty(), "script line ", a.line, ": neighbours needs a selected point");
      const int k = v.size() > 1 ? int(num(1)) : 10;
      const Metric metric = v.size() > 2 ? parse_metric(v[2]) : Metric::euclidean;
      m_.find_neighbors(m_.selection().front(), k, metric);
      states_dirty_ = true;
      note(cat("neighbours of row ", m_.neighbors_of(), ": ", m_.neighbors().size()));
    } else if (cmd == "select-neighbours" || cmd == "select-neighbors") {
      std::vector<int64_t> ids;
      for (const Neighbor& n : m_.neighbors()) ids.push_back(n.row);
      m_.select(ids);
      states_dirty_ = true;
    } else if (cmd == "isolate") {
      isolate_ = v.size() < 2 || v[1] != "off";
    } else if (cmd == "clear") {
      m_.clear_selection();
      m_.clear_neighbors();
      states_dirty_ = true;
    } else if (cmd == "export") {
      PRISM_EXPECTS(v.size() > 1, "script line ", a.line, ": export PATH");
      m_.export_selection(v[1]);
    } else if (cmd == "screenshot") {
      PRISM_EXPECTS(v.size() > 1, "script line ", a.line, ": screenshot PATH");
      if (!shot_requested_) {
        w_.request_screenshot(v[1]);
        shot_requested_ = true;
        return false;
      }
      if (w_.screenshot_pending()) return false;
      shot_requested_ = false;
    } else if (cmd == "quit") {
      quit_ = true;
    } else {
      throw InputError(cat("script line ", a.line, ": unknown action '", cmd, "'"));
    }
    return true;
  }

  void finish() {
    live_.join();
    w_.wait_idle();
  }

 private:
  bool is_2d() const { return view_2d_ || m_.y().cols() == 2; }

  void set_view_2d(bool two_d) {
    view_2d_ = two_d;
    cam_.set_projection(is_2d() ? render::Projection::orthographic : render::Projection::perspective);
    if (is_2d()) cam_.set_angles(0, 0);
    else cam_.set_angles(30, 20);
    fit(false);
  }

  void set_color_by(const std::string& column) {
    m_.color_by(column);
    w_.set_colors(m_.colors().packed);
    color_col_idx_ = m_.meta().find(m_.colors().column);
  }

  // Fits the data into the part of the window right of the panel.
  void fit(bool animate) {
    const Camera::State before = cam_.state();
    const int W = w_.width(), H = w_.height();
    const float off = panel_right_ > 0 && panel_right_ < 0.5f * W ? panel_right_ : 0.0f;
    cam_.set_viewport(int(W - off), H);
    cam_.fit_points(m_.y(), 1.0f, is_2d());
    cam_.set_viewport(W, H);
    cam_.pan({0.5f * off, 0.0f});
    if (animate) {
      const Camera::State goal = cam_.state();
      cam_.set_state(before);
      cam_.animate_to(goal);
    }
  }

  void upload_projection(bool refit) {
    w_.set_positions(m_.y());
    centers_dirty_ = true;
    if (refit) set_view_2d(view_2d_);
  }

  void poll_live() {
    if (!live_.take(live_buf_, &live_version_)) return;
    const bool dims_changed = live_buf_.cols() != m_.y().cols();
    m_.set_projection(live_buf_);
    upload_projection(first_live_ || dims_changed);
    if (!first_live_ && auto_fit_) {
      const double now = ImGui::GetTime();
      if (now - last_fit_ > 0.5) {
        fit(true);
        last_fit_ = now;
      }
    }
    first_live_ = false;
  }

  void handle_input() {
    ImGuiIO& io = ImGui::GetIO();
    const glm::vec2 mouse(io.MousePos.x * io.DisplayFramebufferScale.x, io.MousePos.y * io.DisplayFramebufferScale.y);
    const bool over_ui = io.WantCaptureMouse;
    if (!over_ui && ImGui::IsMousePosValid()) {
      w_.set_pick_pixel(int(mouse.x), int(mouse.y));
      const int64_t h = w_.picked();
      if (h != m_.hovered()) {
        m_.set_hovered(h);
        states_dirty_ = true;
      }
    } else {
      w_.set_pick_pixel(-1, -1);
      if (m_.hovered() >= 0) {
        m_.set_hovered(-1);
        states_dirty_ = true;
      }
    }
    if (!over_ui && io.MouseWheel != 0.0f) cam_.zoom_at(mouse, std::pow(0.85f, io.MouseWheel));
    if (!over_ui && ImGui::IsMouseClicked(ImGuiMouseButton_Left)) {
      drag_ = io.KeyCtrl || tool_ == 1 ? Drag::box : io.KeyAlt || tool_ == 2 ? Drag::lasso : Drag::navigate;
      drag_start_ = last_mouse_ = mouse;
      lasso_ = {mouse};
    }
    if (drag_ != Drag::none && ImGui::IsMouseDown(ImGuiMouseButton_Left)) {
      if (drag_ == Drag::navigate && mouse != last_mouse_) {
        if (is_2d() || io.KeyShift) cam_.pan(mouse - last_mouse_);
        else cam_.orbit(last_mouse_, mouse);
      } else if (drag_ == Drag::lasso && glm::length(mouse - lasso_.back()) > 2.0f) {
        lasso_.push_back(mouse);
      }
    }
    if (drag_ != Drag::none && ImGui::IsMouseReleased(ImGuiMouseButton_Left)) {
      const SelectMode mode = io.KeyShift ? SelectMode::add : SelectMode::replace;
      const bool click = glm::length(mouse - drag_start_) < 3.0f;
      if (click) {
        const int64_t id = m_.hovered();
        if (id >= 0) m_.select({id}, io.KeyShift ? SelectMode::toggle : SelectMode::replace);
        else if (!io.KeyShift) m_.clear_selection();
      } else if (drag_ == Drag::box) {
        m_.select(render::select_box(m_.y(), cam_, drag_start_, mouse), mode);
      } else if (drag_ == Drag::lasso) {
        m_.select(render::select_lasso(m_.y(), cam_, lasso_), mode);
      }
      states_dirty_ = true;
      drag_ = Drag::none;
    }
    if (!over_ui && (ImGui::IsMouseDragging(ImGuiMouseButton_Right) || ImGui::IsMouseDragging(ImGuiMouseButton_Middle)))
      cam_.pan(mouse - last_mouse_);
    last_mouse_ = mouse;

    if (io.WantCaptureKeyboard) return;
    // ImGui 1.86 indexes keys by the backend's codes (GLFW_KEY_*).
    if (ImGui::IsKeyPressed(GLFW_KEY_F)) fit(true);
    if (ImGui::IsKeyPressed(GLFW_KEY_I)) isolate_ = !isolate_;
    if (ImGui::IsKeyPressed(GLFW_KEY_ESCAPE)) {
      m_.clear_selection();
      m_.clear_neighbors();
      states_dirty_ = true;
    }
    if (ImGui::IsKeyPressed(GLFW_KEY_A) && io.KeyCtrl) {
      m_.select_matches();
      states_dirty_ = true;
    }
    if (ImGui::IsKeyPressed(GLFW_KEY_N) && !m_.selection().empty()) neighbors_of_selection();
    if (ImGui::IsKeyPressed(GLFW_KEY_B)) tool_ = tool_ == 1 ? 0 : 1;
    if (ImGui::IsKeyPressed(GLFW_KEY_L)) tool_ = tool_ == 2 ? 0 : 2;
    if (ImGui::IsKeyPressed(GLFW_KEY_2)) set_view_2d(true);
    if (ImGui::IsKeyPressed(GLFW_KEY_3)) set_view_2d(false);
    if (ImGui::IsKeyPressed(GLFW_KEY_H) || ImGui::IsKeyPressed(GLFW_KEY_F1)) show_help_ = !show_help_;
    if (ImGui::IsKeyPressed(GLFW_KEY_P)) w_.request_screenshot(screenshot_path_);
    if (ImGui::IsKeyPressed(GLFW_KEY_SPACE)) live_.running() ? live_.stop() : run_reduction();
    if (ImGui::IsKeyPressed(GLFW_KEY_Q) && io.KeyCtrl) quit_ = true;
  }

  void neighbors_of_selection() {
    try {
      m_.find_neighbors(m_.selection().front(), k_, metric_ == 0 ? Metric::euclidean : Metric::cosine);
      states_dirty_ = true;
      error_.clear();
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }

  // The method's parameters, one widget each, from the engine's parameter table;
  // a value out of range is refused with the table's message.
  void param_widgets() {
    if (!ImGui::TreeNode("parameters")) return;
    for (const ParamSpec* spec : params_of(params_.method)) {
      const std::string label(spec->name);
      ParamValue v = get_param(params_, *spec);
      bool changed = false;
      if (std::holds_alternative<std::string>(v) && spec->type != ParamType::choice) {
        // An automatic value: edit it from its default once the box is ticked.
        bool manual = false;
        if (ImGui::Checkbox(cat(label, ": ", spec->automatic).c_str(), &manual) && manual) {
          v = spec->type == ParamType::integer ? ParamValue(int64_t(std::max(1.0, spec->min)))
                                               : ParamValue(std::max(1.0, spec->min));
          changed = true;
        }
      } else {
        switch (spec->type) {
          case ParamType::boolean: {
            bool b = std::get<bool>(v);
            if ((changed = ImGui::Checkbox(label.c_str(), &b))) v = b;
            break;
          }
          case ParamType::integer: {
            int i = int(std::get<int64_t>(v));
            if ((changed = ImGui::InputInt(label.c_str(), &i))) v = int64_t(i);
            break;
          }
          case ParamType::real: {
            double d = std::get<double>(v);
            if ((changed = ImGui::InputDouble(label.c_str(), &d, 0, 0, "%.4g"))) v = d;
            break;
          }
          case ParamType::choice: {
            const std::string current = std::get<std::string>(v);
            if (ImGui::BeginCombo(label.c_str(), current.c_str())) {
              std::string_view rest = spec->choices;
              while (!rest.empty()) {
                const size_t sp = std::min(rest.find(' '), rest.size());
                const std::string word(rest.substr(0, sp));
                if (ImGui::Selectable(word.c_str(), word == current)) v = word, changed = true;
                rest = sp < rest.size() ? rest.substr(sp + 1) : std::string_view();
              }
              ImGui::EndCombo();
            }
            break;
          }
        }
      }
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%.*s", int(spec->help.size()), spec->help.data());
      if (changed) {
        try {
          set_param(params_, *spec, v);
          error_.clear();
        } catch (const std::exception& e) {
          error_ = e.what();
        }
      }
    }
    ImGui::TreePop();
  }

  // A combo over the metadata columns; index -1 is `none_label`.
  bool column_combo(const char* label, int* index, const char* none_label) {
    bool changed = false;
    const char* preview = *index >= 0 && *index < int(columns_.size()) ? columns_[*index].c_str() : none_label;
    if (ImGui::BeginCombo(label, preview)) {
      if (ImGui::Selectable(none_label, *index < 0)) *index = -1, changed = true;
      for (int c = 0; c < int(columns_.size()); ++c)
        if (ImGui::Selectable(columns_[c].c_str(), *index == c)) *index = c, changed = true;
      ImGui::EndCombo();
    }
    return changed;
  }

  void row_list(const char* id, const std::vector<int64_t>& rows, const std::vector<Neighbor>* nb) {
    const int count = int(nb ? nb->size() : rows.size());
    ImGui::BeginChild(id, ImVec2(0, std::min(160.0f, 20.0f + 18.0f * count)), true);
    ImGuiListClipper clip;
    clip.Begin(count);
    while (clip.Step())
      for (int i = clip.DisplayStart; i < clip.DisplayEnd; ++i) {
        const int64_t r = nb ? (*nb)[i].row : rows[i];
        const std::string text = nb ? cat(r, "  ", m_.label_of(r), "  d=", (*nb)[i].distance) : cat(r, "  ", m_.label_of(r));
        if (ImGui::Selectable(text.c_str(), m_.is_selected(r))) {
          m_.select({r}, ImGui::GetIO().KeyShift ? SelectMode::toggle : SelectMode::replace);
          states_dirty_ = true;
        }
      }
    ImGui::EndChild();
  }

  void panels() {
    ImGui::SetNextWindowPos(ImVec2(kPanelX, 8), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(kPanelWidth, float(std::max(200, w_.height() - 16))), ImGuiCond_FirstUseEver);
    ImGui::Begin("prism");
    const Dataset& d = m_.data();
    if (ImGui::CollapsingHeader("Data", ImGuiTreeNodeFlags_DefaultOpen)) {
      ImGui::TextWrapped("%s", d.source.c_str());
      ImGui::Text("%lld x %lld  %s %s", (long long)d.rows(), (long long)d.cols(), d.format.c_str(), d.dtype.c_str());
      ImGui::Text("metadata: %d columns", int(columns_.size()));
      ImGui::Text("projection: %dD   %.0f fps", int(m_.y().cols()), ImGui::GetIO().Framerate);
    }
    if (ImGui::CollapsingHeader("Projection", ImGuiTreeNodeFlags_DefaultOpen)) {
      const char* methods[] = {"pca", "tsne", "umap"};
      int method = static_cast<int>(params_.method);
      if (ImGui::Combo("method", &method, methods, 3)) params_.method = static_cast<Method>(method);
      ImGui::SliderInt("dims", &params_.dims, 2, 3);
      param_widgets();
      ImGui::Checkbox("follow (auto-fit)", &auto_fit_);
      if (!live_.running()) {
        if (ImGui::Button("Run")) run_reduction();
      } else if (ImGui::Button("Stop")) {
        live_.stop();
      }
      const auto st = live_.status();
      if (!st.stage.empty()) {
        ImGui::SameLine();
        ImGui::Text("%s %lld/%lld  %.1f s", st.stage.c_str(), (long long)st.done, (long long)st.total, st.seconds);
        if (st.total > 0) ImGui::ProgressBar(float(st.done) / float(st.total));
        if (!std::isnan(st.objective) && st.objective != 0) ImGui::Text("objective %.4f", st.objective);
        if (!st.error.empty()) ImGui::TextColored(ImVec4(1, 0.3f, 0.3f, 1), "%s", st.error.c_str());
      }
    }
    if (ImGui::CollapsingHeader("Display", ImGuiTreeNodeFlags_DefaultOpen)) {
      if (column_combo("colour by", &color_col_idx_, "(uniform)")) {
        try {
          if (color_col_idx_ < 0) {
            m_.color_uniform();
            w_.set_colors(m_.colors().packed);
          } else {
            set_color_by(columns_[color_col_idx_]);
          }
        } catch (const std::exception& e) {
          error_ = e.what();
        }
      }
      if (column_combo("label by", &label_col_idx_, "(row id)")) {
        m_.label_by(label_col_idx_ >= 0 ? columns_[label_col_idx_] : "");
        centers_dirty_ = true;
      }
      ImGui::SliderFloat("point size", &style_.point_size, 1.0f, 32.0f, "%.1f px");
      ImGui::SliderFloat("opacity", &style_.alpha, 0.05f, 1.0f);
      ImGui::Checkbox("class labels", &class_labels_);
      ImGui::SameLine();
      ImGui::Checkbox("isolate selection", &isolate_);
      if (m_.y().cols() == 3) {
        bool two = view_2d_;
        if (ImGui::Checkbox("2D view", &two)) set_view_2d(two);
        ImGui::SameLine();
      }
      if (ImGui::Button("Fit (F)")) fit(true);
      ImGui::SameLine();
      const char* tools[] = {"navigate", "box select", "lasso"};
      ImGui::SetNextItemWidth(120);
      ImGui::Combo("tool", &tool_, tools, 3);
    }
    if (ImGui::CollapsingHeader("Search", ImGuiTreeNodeFlags_DefaultOpen)) {
      int col = m_.meta().find(search_column_);
      if (column_combo("column", &col, "(labels)")) search_column_ = col >= 0 ? columns_[col] : "";
      bool changed = ImGui::InputTextWithHint("##search", "substring or regex", &search_text_);
      ImGui::SameLine();
      changed |= ImGui::Checkbox("regex", &search_regex_);
      if (changed) {
        try {
          m_.search(search_text_, search_column_, search_regex_);
          error_.clear();
        } catch (const std::exception& e) {
          error_ = e.what();
        }
        states_dirty_ = true;
      }
      ImGui::Text("%zu matches", m_.matches().size());
      ImGui::SameLine();
      if (ImGui::Button("Select all matches")) {
        m_.select_matches();
        states_dirty_ = true;
      }
      if (!m_.matches().empty()) row_list("matches", m_.matches(), nullptr);
    }
    if (ImGui::CollapsingHeader("Selection", ImGuiTreeNodeFlags_DefaultOpen)) {
      ImGui::Text("%zu selected", m_.selection().size());
      if (ImGui::Button("Clear")) {
        m_.clear_selection();
        m_.clear_neighbors();
        states_dirty_ = true;
      }
      ImGui::SameLine();
      ImGui::Checkbox("Isolate (I)", &isolate_);
      if (!m_.selection().empty()) row_list("selection", m_.selection(), nullptr);
      ImGui::InputText("CSV", &export_path_);
      ImGui::SameLine();
      if (ImGui::Button("Export")) {
        try {
          m_.export_selection(export_path_);
          error_.clear();
        } catch (const std::exception& e) {
          error_ = e.what();
        }
      }
    }
    if (ImGui::CollapsingHeader("Neighbours", ImGuiTreeNodeFlags_DefaultOpen)) {
      ImGui::TextWrapped("k nearest of the first selected point in the original %lld-D space", (long long)d.cols());
      ImGui::SliderInt("k", &k_, 1, 1000, "%d", ImGuiSliderFlags_Logarithmic);
      const char* metrics[] = {"euclidean", "cosine"};
      ImGui::Combo("distance", &metric_, metrics, 2);
      if (ImGui::Button("Find neighbours (N)") && !m_.selection().empty()) neighbors_of_selection();
      if (m_.neighbors_of() >= 0) {
        ImGui::Text("of row %lld (%s):", (long long)m_.neighbors_of(), m_.label_of(m_.neighbors_of()).c_str());
        if (ImGui::Button("Select neighbours")) {
          std::vector<int64_t> ids;
          for (const Neighbor& n : m_.neighbors()) ids.push_back(n.row);
          m_.select(ids, ImGui::GetIO().KeyShift ? SelectMode::add : SelectMode::replace);
          states_dirty_ = true;
        }
        row_list("neighbours", {}, &m_.neighbors());
      }
    }
    if (ImGui::CollapsingHeader("Screenshot")) {
      ImGui::InputText("PNG", &screenshot_path_);
      if (ImGui::Button("Save (P)")) w_.request_screenshot(screenshot_path_);
    }
    if (ImGui::Button("Help (H)")) show_help_ = !show_help_;
    if (!error_.empty()) ImGui::TextColored(ImVec4(1, 0.3f, 0.3f, 1), "%s", error_.c_str());
    panel_right_ = ImGui::IsWindowCollapsed()
                       ? 0.0f
                       : (ImGui::GetWindowPos().x + ImGui::GetWindowSize().x) * ImGui::GetIO().DisplayFramebufferScale.x;
    ImGui::End();

    if (show_help_) {
      ImGui::SetNextWindowPos(ImVec2(float(w_.width()) - 380, 8), ImGuiCond_FirstUseEver);
      ImGui::Begin("Help", &show_help_, ImGuiWindowFlags_AlwaysAutoResize);
      ImGui::Text(
          "Left drag        rotate (3D) / pan (2D)\n"
          "Shift+left drag  pan\n"
          "Right/middle drag pan\n"
          "Wheel            zoom towards the cursor\n"
          "Click            select the point (Shift: toggle)\n"
          "Ctrl+drag        box select (Shift: add)\n"
          "Alt+drag         lasso select (Shift: add)\n"
          "B / L            box / lasso tool\n"
          "F                fit to data\n"
          "2 / 3            2D / 3D view\n"
          "I                isolate the selection\n"
          "N                neighbours of the selected point\n"
          "Ctrl+A           select all search matches\n"
          "Esc              clear selection and neighbours\n"
          "Space            run / stop the reduction\n"
          "P                screenshot\n"
          "H / F1           this help\n"
          "Ctrl+Q           quit");
      ImGui::End();
    }
  }

  // Labels (hovered, selected, neighbours, classes) without overlaps, and the
  // box/lasso being drawn.
  void overlay() {
    ImDrawList* dl = ImGui::GetBackgroundDrawList();
    const ImGuiIO& io = ImGui::GetIO();
    const float sx = 1.0f / io.DisplayFramebufferScale.x, sy = 1.0f / io.DisplayFramebufferScale.y;
    std::vector<render::LabelRequest> req;
    std::vector<std::string> texts;
    auto add_point = [&](int64_t r, float priority) {
      const float* p = m_.y().row(r);
      glm::vec2 px;
      if (!cam_.project({p[0], p[1], m_.y().cols() == 3 && !is_2d() ? p[2] : 0.0f}, &px)) return;
      texts.push_back(m_.label_of(r));
      const ImVec2 s = ImGui::CalcTextSize(texts.back().c_str());
      req.push_back({px * glm::vec2(sx, sy), {s.x + 4, s.y + 2}, priority, int64_t(texts.size() - 1), false});
    };
    if (m_.hovered() >= 0) add_point(m_.hovered(), 1e9f);
    const auto& sel = m_.selection();
    for (size_t i = 0; i < std::min<size_t>(sel.size(), 100); ++i) add_point(sel[i], 1e8f);
    for (size_t i = 0; i < std::min<size_t>(m_.neighbors().size(), 30); ++i)
      add_point(m_.neighbors()[i].row, 1e7f - float(i));
    const size_t point_labels = req.size();
    if (class_labels_) {
      update_centers();
      for (size_t c = 0; c < centers_.size(); ++c) {
        glm::vec2 px;
        if (!cam_.project(centers_[c], &px)) continue;
        texts.push_back(center_names_[c]);
        const ImVec2 s = ImGui::CalcTextSize(texts.back().c_str());
        req.push_back({px * glm::vec2(sx, sy), {s.x + 6, s.y + 4}, float(center_counts_[c]), int64_t(texts.size() - 1), true});
      }
    }
    const auto placed = render::layout_labels(req, int(io.DisplaySize.x), int(io.DisplaySize.y), 2.0f);
    for (const auto& l : placed) {
      const bool is_class = size_t(l.request) >= point_labels;
      const ImU32 bg = is_class ? IM_COL32(255, 255, 255, 200) : IM_COL32(30, 30, 30, 210);
      const ImU32 fg = is_class ? IM_COL32(20, 20, 20, 255) : IM_COL32(255, 255, 255, 255);
      dl->AddRectFilled(ImVec2(l.box_min.x, l.box_min.y), ImVec2(l.box_max.x, l.box_max.y), bg, 3.0f);
      dl->AddText(ImVec2(l.box_min.x + (is_class ? 3 : 2), l.box_min.y + (is_class ? 2 : 1)), fg,
                  texts[req[l.request].id].c_str());
    }
    if (drag_ == Drag::box) {
      const ImVec2 a(drag_start_.x * sx, drag_start_.y * sy), b(last_mouse_.x * sx, last_mouse_.y * sy);
      dl->AddRectFilled(a, b, IM_COL32(255, 120, 0, 40));
      dl->AddRect(a, b, IM_COL32(255, 120, 0, 255));
    } else if (drag_ == Drag::lasso && lasso_.size() > 1) {
      std::vector<ImVec2> pts;
      for (auto p : lasso_) pts.emplace_back(p.x * sx, p.y * sy);
      dl->AddPolyline(pts.data(), int(pts.size()), IM_COL32(255, 120, 0, 255), ImDrawFlags_Closed, 2.0f);
    }
  }

  // Class centres (per-class coordinate medians) of the label-by column, when
  // it has few enough distinct values; recomputed at most 4 times a second.
  void update_centers() {
    const double now = ImGui::GetTime();
    if (!centers_dirty_ || now - centers_time_ < 0.25) return;
    centers_dirty_ = false;
    centers_time_ = now;
    centers_.clear();
    center_names_.clear();
    center_counts_.clear();
    const int c = m_.label_column();
    if (c < 0) return;
    const auto& values = m_.meta().columns[c];
    std::unordered_map<std::string, int> index;
    std::vector<std::vector<int64_t>> members;
    for (int64_t i = 0; i < m_.rows(); ++i) {
      auto [it, fresh] = index.try_emplace(values[i], int(members.size()));
      if (fresh) {
        if (members.size() >= 50) return;  // too many classes to label
        members.emplace_back();
        center_names_.push_back(values[i]);
      }
      members[it->second].push_back(i);
    }
    const int dims = is_2d() ? 2 : int(m_.y().cols());
    for (const auto& rows : members) {
      glm::vec3 p(0.0f);
      std::vector<float> v(rows.size());
      for (int d = 0; d < dims; ++d) {
        for (size_t j = 0; j < rows.size(); ++j) v[j] = m_.y()(rows[j], d);
        std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
        p[d] = v[v.size() / 2];
      }
      centers_.push_back(p);
      center_counts_.push_back(int64_t(rows.size()));
    }
  }

  enum class Drag { none, navigate, box, lasso };
  // Where the panel opens; the first fit (before any frame) assumes it.
  static constexpr float kPanelX = 8, kPanelWidth = 340;

  ViewerModel& m_;
  render::Window& w_;
  ReduceParams params_;  // what Run starts: --method, --dims and the parameters, then the panel's edits
  Camera cam_;
  render::PointStyle style_;
  LiveReduction live_;
  Matrix live_buf_;
  uint64_t live_version_ = 0;
  bool first_live_ = false, auto_fit_ = true;
  double last_fit_ = 0;
  int metric_ = 0;  // the neighbour search's distance
  std::vector<std::string> columns_;
  int color_col_idx_ = -1, label_col_idx_ = -1;
  bool view_2d_ = false, isolate_ = false, class_labels_ = true, show_help_ = false;
  bool states_dirty_ = true, quit_ = false, scripted_ = false, shot_requested_ = false;
  int wait_frames_ = -1;
  int tool_ = 0;
  int k_ = 10;
  std::string search_text_, search_column_, error_;
  bool search_regex_ = false;
  std::string export_path_ = "selection.csv", screenshot_path_ = "prism-screenshot.png";
  Drag drag_ = Drag::none;
  glm::vec2 drag_start_{0.0f}, last_mouse_{0.0f};
  std::vector<glm::vec2> lasso_;
  float panel_right_ = kPanelX + kPanelWidth;  // pixels covered by the panel from the left
  bool centers_dirty_ = true;
  double centers_time_ = -1;
  std::vector<glm::vec3> centers_;
  std::vector<std::string> center_names_;
  std::vector<int64_t> center_counts_;
};

int run_view(ViewOptions& o) {
  PRISM_EXPECTS(o.reduce.dims == 2 || o.reduce.dims == 3, "--dims must be 2 or 3");
  const uint64_t seed = o.seed.resolve();
  o.reduce.resolve(seed);  // bad parameters fail before any window opens
  int ww = 0, wh = 0;
  render::parse_size(o.window_size, &ww, &wh);
  std::vector<Action> script;
  if (!o.script.empty()) script = read_script(o.script);  // fail before opening a window
  Dataset ds = o.input.read();
  PRISM_EXPECTS(ds.rows() > 0, o.input.path, " has no rows");
  Matrix y;
  bool need_run = false;
  if (!o.projection.empty()) {
    Dataset p = read_dataset(o.projection);
    PRISM_EXPECTS(p.rows() == ds.rows(), o.projection, " has ", p.rows(), " rows but ", o.input.path, " has ",
                  ds.rows());
    PRISM_EXPECTS(p.cols() == 2 || p.cols() == 3, o.projection, " must have 2 or 3 columns, has ", p.cols());
    y = to_matrix(p.x);
  } else if (ds.cols() == 2 || ds.cols() == 3) {
    y = to_matrix(ds.x);  // already a projection
  } else {
    y = Matrix(ds.rows(), o.reduce.dims, 0.0f);  // replaced by the first live iteration
    need_run = true;
  }
  ViewerModel model(std::move(ds), std::move(y));
  render::WindowOptions wo;
  wo.width = ww;
  wo.height = wh;
  wo.title = cat("prism view - ", o.input.path);
  render::Window window(wo);
  ViewerApp app(model, window, o, seed);
  if (need_run) app.run_reduction();
  auto last = std::chrono::steady_clock::now();
  size_t next = 0;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    const float dt = std::chrono::duration<float>(now - last).count();
    last = now;
    if (!app.frame(dt)) break;
    if (!o.script.empty()) {
      if (next == script.size()) break;  // a script ends the session when it runs out
      if (app.act(script[next])) ++next;
    }
  }
  app.finish();
  return 0;
}

std::function<int()> setup(CLI::App& sub) {
  auto o = std::make_shared<ViewOptions>();
  sub.footer(
      "Examples:\n"
      "  prism view vectors.npy --metadata meta.tsv --method umap\n"
      "  prism view vectors.npy --metadata meta.tsv --projection umap3d.npy\n"
      "  prism view vectors.npy --method tsne --perplexity 50 --dims 3\n"
      "  xvfb-run -a prism view vectors.npy --projection y.npy --script actions.txt\n\n"
      "Script actions (one per line, # comments): wait [N], run, wait-run, stop, rotate YAW [PITCH],\n"
      "zoom FACTOR, pan DX DY, fit, view 2d|3d, color-by COL, label-by COL, point-size PX,\n"
      "search \"TEXT\" [COLUMN] [regex], select-matches, select ID..., add ID..., select-box X0 Y0 X1 Y1,\n"
      "select-lasso X Y X Y ..., click X Y, neighbours K [euclidean|cosine], select-neighbours, isolate [on|off], clear,\n"
      "export PATH.csv, screenshot PATH.png, quit. Pixels are window pixels from the top left.");
  o->input.add_to(sub);
  sub.add_option("--projection", o->projection, "A projection to show (n x 2 or n x 3 .npy/.csv/...)");
  o->reduce.add_to(sub);  // the reduction Run starts (at once when there is no projection)
  o->seed.add_to(sub);
  sub.add_option("--color-by", o->color_by, "Metadata column to colour by (default: the label column)");
  sub.add_option("--label-by", o->label_by, "Metadata column naming points (default: the label column)");
  sub.add_option("--point-size", o->point_size, "Point diameter in pixels (default: from the point count)");
  sub.add_option("--window", o->window_size, "Window size WIDTHxHEIGHT")->capture_default_str();
  sub.add_option("--script", o->script, "Replay actions from a file without a person, then exit");
  return [o] { return run_view(*o); };
}

PRISM_COMMAND("view", "Interactive viewer: explore, search, select, neighbours, live t-SNE/UMAP", 70, setup);

}  // namespace
}  // namespace prism::app::viewer
