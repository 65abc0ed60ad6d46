#pragma once
// Vulkan plumbing shared by the offscreen and windowed modes: the device
// context, buffers and attachments, the point buffers (updated in place) and
// the point pipeline. Internal to the renderer.
#include <vulkan/vulkan.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "prism/error.hpp"
#include "prism/matrix.hpp"
#include "prism/render/camera.hpp"
#include "prism/render/renderer.hpp"

namespace prism::render::detail {

const char* vk_result_name(VkResult r);

#define PRISM_VK(call)                                                                        \
  do {                                                                                        \
    const VkResult prism_vk_r_ = (call);                                                      \
    if (prism_vk_r_ != VK_SUCCESS)                                                            \
      throw ::prism::RuntimeError(::prism::cat(__FILE__, ":", __LINE__, ": ", #call, " -> ", \
                                               ::prism::render::detail::vk_result_name(prism_vk_r_))); \
  } while (0)

/// Instance, device, one graphics queue and a command pool.
class Context {
 public:
  /// Creates the instance with `instance_extensions` (GLFW's for a window).
  /// PRISM_VK_VALIDATION=1 in the environment enables the Khronos validation layer.
  explicit Context(const std::vector<const char*>& instance_extensions = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// Picks a device with a graphics queue (that can present to `surface`, when
  /// given) and creates it; `swapchain` enables VK_KHR_swapchain.
  void create_device(VkSurfaceKHR surface = VK_NULL_HANDLE, bool swapchain = false);

  /// A memory type among `type_bits` with all of `required`, preferring `preferred` too.
  uint32_t memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                       VkMemoryPropertyFlags preferred = 0) const;
  /// Records with `record` into a fresh command buffer, submits and waits.
  template <class F>
  void one_shot(F&& record) {
    VkCommandBuffer cmd = begin_one_shot();
    record(cmd);
    end_one_shot(cmd);
  }
  VkCommandBuffer begin_one_shot();
  void end_one_shot(VkCommandBuffer cmd);

  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  VkCommandPool pool = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties properties{};
  VkPhysicalDeviceMemoryProperties memory{};
  float max_point_size = 1.0f;
  bool timestamps = false;  ///< timestamp queries usable on the queue
  bool independent_blend = false;  ///< alpha blending of points is available
  bool int64_atomics = false;      ///< shaderBufferInt64Atomics: the compute rasteriser works

 private:
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
};

/// A buffer with its memory; host-visible ones stay mapped.
class Buffer {
 public:
  Buffer(Context& ctx, VkDeviceSize size, VkBufferUsageFlags usage, bool host_visible);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  VkBuffer handle = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize size = 0;
  void* mapped = nullptr;

 private:
  Context& ctx_;
};

/// A 2D image with one view, device-local.
class ImageResource {
 public:
  ImageResource(Context& ctx, uint32_t width, uint32_t height, VkFormat format,
                VkImageUsageFlags usage, VkImageAspectFlags aspect);
  ~ImageResource();
  ImageResource(const ImageResource&) = delete;
  ImageResource& operator=(const ImageResource&) = delete;
  VkImage image = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkImageView view = VK_NULL_HANDLE;
  VkFormat format = VK_FORMAT_UNDEFINED;

 private:
  Context& ctx_;
};

inline constexpr VkFormat kIdFormat = VK_FORMAT_R32_UINT;
inline constexpr VkFormat kDepthFormat = VK_FORMAT_D32_SFLOAT;

/// Positions (3 floats), colours (packed RGBA8), states (uint8), sizes (uint8,
/// kUnitSize = 1) and thumbnail slots (int32, -1 = none) per point, each in
/// one host-visible buffer usable as vertex and storage buffer and rewritten
/// in place; they grow (re-allocate) only when n exceeds capacity. Points are
/// stored in draw order (DrawOrder::shuffled: a seeded permutation of the
/// rows); every setter takes rows and gathers. The caller makes sure no frame
/// in flight reads them while they change.
class PointBuffers {
 public:
  explicit PointBuffers(Context& ctx) : ctx_(ctx) {}
  /// Clears the points; the order is made when positions arrive.
  void set_order(DrawOrder order, uint64_t seed);
  void set_positions(ConstView y);
  void set_colors(std::span<const uint32_t> packed);
  void set_states(std::span<const uint8_t> states);
  void set_sizes(std::span<const uint8_t> sizes);
  /// Gives row rows[i] the thumbnail slot slots[i] (-1: none).
  void set_slots(std::span<const int64_t> rows, std::span<const int32_t> slots);
  /// Every point back to "no thumbnail".
  void clear_slots();
  int64_t size() const { return n_; }
  /// The row stored at draw position `index`.
  int64_t row_at(int64_t index) const { return order_.empty() ? index : int64_t(order_[size_t(index)]); }
  /// Draw position -> row (empty: the identity).
  const std::vector<uint32_t>& order() const { return order_; }
  /// Changes whenever any buffer changes (the window's cache of the last points image).
  uint64_t generation() const { return generation_; }
  /// True when the next set_positions(n rows) must re-allocate.
  bool needs_growth(int64_t n) const { return n > capacity_; }
  void bind(VkCommandBuffer cmd) const;
  VkBuffer positions() const { return pos_->handle; }
  VkBuffer colors() const { return color_->handle; }
  VkBuffer states() const { return state_->handle; }
  VkBuffer sizes() const { return size_->handle; }
  /// The states in draw order (host-visible, 4-byte aligned storage).
  const uint8_t* state_data() const { return static_cast<const uint8_t*>(state_->mapped); }
  /// The other buffers in draw order, as the vertex shader reads them (host-visible).
  const float* position_data() const { return static_cast<const float*>(pos_->mapped); }
  const uint32_t* color_data() const { return static_cast<const uint32_t*>(color_->mapped); }
  const uint8_t* size_data() const { return static_cast<const uint8_t*>(size_->mapped); }
  const int32_t* slot_data() const { return static_cast<const int32_t*>(slot_->mapped); }

 private:
  void reserve(int64_t n);
  void make_order(int64_t n);
  template <class T>
  void gather(Buffer& dst, std::span<const T> src, const char* what);
  Context& ctx_;
  int64_t n_ = 0, capacity_ = 0;
  DrawOrder mode_ = DrawOrder::rows;
  uint64_t seed_ = 0, generation_ = 0;
  std::vector<uint32_t> order_, position_of_row_;
  std::unique_ptr<Buffer> pos_, color_, state_, size_, slot_;
};

/// Render pass with a colour (`color_format`, ending in `color_final`), an id
/// (R32_UINT, ending in TRANSFER_SRC) and a depth attachment; all cleared.
VkRenderPass make_points_render_pass(VkDevice device, VkFormat color_format, VkImageLayout color_final);
/// The same attachments (a compatible pass) with the colour and id images
/// loaded from COLOR_ATTACHMENT_OPTIMAL instead of cleared (depth still cleared):
/// sprites drawn over a compute-rasterised frame.
VkRenderPass make_points_overlay_pass(VkDevice device, VkFormat color_format, VkImageLayout color_final);

/// Where the thumbnails are in the atlas bound to the pipeline (see ThumbnailAtlas).
struct AtlasGeometry {
  uint32_t tiles_x = 1;          ///< tiles per line of a layer
  uint32_t tiles_per_layer = 1;
  glm::vec2 tile_px{1.0f};       ///< one tile, texels
  glm::vec2 fit{1.0f};           ///< the image's share of the square sprite (aspect kept)
};

/// The point pipeline for one render pass: dots and, with an atlas bound,
/// thumbnails (both are point sprites).
class PointPipeline {
 public:
  PointPipeline(Context& ctx, VkRenderPass pass);
  ~PointPipeline();
  PointPipeline(const PointPipeline&) = delete;
  PointPipeline& operator=(const PointPipeline&) = delete;
  /// Points the pipeline's descriptor at a thumbnail atlas (a 2D array image).
  /// No frame that uses the pipeline may be in flight.
  void bind_atlas(VkImageView view, VkSampler sampler, const AtlasGeometry& geometry);
  /// Sets viewport/scissor, pushes the camera and style, draws the points
  /// (the first style.max_points of them when it is set). Must be inside a
  /// render pass made by make_points_render_pass.
  void draw(VkCommandBuffer cmd, const PointBuffers& points, const Camera& camera,
            const PointStyle& style, VkExtent2D extent) const;
  /// Draws only the points at the `count` draw positions in `indices` (uint32;
  /// ids stay draw positions + 1): highlighted points over a compute-rasterised frame.
  void draw_indexed(VkCommandBuffer cmd, const PointBuffers& points, const Camera& camera, const PointStyle& style,
                    VkExtent2D extent, VkBuffer indices, uint32_t count) const;
  bool has_atlas() const { return has_atlas_; }

 private:
  void setup(VkCommandBuffer cmd, const PointBuffers& points, const Camera& camera, const PointStyle& style,
             VkExtent2D extent) const;
  Context& ctx_;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
  AtlasGeometry atlas_;
  bool has_atlas_ = false;
};

/// A thumbnail's edge in pixels at clip w = 1 (0: thumbnails are off): the
/// vertex shader's image_scale.
inline float thumbnail_scale(const Camera& camera, const PointStyle& style, VkExtent2D extent) {
  // proj[1][1] maps world units to NDC at clip w = 1.
  return style.image_size > 0 ? style.image_size * std::abs(camera.proj()[1][1]) * 0.5f * float(extent.height) : 0.0f;
}

/// How many of n points a frame draws under `style` (max_points, when set).
inline int64_t drawn_points(int64_t n, const PointStyle& style) {
  return style.max_points > 0 && style.max_points < n ? style.max_points : n;
}

/// Clear values for make_points_render_pass's attachments.
std::vector<VkClearValue> points_clear_values(const PointStyle& style);

/// A layout transition barrier on a colour image (whole image, one mip/layer).
void image_barrier(VkCommandBuffer cmd, VkImage image, VkImageLayout from, VkImageLayout to,
                   VkAccessFlags src_access, VkAccessFlags dst_access, VkPipelineStageFlags src_stage,
                   VkPipelineStageFlags dst_stage, VkImageAspectFlags aspect = VK_IMAGE_ASPECT_COLOR_BIT);

}  // namespace prism::render::detail
