#pragma once
// Thumbnails hidden behind nearer ones. On a CPU Vulkan device (lavapipe)
// every fragment costs: 70k Fashion-MNIST thumbnails of 12 px on a 1080p
// screen shade about 10M fragments, five layers deep, most of which the depth
// test then throws away. The thumbnails are opaque squares, so the CPU can
// tell exactly which of them no pixel will show, in the order the device
// resolves them, and draw only the others: the same picture and ids.
#include <cstdint>
#include <memory>
#include <vector>

#include <glm/glm.hpp>

#include "vk_common.hpp"

namespace prism::render::detail {

/// The points in draw order, as the vertex shader reads them.
struct SpriteInputs {
  const float* pos = nullptr;       ///< 3 floats per point
  const int32_t* slot = nullptr;    ///< thumbnail slot, -1 = none
  const uint8_t* state = nullptr;   ///< PointState bits
  const uint8_t* size = nullptr;    ///< size multiplier, kUnitSize = 1
  const uint32_t* color = nullptr;  ///< packed RGBA8
  int64_t n = 0;                    ///< points drawn: positions [0, n)
};

/// The frame, as the vertex shader sees it (points.vert's push constants).
struct SpriteView {
  glm::mat4 mvp{1.0f};
  int width = 0, height = 0;  ///< framebuffer pixels
  float image_scale = 0;      ///< thumbnail edge in pixels at clip w = 1
  float image_min_px = 0;     ///< smaller thumbnails stay dots
  float max_size = 1;         ///< the device's largest point
};

/// Fills `out` with the draw positions in [0, n) that may show a pixel, in
/// ascending order, and returns how many it left out. Left out is only a
/// thumbnail whose square (widened by a pixel each side) lies wholly under
/// the squares (narrowed by a pixel each side) of opaque thumbnails in front
/// of it: nearer, or at the same depth and drawn later (the pipeline's
/// LESS_OR_EQUAL test). Dots, highlighted points (drawn in front, enlarged),
/// points whose centre is off screen and translucent ones never hide others;
/// with translucent thumbnails at several depths nothing is left out (what
/// shows through them depends on the draw order, not only on depth).
/// `bits` is scratch space, kept between calls.
int64_t visible_sprites(const SpriteInputs& in, const SpriteView& view, std::vector<uint32_t>& out,
                        std::vector<uint64_t>& bits);

/// Draws the points through an index buffer per frame in flight when
/// visible_sprites applies (thumbnails on, a CPU device, opaque points, no
/// isolation, style.cull_hidden), else with one plain draw.
class SpriteCuller {
 public:
  SpriteCuller(Context& ctx, int frames_in_flight);
  void draw(VkCommandBuffer cmd, int frame, const PointPipeline& pipeline, const PointBuffers& points,
            const Camera& camera, const PointStyle& style, VkExtent2D extent);
  /// Thumbnails the last draw left out.
  int64_t hidden() const { return hidden_; }

 private:
  Context& ctx_;
  std::vector<std::unique_ptr<Buffer>> indices_;
  std::vector<uint32_t> visible_;
  std::vector<uint64_t> bits_;
  int64_t hidden_ = 0;
};

}  // namespace prism::render::detail
