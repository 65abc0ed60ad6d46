#pragma once
// The compute rasteriser (raster.comp + resolve.comp), shared by the offscreen
// renderer and the window's resting frames. Internal to the renderer.
#include <memory>

#include "vk_common.hpp"

namespace prism::render::detail {

/// The compute rasteriser's pipelines and buffers for one width x height
/// target: record() fills `out_color` (RGBA8, r lowest, or BGRA8 with `bgr`)
/// and `out_id` (draw position + 1, 0 = background) per pixel.
struct ComputeRaster {
  Context& ctx;
  uint32_t width, height;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline raster = VK_NULL_HANDLE, resolve = VK_NULL_HANDLE;
  VkDescriptorPool pool = VK_NULL_HANDLE;
  VkDescriptorSet set = VK_NULL_HANDLE;
  std::unique_ptr<Buffer> frame, out_color, out_id;

  ComputeRaster(Context& c, int width, int height);
  ~ComputeRaster();
  ComputeRaster(const ComputeRaster&) = delete;
  ComputeRaster& operator=(const ComputeRaster&) = delete;

  /// The point buffers may have grown since the last frame: rebind every time
  /// (no frame that uses the set may be in flight).
  void bind_buffers(const PointBuffers& points);
  /// Rasterises the draw positions [first, first + count) (count < 0: to the
  /// end) over the frame buffer, cleared first when first is 0, and resolves
  /// it; ends with the outputs ready for transfer reads. Orders itself after
  /// earlier transfer and compute work on the queue. Chunks of one frame keep
  /// the nearest point, as one dispatch would.
  void record(VkCommandBuffer cmd, const PointBuffers& points, const Camera& camera, const PointStyle& style,
              bool bgr = false, int64_t first = 0, int64_t count = -1);
};

}  // namespace prism::render::detail
