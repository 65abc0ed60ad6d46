// Offscreen rendering: one colour + id + depth target, rendered and read back
// synchronously (figures, tests and benchmarks need the pixels right away).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "prism/render/renderer.hpp"
#include "vk_common.hpp"
#include "vk_compute.hpp"
#include "occlusion.hpp"
#include "vk_thumbnails.hpp"

namespace prism::render {

using namespace detail;

struct OffscreenRenderer::Impl {
  Context ctx;
  int width, height;
  VkRenderPass pass = VK_NULL_HANDLE;
  std::unique_ptr<PointPipeline> pipeline;
  std::unique_ptr<SpriteCuller> culler;  // thumbnails hidden behind nearer ones are not drawn
  std::unique_ptr<PointBuffers> points;
  std::unique_ptr<ImageResource> color_img, id_img, depth_img;
  VkFramebuffer framebuffer = VK_NULL_HANDLE;
  std::unique_ptr<Buffer> color_rb, id_rb;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  VkQueryPool queries = VK_NULL_HANDLE;
  std::unique_ptr<ComputeRaster> compute;
  std::unique_ptr<ThumbnailAtlas> atlas;
  std::shared_ptr<const ThumbnailSource> thumbnail_source;
  int64_t thumbnail_capacity = 0;
  double gpu_ms = std::numeric_limits<double>::quiet_NaN();
  Image color;
  std::vector<uint32_t> ids;

  Impl(int w, int h) : width(w), height(h) {
    PRISM_EXPECTS(w > 0 && h > 0 && w <= 16384 && h <= 16384, "image size ", w, "x", h,
                  " is out of range (1..16384 per side)");
    ctx.create_device();
    pass = make_points_render_pass(ctx.device, VK_FORMAT_R8G8B8A8_UNORM, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    pipeline = std::make_unique<PointPipeline>(ctx, pass);
    culler = std::make_unique<SpriteCuller>(ctx, 1);
    points = std::make_unique<PointBuffers>(ctx);
    set_thumbnails(nullptr, 0);
    const auto uw = uint32_t(w), uh = uint32_t(h);
    color_img = std::make_unique<ImageResource>(
        ctx, uw, uh, VK_FORMAT_R8G8B8A8_UNORM,
        VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT, VK_IMAGE_ASPECT_COLOR_BIT);
    id_img = std::make_unique<ImageResource>(ctx, uw, uh, kIdFormat,
                                             VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                             VK_IMAGE_ASPECT_COLOR_BIT);
    depth_img = std::make_unique<ImageResource>(ctx, uw, uh, kDepthFormat,
                                                VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT, VK_IMAGE_ASPECT_DEPTH_BIT);
    VkImageView views[3] = {color_img->view, id_img->view, depth_img->view};
    VkFramebufferCreateInfo fi{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
    fi.renderPass = pass;
    fi.attachmentCount = 3;
    fi.pAttachments = views;
    fi.width = uw;
    fi.height = uh;
    fi.layers = 1;
    PRISM_VK(vkCreateFramebuffer(ctx.device, &fi, nullptr, &framebuffer));
    const VkDeviceSize bytes = VkDeviceSize(checked_mul(w, h)) * 4;
    color_rb = std::make_unique<Buffer>(ctx, bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT, true);
    id_rb = std::make_unique<Buffer>(ctx, bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT, true);

    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = ctx.pool;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    PRISM_VK(vkAllocateCommandBuffers(ctx.device, &ai, &cmd));
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    PRISM_VK(vkCreateFence(ctx.device, &fci, nullptr, &fence));
    if (ctx.timestamps) {
      VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
      qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
      qi.queryCount = 2;
      PRISM_VK(vkCreateQueryPool(ctx.device, &qi, nullptr, &queries));
    }
  }

  ~Impl() {
    vkDeviceWaitIdle(ctx.device);
    if (queries) vkDestroyQueryPool(ctx.device, queries, nullptr);
    vkDestroyFence(ctx.device, fence, nullptr);
    vkDestroyFramebuffer(ctx.device, framebuffer, nullptr);
    compute.reset();
    atlas.reset();
    color_rb.reset();
    id_rb.reset();
    color_img.reset();
    id_img.reset();
    depth_img.reset();
    points.reset();
    pipeline.reset();
    culler.reset();
    vkDestroyRenderPass(ctx.device, pass, nullptr);
  }

  void set_thumbnails(std::shared_ptr<const ThumbnailSource> source, int64_t capacity) {
    vkDeviceWaitIdle(ctx.device);
    atlas.reset();
    points->clear_slots();
    thumbnail_source = source;
    thumbnail_capacity = capacity;
    atlas = std::make_unique<ThumbnailAtlas>(ctx, std::move(source), points->size(), capacity, 1);
    pipeline->bind_atlas(atlas->view(), atlas->sampler(), atlas->geometry());
  }

  // A new point count needs a new cache of slots.
  void set_positions(ConstView y) {
    const int64_t before = points->size();
    points->set_positions(y);
    if (thumbnail_source && y.rows != before) set_thumbnails(thumbnail_source, thumbnail_capacity);
  }

  void render(const Camera& camera, const PointStyle& style, bool readback, Rasterizer rasterizer) {
    if (rasterizer == Rasterizer::compute) {
      PRISM_CHECK(ctx.int64_atomics, "the compute rasteriser needs shaderBufferInt64Atomics, which ",
                  ctx.properties.deviceName, " lacks");
      if (!compute) compute = std::make_unique<ComputeRaster>(ctx, width, height);
      compute->bind_buffers(*points);
    }
    PRISM_VK(vkResetCommandBuffer(cmd, 0));
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    PRISM_VK(vkBeginCommandBuffer(cmd, &bi));
    // Thumbnails requested since the last frame (nothing is in flight here).
    if (atlas->plan() > 0) atlas->prepare(cmd, 0, *points);
    if (queries) {
      vkCmdResetQueryPool(cmd, queries, 0, 2);
      vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries, 0);
    }
    if (rasterizer == Rasterizer::compute) {
      compute->record(cmd, *points, camera, style);
      if (readback) {
        const VkBufferCopy region{0, 0, VkDeviceSize(width) * height * 4};
        vkCmdCopyBuffer(cmd, compute->out_color->handle, color_rb->handle, 1, &region);
        vkCmdCopyBuffer(cmd, compute->out_id->handle, id_rb->handle, 1, &region);
      }
    } else {
      const auto clears = points_clear_values(style);
      VkRenderPassBeginInfo rp{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
      rp.renderPass = pass;
      rp.framebuffer = framebuffer;
      rp.renderArea = {{0, 0}, {uint32_t(width), uint32_t(height)}};
      rp.clearValueCount = uint32_t(clears.size());
      rp.pClearValues = clears.data();
      vkCmdBeginRenderPass(cmd, &rp, VK_SUBPASS_CONTENTS_INLINE);
      culler->draw(cmd, 0, *pipeline, *points, camera, style, {uint32_t(width), uint32_t(height)});
      vkCmdEndRenderPass(cmd);
    }
    if (readback && rasterizer == Rasterizer::sprites) {
      VkBufferImageCopy region{};
      region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
      region.imageExtent = {uint32_t(width), uint32_t(height), 1};
      vkCmdCopyImageToBuffer(cmd, color_img->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, color_rb->handle, 1, &region);
      vkCmdCopyImageToBuffer(cmd, id_img->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, id_rb->handle, 1, &region);
    }
    if (readback) {
      VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
      mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
      mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr,
                           0, nullptr);
    }
    if (queries) vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries, 1);
    PRISM_VK(vkEndCommandBuffer(cmd));
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    PRISM_VK(vkResetFences(ctx.device, 1, &fence));
    PRISM_VK(vkQueueSubmit(ctx.queue, 1, &si, fence));
    PRISM_VK(vkWaitForFences(ctx.device, 1, &fence, VK_TRUE, UINT64_MAX));
    if (queries) {
      uint64_t ts[2];
      if (vkGetQueryPoolResults(ctx.device, queries, 0, 2, sizeof(ts), ts, sizeof(uint64_t),
                                VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS)
        gpu_ms = double(ts[1] - ts[0]) * ctx.properties.limits.timestampPeriod * 1e-6;
    }
    if (readback) {
      color.width = width;
      color.height = height;
      color.pixels.resize(size_t(width) * height * 4);
      std::memcpy(color.pixels.data(), color_rb->mapped, color.pixels.size());
      ids.resize(size_t(width) * height);
      std::memcpy(ids.data(), id_rb->mapped, ids.size() * 4);
      const auto& order = points->order();
      if (!order.empty()) {  // draw positions -> rows
        const int64_t m = int64_t(ids.size());
#pragma omp parallel for schedule(static) if (m > 500000)
        for (int64_t k = 0; k < m; ++k)
          if (ids[size_t(k)]) ids[size_t(k)] = order[ids[size_t(k)] - 1] + 1;
      }
    }
  }
};

OffscreenRenderer::OffscreenRenderer(int width, int height) : impl_(std::make_unique<Impl>(width, height)) {}
OffscreenRenderer::~OffscreenRenderer() = default;
int OffscreenRenderer::width() const { return impl_->width; }
int OffscreenRenderer::height() const { return impl_->height; }
std::string OffscreenRenderer::device_name() const { return impl_->ctx.properties.deviceName; }
float OffscreenRenderer::max_point_size() const { return impl_->ctx.max_point_size; }
void OffscreenRenderer::set_positions(ConstView y) { impl_->set_positions(y); }
void OffscreenRenderer::set_colors(std::span<const uint32_t> c) { impl_->points->set_colors(c); }
void OffscreenRenderer::set_states(std::span<const uint8_t> s) { impl_->points->set_states(s); }
void OffscreenRenderer::set_sizes(std::span<const uint8_t> s) { impl_->points->set_sizes(s); }
void OffscreenRenderer::set_draw_order(DrawOrder order, uint64_t seed) {
  impl_->points->set_order(order, seed);
}
int64_t OffscreenRenderer::size() const { return impl_->points->size(); }
void OffscreenRenderer::set_thumbnails(std::shared_ptr<const ThumbnailSource> source, int64_t capacity) {
  impl_->set_thumbnails(std::move(source), capacity);
}
void OffscreenRenderer::request_thumbnails(std::span<const int64_t> rows) { impl_->atlas->request(rows); }
ThumbnailStats OffscreenRenderer::thumbnail_stats() const {
  ThumbnailStats s = impl_->atlas->stats();
  s.hidden = impl_->culler->hidden();
  return s;
}
void OffscreenRenderer::render(const Camera& camera, const PointStyle& style, bool readback, Rasterizer rasterizer) {
  impl_->render(camera, style, readback, rasterizer);
}
bool OffscreenRenderer::supports(Rasterizer r) const {
  return r == Rasterizer::sprites || impl_->ctx.int64_atomics;
}
double OffscreenRenderer::last_gpu_ms() const { return impl_->gpu_ms; }
const Image& OffscreenRenderer::color() const { return impl_->color; }
const std::vector<uint32_t>& OffscreenRenderer::ids() const { return impl_->ids; }
int64_t OffscreenRenderer::pick(int x, int y, int radius) const {
  if (impl_->ids.empty()) return -1;
  return pick_from_ids(impl_->ids.data(), impl_->width, impl_->height, x, y, radius);
}

int64_t pick_from_ids(const uint32_t* ids, int width, int height, int x, int y, int radius) {
  int64_t best = -1;
  int best_d2 = std::numeric_limits<int>::max();
  for (int dy = -radius; dy <= radius; ++dy) {
    for (int dx = -radius; dx <= radius; ++dx) {
      const int px = x + dx, py = y + dy;
      if (px < 0 || py < 0 || px >= width || py >= height) continue;
      const uint32_t id = ids[size_t(py) * width + px];
      const int d2 = dx * dx + dy * dy;
      if (id != 0 && d2 < best_d2) {
        best_d2 = d2;
        best = int64_t(id) - 1;
      }
    }
  }
  return best;
}

}  // namespace prism::render
