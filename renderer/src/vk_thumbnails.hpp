#pragma once
// The device side of thumbnails: a 2D array image of tiles, its sampler, a
// staging buffer per frame in flight and the cache of which row holds which
// tile. Internal to the renderer.
#include <memory>
#include <span>
#include <vector>

#include "prism/render/thumbnails.hpp"
#include "vk_common.hpp"

namespace prism::render::detail {

class ThumbnailAtlas {
 public:
  /// Without a source: a 1x1 placeholder, so the point pipeline always has an
  /// image bound. With one: room for `capacity` tiles (0: one per row, within
  /// a memory budget and the device's limits) and `frames` staging buffers.
  ThumbnailAtlas(Context& ctx, std::shared_ptr<const ThumbnailSource> source, int64_t rows, int64_t capacity,
                 int frames);
  ~ThumbnailAtlas();
  ThumbnailAtlas(const ThumbnailAtlas&) = delete;
  ThumbnailAtlas& operator=(const ThumbnailAtlas&) = delete;

  bool active() const { return source_ != nullptr; }
  VkImageView view() const { return image_view_; }
  VkSampler sampler() const { return sampler_; }
  const AtlasGeometry& geometry() const { return geometry_; }

  /// The rows the next frames should show, most wanted first (replaces the last request).
  void request(std::span<const int64_t> rows);
  /// Gives slots to requested rows without one (CPU only). Returns how many
  /// images prepare() will upload; when > 0 the caller must make sure no frame
  /// in flight reads the point buffers before calling prepare().
  int64_t plan();
  /// Loads the planned images into staging buffer `frame` (whose last use has
  /// finished), writes the slots into `points` and records the copies into
  /// `cmd`, outside any render pass.
  void prepare(VkCommandBuffer cmd, int frame, PointBuffers& points);
  ThumbnailStats stats() const;

 private:
  void barrier(VkCommandBuffer cmd, VkImageLayout from, VkImageLayout to, VkAccessFlags src_access,
               VkAccessFlags dst_access, VkPipelineStageFlags src_stage, VkPipelineStageFlags dst_stage) const;

  Context& ctx_;
  std::shared_ptr<const ThumbnailSource> source_;
  std::unique_ptr<ThumbnailCache> cache_;
  VkImage image_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkImageView image_view_ = VK_NULL_HANDLE;
  VkSampler sampler_ = VK_NULL_HANDLE;
  uint32_t layers_ = 1;
  AtlasGeometry geometry_;
  size_t tile_bytes_ = 4;
  int64_t per_frame_ = 0;  // uploads a staging buffer holds
  std::vector<std::unique_ptr<Buffer>> staging_;
  std::vector<int64_t> wanted_;
  std::vector<ThumbnailCache::Assignment> planned_;
  bool dirty_ = false;
};

}  // namespace prism::render::detail
