#pragma once
// The viewer's script actions: the table (script.hpp) bound to ViewerApp.
#include <span>
#include <string>

#include <glm/glm.hpp>

#include "script.hpp"

namespace prism::app::viewer {

class ViewerApp;

/// What a script drives: the viewer, plus the state of multi-frame actions.
struct ScriptSession {
  ViewerApp& app;
  int wait_frames = -1;     ///< frames left of a wait, click or hover; -1: none running
  bool shot_requested = false;
  glm::vec2 click_at{0.0f};  ///< legend-click: where the mouse presses
};

/// Every action `prism view --script` knows.
std::span<const ScriptAction<ScriptSession>> viewer_actions();

}  // namespace prism::app::viewer
