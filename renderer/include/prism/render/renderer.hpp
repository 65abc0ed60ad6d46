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
#include "prism/render/thumbnails.hpp"

namespace prism::render {

/// Per-point highlight bits (a uint8 per point); drawn distinctly, in this
/// order of precedence: hovered (black ring), selected (orange ring),
/// neighbour (blue ring), search match (yellow ring). kFocus has no ring: it
/// only keeps a point at full colour when the style isolates (a class picked
/// in the legend).
enum PointState : uint8_t {
  kNone = 0,
  kSelected = 1,
  kHovered = 2,
  kMatch = 4,
  kNeighbor = 8,
  kFocus = 16,
};

/// How points look in a frame.
struct PointStyle {
  float point_size = 4.0f;                  ///< sprite diameter in pixels (device limit: 255 on lavapipe)
  float alpha = 1.0f;                       ///< opacity multiplier in [0, 1]
  Rgba8 background{255, 255, 255, 255};     ///< clear colour
  bool isolate = false;                     ///< dim (and make unpickable) points with no state bit
  /// Draw only the first `max_points` points of the draw order (0: all): the
  /// budget of a moving camera. Under DrawOrder::shuffled they are a uniform
  /// random sample, so the picture's density stays true.
  int64_t max_points = 0;
  /// Edge of a thumbnail (set_thumbnails) in world units; 0 draws dots only.
  /// Perspective views scale it with depth like any object.
  float image_size = 0.0f;
  /// Level of detail: a point whose thumbnail would be smaller than this many
  /// pixels on screen, or whose image is not loaded yet, stays a dot.
  float image_min_px = 6.0f;
  /// On a CPU Vulkan device, leave out the thumbnails that nearer opaque ones
  /// hide completely (worked out on the CPU each frame): the same picture and
  /// ids with a fraction of the fragments. Off only to compare.
  bool cull_hidden = true;
};

/// The order points are stored and drawn in. `rows`: row order (at equal
/// depth the later row wins). `shuffled`: a seeded permutation, so that any
/// prefix (PointStyle::max_points) is a uniform sample of the rows. Picking
/// and ids always report rows.
enum class DrawOrder { rows, shuffled };

/// Per-point size multiplier for set_sizes(): 64 is 1.0, 255 about 4.
inline constexpr uint8_t kUnitSize = 64;

/// How points become pixels.
enum class Rasterizer {
  /// Graphics pipeline: round sprites with highlight rings, alpha blending, depth test.
  sprites,
  /// Compute shaders: each point atomically min-writes (depth << 32 | id) into a
  /// 64-bit word per pixel, then a resolve pass writes colours and ids. Discs of
  /// up to 32 px (per-point sizes included), no rings (highlighted points take the
  /// ring colour; the window draws them again as sprites on top), opacity
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
  /// One size multiplier per point (kUnitSize = 1.0); all kUnitSize by default.
  void set_sizes(std::span<const uint8_t> sizes);
  /// How points are ordered for drawing (default rows). Clears the points:
  /// call it before set_positions.
  void set_draw_order(DrawOrder order, uint64_t seed = 0);
  int64_t size() const;

  /// Thumbnails drawn in place of points (PointStyle::image_size > 0); nullptr
  /// removes them. `capacity` images fit on the device at once (0: as many as
  /// the rows, within a memory budget); beyond it the least recently requested
  /// are evicted. Images load lazily: see request_thumbnails.
  void set_thumbnails(std::shared_ptr<const ThumbnailSource> source, int64_t capacity = 0);
  /// Rows whose images the next frames should show, most wanted first; those
  /// not on the device are loaded and uploaded before the next frame draws
  /// (within a per-frame budget; slow sources decode a few per frame).
  void request_thumbnails(std::span<const int64_t> rows);
  /// How many images are on the device, and how many fit.
  ThumbnailStats thumbnail_stats() const;

  /// Draws a frame and waits for it. `readback` copies colour and ids back for
  /// color()/ids()/pick(); without it only the GPU work is done (benchmarks).
  /// Throws RuntimeError when the device does not support `rasterizer`.
  void render(const Camera& camera, const PointStyle& style, bool readback = true,
              Rasterizer rasterizer = Rasterizer::sprites);
  /// Milliseconds the GPU spent on the last frame (timestamp queries; NaN when unsupported).
  double last_gpu_ms() const;

  /// The last frame's colour image.
  const Image& color() const;
  /// The last frame's id image: row-major width x height, point row + 1, 0 =
  /// background (rows whatever the draw order).
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
