#pragma once
// Mouse and keyboard of the viewer as a small state machine: a frame's input
// (InputSnapshot, made from ImGui's IO in one place) goes in, the things the
// viewer should do (InputCommand) come out. No GUI dependency, so it is
// tested by feeding it snapshots. Header-only.
#include <cmath>
#include <vector>

#include <glm/glm.hpp>

#include "viewer_model.hpp"

namespace prism::app::viewer {

/// The keys the viewer answers to.
enum class Key { fit, isolate, clear, select_all_matches, neighbours, box_tool, lasso_tool, view_2d, view_3d,
                 help, screenshot, run_stop, quit };

/// What a left drag does when no modifier says otherwise.
enum class Tool { navigate, box, lasso };

/// One frame of input, in framebuffer pixels from the top-left.
struct InputSnapshot {
  glm::vec2 mouse{0.0f};
  bool mouse_valid = false;    ///< the cursor is over the window
  bool over_ui = false;        ///< a panel takes the mouse
  bool left_pressed = false, left_down = false, left_released = false;
  bool pan_dragging = false;   ///< right or middle button dragging
  float wheel = 0.0f;          ///< notches, > 0 away from the user
  bool shift = false, ctrl = false, alt = false;
  std::vector<Key> keys;       ///< pressed this frame (none while a text field has the keyboard)
};

struct InputCommand {
  enum Kind {
    hover,      ///< pick at `a` (mouse_valid) or nowhere
    orbit,      ///< arcball from a to b
    pan,        ///< move the scene by a
    zoom,       ///< scale the distance by `factor` at a
    click,      ///< a click (no drag) at a: select the hovered point, `mode`
    box,        ///< select the box a-b, `mode`
    lasso,      ///< select inside `polygon`, `mode`
    key_press,  ///< `key` was pressed
  } kind = hover;
  glm::vec2 a{0.0f}, b{0.0f};
  float factor = 1.0f;
  bool valid = true;  ///< hover: false when the cursor is over a panel or outside
  SelectMode mode = SelectMode::replace;
  std::vector<glm::vec2> polygon;
  Key key = Key::fit;
};

class InputHandler {
 public:
  enum class Drag { none, navigate, box, lasso };

  Tool tool() const { return tool_; }
  void set_tool(Tool t) { tool_ = t; }
  Drag drag() const { return drag_; }
  glm::vec2 drag_start() const { return drag_start_; }
  glm::vec2 last_mouse() const { return last_mouse_; }
  const std::vector<glm::vec2>& lasso() const { return lasso_; }
  /// True while a button drags the camera (the frame budget treats it as moving).
  bool navigating() const { return drag_ == Drag::navigate; }

  /// The commands for one frame; `two_d`: a left drag pans instead of orbiting.
  std::vector<InputCommand> update(const InputSnapshot& in, bool two_d) {
    std::vector<InputCommand> out;
    const glm::vec2 m = in.mouse;
    InputCommand h;
    h.kind = InputCommand::hover;
    h.a = m;
    h.valid = !in.over_ui && in.mouse_valid;
    out.push_back(h);
    if (!in.over_ui && in.wheel != 0.0f) {
      InputCommand z;
      z.kind = InputCommand::zoom;
      z.a = m;
      z.factor = std::pow(0.85f, in.wheel);
      out.push_back(z);
    }
    if (!in.over_ui && in.left_pressed) {
      drag_ = in.ctrl || tool_ == Tool::box ? Drag::box : in.alt || tool_ == Tool::lasso ? Drag::lasso : Drag::navigate;
      drag_start_ = last_mouse_ = m;
      lasso_ = {m};
    }
    if (drag_ != Drag::none && in.left_down) {
      if (drag_ == Drag::navigate && m != last_mouse_) {
        InputCommand c;
        if (two_d || in.shift) {
          c.kind = InputCommand::pan;
          c.a = m - last_mouse_;
        } else {
          c.kind = InputCommand::orbit;
          c.a = last_mouse_;
          c.b = m;
        }
        out.push_back(c);
      } else if (drag_ == Drag::lasso && glm::length(m - lasso_.back()) > 2.0f) {
        lasso_.push_back(m);
      }
    }
    if (drag_ != Drag::none && in.left_released) {
      InputCommand c;
      c.mode = in.shift ? SelectMode::add : SelectMode::replace;
      if (glm::length(m - drag_start_) < 3.0f) {
        c.kind = InputCommand::click;
        c.a = m;
        c.mode = in.shift ? SelectMode::toggle : SelectMode::replace;
        out.push_back(c);
      } else if (drag_ == Drag::box) {
        c.kind = InputCommand::box;
        c.a = drag_start_;
        c.b = m;
        out.push_back(c);
      } else if (drag_ == Drag::lasso) {
        c.kind = InputCommand::lasso;
        c.polygon = lasso_;
        out.push_back(c);
      }
      drag_ = Drag::none;
    }
    if (!in.over_ui && in.pan_dragging) {
      InputCommand c;
      c.kind = InputCommand::pan;
      c.a = m - last_mouse_;
      out.push_back(c);
    }
    last_mouse_ = m;
    for (Key k : in.keys) {
      if (k == Key::box_tool) tool_ = tool_ == Tool::box ? Tool::navigate : Tool::box;
      if (k == Key::lasso_tool) tool_ = tool_ == Tool::lasso ? Tool::navigate : Tool::lasso;
      InputCommand c;
      c.kind = InputCommand::key_press;
      c.key = k;
      out.push_back(c);
    }
    return out;
  }

 private:
  Tool tool_ = Tool::navigate;
  Drag drag_ = Drag::none;
  glm::vec2 drag_start_{0.0f}, last_mouse_{0.0f};
  std::vector<glm::vec2> lasso_;
};

}  // namespace prism::app::viewer
