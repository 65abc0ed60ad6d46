#pragma once
// The windowed mode: a GLFW window, a Vulkan swapchain with two frames in
// flight, the shared point pipeline and Dear ImGui 1.86 drawn on top. A small
// API in the spirit of ImGui's backends: construct (init), new_frame(),
// render(), destroy (shutdown).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "prism/matrix.hpp"
#include "prism/render/camera.hpp"
#include "prism/render/renderer.hpp"

struct GLFWwindow;

namespace prism::render {

struct WindowOptions {
  int width = 1280;   ///< initial client size, screen pixels
  int height = 800;
  std::string title = "prism";
  bool vsync = true;  ///< FIFO present mode; off: MAILBOX/IMMEDIATE when available
  /// Full frames (PointStyle::max_points 0) without thumbnails use the compute
  /// rasteriser, where the device has 64-bit atomics and the swapchain takes
  /// copies; the highlighted points are then drawn as sprites on top (rings).
  bool compute_rest = true;
  /// Such a frame is drawn in chunks of this many points (a uniform sample
  /// each, under DrawOrder::shuffled), one per window frame, so that input is
  /// handled between them and the picture fills in; 0: all in one frame.
  int64_t rest_chunk = 1000000;
};

class Window {
 public:
  /// Opens the window and initialises Vulkan and ImGui (ImGui context
  /// included). Throws RuntimeError when there is no display or device.
  explicit Window(const WindowOptions& options);
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  GLFWwindow* handle() const;
  /// Framebuffer size in pixels (what the camera's viewport should be).
  int width() const;
  int height() const;
  bool should_close() const;
  void request_close();

  /// Polls events and starts an ImGui frame.
  void new_frame();
  /// A mouse that scripts move and press: from the next new_frame() on, ImGui
  /// sees the pointer at framebuffer pixel (x, y) with the left button `down`
  /// (and Shift held when `shift`) instead of the real one, so panels and the
  /// legend are clicked as a person clicks them. clear_scripted_mouse() gives
  /// the real mouse back.
  void set_scripted_mouse(float x, float y, bool down, bool shift = false);
  void clear_scripted_mouse();
  bool has_scripted_mouse() const;
  /// Draws the points (or shows the last points image again when nothing
  /// about them changed) and ImGui's draw data, and presents. Uploads the
  /// thumbnails requested since the last frame first. Handles swapchain
  /// re-creation (resize, out-of-date) internally.
  void render(const Camera& camera, const PointStyle& style);
  /// Waits until the GPU is idle (before updating many buffers or exiting).
  void wait_idle();

  /// Same contract as OffscreenRenderer's. Updates wait for frames in flight
  /// that read the buffers, then rewrite them in place.
  void set_positions(ConstView y);
  void set_colors(std::span<const uint32_t> packed);
  void set_states(std::span<const uint8_t> states);
  void set_sizes(std::span<const uint8_t> sizes);
  void set_draw_order(DrawOrder order, uint64_t seed = 0);
  int64_t size() const;
  /// Draw position -> row under DrawOrder::shuffled (empty: row order). A
  /// frame with PointStyle::max_points = m draws the rows draw_order()[0, m).
  const std::vector<uint32_t>& draw_order() const;
  void set_thumbnails(std::shared_ptr<const ThumbnailSource> source, int64_t capacity = 0);
  void request_thumbnails(std::span<const int64_t> rows);
  ThumbnailStats thumbnail_stats() const;
  /// False when the last frame showed the points image of an earlier frame
  /// again (nothing about the points changed: camera, style, buffers), true
  /// when it drew the points. A still camera costs only the panels.
  bool last_frame_drew_points() const;
  /// How the points image on screen was last drawn (compute: a full frame
  /// without thumbnails; see WindowOptions::compute_rest).
  Rasterizer last_rasterizer() const;
  /// False while the points image on screen is a full frame still being drawn
  /// in chunks (WindowOptions::rest_chunk): later frames add the rest.
  bool last_frame_complete() const;

  /// Pixel whose point id is read back every frame (-1, -1: none).
  void set_pick_pixel(int x, int y);
  /// The row under the pick pixel (within a few pixels) as of the last finished
  /// frame, or -1.
  int64_t picked() const;

  /// Saves the next presented frame (points and panels) as a PNG; written
  /// when that frame finishes. screenshot_pending() tells when it is done.
  void request_screenshot(const std::string& path);
  bool screenshot_pending() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace prism::render
