#pragma once
// Offscreen point rendering (figures, tests, benchmarks). The windowed viewer
// (window.hpp) uses the same point buffers, shaders and pipeline.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "prism/matrix.hpp"
#include "prism/render/camera.hpp"
#include "prism/render/image.hpp"

namespace prism::render {

/// Per-point highlight bits (a uint8 per point); drawn distinctly, in this
/// order of precedence: hovered (black ring), selected (orange ring),
/// neighbour (blue ring), search match (yellow ring).
enum PointState : uint8_t {
  kNone = 0,
  kSelected = 1,
  kHovered = 2,
  kMatch = 4,
  kNeighbor = 8,
};

/// How points look in a frame.
struct PointStyle {
  float point_size = 4.0f;                  ///< sprite diameter in pixels (device limit: 255 on lavapipe)
  float alpha = 1.0f;                       ///< opacity multiplier in [0, 1]
  Rgba8 background{255, 255, 255, 255};     ///< clear colour
  bool isolate = false;                     ///< dim (and make unpickable) points with no state bit
};

/// How points become pixels.
enum class Rasterizer {
  /// Graphics pipeline: round sprites with highlight rings, alpha blending, depth test.
  sprites,
  /// Compute shaders: each point atomically min-writes (depth << 32 | id) into a
  /// 64-bit word per pixel, then a resolve pass writes colours and ids. Discs of
  /// up to 32 px, no rings (highlighted points take the ring colour), opacity
  /// over the background only. The fast path for 10M+ points on a GPU; needs
  /// shaderBufferInt64Atomics (see OffscreenRenderer::supports).
  compute,
};

class OffscreenRenderer {
 public:
  /// Creates a Vulkan device (the first one found; lavapipe here) and a
  /// width x height colour + id + depth target. Throws RuntimeError when no
  /// Vulkan device is available.
  OffscreenRenderer(int width, int height);
  ~OffscreenRenderer();
  OffscreenRenderer(const OffscreenRenderer&) = delete;
  OffscreenRenderer& operator=(const OffscreenRenderer&) = delete;

  int width() const;
  int height() const;
  /// Name of the Vulkan device ("llvmpipe (...)").
  std::string device_name() const;
  /// Largest point size the device draws, in pixels.
  float max_point_size() const;
  /// Whether the device can use `r`.
  bool supports(Rasterizer r) const;

  /// Point positions, n x 2 (z = 0) or n x 3. Rewrites the GPU buffer in place
  /// when n fits the current capacity; grows it otherwise. Colours default to
  /// one colour and states to kNone when n changes.
  void set_positions(ConstView y);
  /// One packed Rgba8 per point (size must equal the point count).
  void set_colors(std::span<const uint32_t> packed);
  /// One PointState bit set per point (size must equal the point count).
  void set_states(std::span<const uint8_t> states);
  int64_t size() const;

  /// Draws a frame and waits for it. `readback` copies colour and ids back for
  /// color()/ids()/pick(); without it only the GPU work is done (benchmarks).
  /// Throws RuntimeError when the device does not support `rasterizer`.
  void render(const Camera& camera, const PointStyle& style, bool readback = true,
              Rasterizer rasterizer = Rasterizer::sprites);
  /// Milliseconds the GPU spent on the last frame (timestamp queries; NaN when unsupported).
  double last_gpu_ms() const;

  /// The last frame's colour image.
  const Image& color() const;
  /// The last frame's id image: row-major width x height, point row + 1, 0 = background.
  const std::vector<uint32_t>& ids() const;
  /// Row index of the point drawn at pixel (x, y), or the nearest one within
  /// `radius` pixels; -1 when there is none.
  int64_t pick(int x, int y, int radius = 0) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The non-zero id nearest (Euclidean) to pixel (x, y) within the square of
/// half-side `radius` in a width x height id image; returns id - 1, or -1.
int64_t pick_from_ids(const uint32_t* ids, int width, int height, int x, int y, int radius);

}  // namespace prism::render
