#include "vk_thumbnails.hpp"

#include <algorithm>
#include <cstring>

namespace prism::render::detail {

namespace {
// Device memory the atlas may take: a CPU device (lavapipe) shares the
// machine's memory with everything else; a GPU gets a quarter of its heap.
VkDeviceSize atlas_budget(const Context& ctx) {
  if (ctx.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) return VkDeviceSize(768) << 20;
  VkDeviceSize heap = 0;
  for (uint32_t i = 0; i < ctx.memory.memoryHeapCount; ++i)
    if (ctx.memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      heap = std::max(heap, ctx.memory.memoryHeaps[i].size);
  return std::clamp<VkDeviceSize>(heap / 4, VkDeviceSize(256) << 20, VkDeviceSize(16) << 30);
}
}  // namespace

ThumbnailAtlas::ThumbnailAtlas(Context& ctx, std::shared_ptr<const ThumbnailSource> source, int64_t rows,
                               int64_t capacity, int frames)
    : ctx_(ctx), source_(std::move(source)) {
  uint32_t layer_w = 1, layer_h = 1;
  VkFormat format = VK_FORMAT_R8G8B8A8_UNORM;
  if (source_) {
    PRISM_EXPECTS(source_->count() >= rows, "the thumbnails (", source_->describe(), ") cover ", source_->count(),
                  " rows, the points are ", rows);
    const int w = source_->width(), h = source_->height(), ch = source_->channels();
    PRISM_EXPECTS(ch == 1 || ch == 4, "thumbnails must have 1 or 4 channels, got ", ch);
    format = ch == 1 ? VK_FORMAT_R8_UNORM : VK_FORMAT_R8G8B8A8_UNORM;
    tile_bytes_ = size_t(w) * h * ch;
    const uint32_t side = std::min<uint32_t>(ctx.properties.limits.maxImageDimension2D, 4096);
    PRISM_EXPECTS(uint32_t(w) <= side && uint32_t(h) <= side, "thumbnails of ", w, "x", h, " exceed the device's ",
                  side, "-pixel images");
    const int64_t tiles_x = side / w, full_per_layer = tiles_x * (side / h);
    const int64_t max_tiles = std::min<int64_t>(
        {int64_t(atlas_budget(ctx) / tile_bytes_), full_per_layer * ctx.properties.limits.maxImageArrayLayers,
         int64_t(INT32_MAX)});
    const int64_t cap = std::clamp<int64_t>(capacity > 0 ? capacity : rows, 1, std::max<int64_t>(max_tiles, 1));
    // A small set needs only part of one layer.
    const int64_t lines = std::min<int64_t>(side / h, (cap + tiles_x - 1) / tiles_x);
    const int64_t per_layer = tiles_x * lines;
    layers_ = uint32_t((cap + per_layer - 1) / per_layer);
    layer_w = uint32_t(tiles_x * w);
    layer_h = uint32_t(lines * h);
    geometry_.tiles_x = uint32_t(tiles_x);
    geometry_.tiles_per_layer = uint32_t(per_layer);
    geometry_.tile_px = {float(w), float(h)};
    geometry_.fit = w >= h ? glm::vec2(1.0f, float(h) / w) : glm::vec2(float(w) / h, 1.0f);
    cache_ = std::make_unique<ThumbnailCache>(rows, cap);
    // A window loads a few decoded files per frame to stay responsive; an
    // offscreen frame (figures) takes as many as its staging buffer holds.
    per_frame_ = source_->slow() && frames > 1
                     ? 24
                     : std::clamp<int64_t>(int64_t((size_t(16) << 20) / tile_bytes_), 16, 16384);
    per_frame_ = std::min(per_frame_, cap);
    for (int f = 0; f < frames; ++f)
      staging_.push_back(std::make_unique<Buffer>(ctx, VkDeviceSize(per_frame_) * tile_bytes_,
                                                  VK_BUFFER_USAGE_TRANSFER_SRC_BIT, true));
  }
  VkImageCreateInfo ii{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
  ii.imageType = VK_IMAGE_TYPE_2D;
  ii.format = format;
  ii.extent = {layer_w, layer_h, 1};
  ii.mipLevels = 1;
  ii.arrayLayers = layers_;
  ii.samples = VK_SAMPLE_COUNT_1_BIT;
  ii.tiling = VK_IMAGE_TILING_OPTIMAL;
  ii.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
  ii.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  PRISM_VK(vkCreateImage(ctx.device, &ii, nullptr, &image_));
  VkMemoryRequirements req;
  vkGetImageMemoryRequirements(ctx.device, image_, &req);
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = ctx.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  const VkResult r = vkAllocateMemory(ctx.device, &ai, nullptr, &memory_);
  if (r != VK_SUCCESS) {
    vkDestroyImage(ctx.device, image_, nullptr);
    throw RuntimeError(cat("cannot allocate ", req.size >> 20, " MiB for ", layers_, " thumbnail layers: ",
                           vk_result_name(r)));
  }
  PRISM_VK(vkBindImageMemory(ctx.device, image_, memory_, 0));
  VkImageViewCreateInfo vi{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
  vi.image = image_;
  vi.viewType = VK_IMAGE_VIEW_TYPE_2D_ARRAY;
  vi.format = format;
  if (format == VK_FORMAT_R8_UNORM)  // grey images: r everywhere, opaque
    vi.components = {VK_COMPONENT_SWIZZLE_R, VK_COMPONENT_SWIZZLE_R, VK_COMPONENT_SWIZZLE_R, VK_COMPONENT_SWIZZLE_ONE};
  vi.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, layers_};
  PRISM_VK(vkCreateImageView(ctx.device, &vi, nullptr, &image_view_));
  VkSamplerCreateInfo si{VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO};
  si.magFilter = VK_FILTER_LINEAR;
  si.minFilter = VK_FILTER_LINEAR;
  si.mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST;
  si.addressModeU = si.addressModeV = si.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE;
  si.maxLod = 0.0f;
  PRISM_VK(vkCreateSampler(ctx.device, &si, nullptr, &sampler_));
  // Cleared to transparent and ready for sampling before any tile arrives.
  ctx.one_shot([&](VkCommandBuffer cmd) {
    barrier(cmd, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0, VK_ACCESS_TRANSFER_WRITE_BIT,
            VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT);
    const VkClearColorValue clear{{0.0f, 0.0f, 0.0f, 0.0f}};
    const VkImageSubresourceRange range{VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, layers_};
    vkCmdClearColorImage(cmd, image_, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &clear, 1, &range);
    barrier(cmd, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
            VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_SHADER_READ_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT);
  });
}

ThumbnailAtlas::~ThumbnailAtlas() {
  staging_.clear();
  vkDestroySampler(ctx_.device, sampler_, nullptr);
  vkDestroyImageView(ctx_.device, image_view_, nullptr);
  vkDestroyImage(ctx_.device, image_, nullptr);
  vkFreeMemory(ctx_.device, memory_, nullptr);
}

void ThumbnailAtlas::barrier(VkCommandBuffer cmd, VkImageLayout from, VkImageLayout to, VkAccessFlags src_access,
                             VkAccessFlags dst_access, VkPipelineStageFlags src_stage,
                             VkPipelineStageFlags dst_stage) const {
  VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
  b.srcAccessMask = src_access;
  b.dstAccessMask = dst_access;
  b.oldLayout = from;
  b.newLayout = to;
  b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = image_;
  b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, layers_};
  vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 0, nullptr, 0, nullptr, 1, &b);
}

void ThumbnailAtlas::request(std::span<const int64_t> rows) {
  if (!active()) return;
  wanted_.assign(rows.begin(), rows.end());
  dirty_ = true;
}

int64_t ThumbnailAtlas::plan() {
  if (!active() || (!dirty_ && cache_->pending() == 0) || !planned_.empty()) return int64_t(planned_.size());
  dirty_ = false;
  planned_ = cache_->assign(wanted_, per_frame_);
  return int64_t(planned_.size());
}

void ThumbnailAtlas::prepare(VkCommandBuffer cmd, int frame, PointBuffers& points) {
  if (planned_.empty()) return;
  const std::vector<int64_t>& evicted = cache_->evicted();
  if (!evicted.empty()) points.set_slots(evicted, std::vector<int32_t>(evicted.size(), -1));
  auto* staging = static_cast<uint8_t*>(staging_[size_t(frame)]->mapped);
  const int64_t n = int64_t(planned_.size());
  const ThumbnailSource& src = *source_;
  const size_t bytes = tile_bytes_;
#pragma omp parallel for schedule(dynamic, 16) if (n > 64 || src.slow())
  for (int64_t k = 0; k < n; ++k) src.load(planned_[size_t(k)].row, staging + size_t(k) * bytes);
  std::vector<VkBufferImageCopy> regions(static_cast<size_t>(n));
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::vector<int32_t> slots(static_cast<size_t>(n));
  const uint32_t w = uint32_t(src.width()), h = uint32_t(src.height());
  for (int64_t k = 0; k < n; ++k) {
    const auto& a = planned_[size_t(k)];
    const uint32_t in_layer = uint32_t(a.slot) % geometry_.tiles_per_layer;
    VkBufferImageCopy& r = regions[size_t(k)];
    r.bufferOffset = VkDeviceSize(k) * bytes;
    r.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, uint32_t(a.slot) / geometry_.tiles_per_layer, 1};
    r.imageOffset = {int32_t(in_layer % geometry_.tiles_x * w), int32_t(in_layer / geometry_.tiles_x * h), 0};
    r.imageExtent = {w, h, 1};
    rows[size_t(k)] = a.row;
    slots[size_t(k)] = a.slot;
  }
  points.set_slots(rows, slots);
  barrier(cmd, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
          VK_ACCESS_SHADER_READ_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT,
          VK_PIPELINE_STAGE_TRANSFER_BIT);
  vkCmdCopyBufferToImage(cmd, staging_[size_t(frame)]->handle, image_, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                         uint32_t(regions.size()), regions.data());
  barrier(cmd, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
          VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_SHADER_READ_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
          VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT);
  planned_.clear();
}

ThumbnailStats ThumbnailAtlas::stats() const {
  if (!active()) return {};
  return {cache_->loaded(), cache_->capacity(), cache_->pending()};
}

}  // namespace prism::render::detail
