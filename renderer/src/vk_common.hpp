#pragma once
// Vulkan plumbing shared by the offscreen and windowed modes: the device
// context, buffers and attachments, the point buffers (updated in place) and
// the point pipeline. Internal to the renderer.
#include <vulkan/vulkan.h>

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

/// Positions (3 floats), colours (packed RGBA8) and states (uint8) per point,
/// each in one host-visible buffer usable as vertex and storage buffer and
/// rewritten in place; they grow (re-allocate) only when n exceeds capacity.
/// The caller makes sure no frame in flight reads them while they change.
class PointBuffers {
 public:
  explicit PointBuffers(Context& ctx) : ctx_(ctx) {}
  void set_positions(ConstView y);
  void set_colors(std::span<const uint32_t> packed);
  void set_states(std::span<const uint8_t> states);
  int64_t size() const { return n_; }
  /// True when the next set_positions(n rows) must re-allocate.
  bool needs_growth(int64_t n) const { return n > capacity_; }
  void bind(VkCommandBuffer cmd) const;
  VkBuffer positions() const { return pos_->handle; }
  VkBuffer colors() const { return color_->handle; }
  VkBuffer states() const { return state_->handle; }

 private:
  void reserve(int64_t n);
  Context& ctx_;
  int64_t n_ = 0, capacity_ = 0;
  std::unique_ptr<Buffer> pos_, color_, state_;
};

/// Render pass with a colour (`color_format`, ending in `color_final`), an id
/// (R32_UINT, ending in TRANSFER_SRC) and a depth attachment; all cleared.
VkRenderPass make_points_render_pass(VkDevice device, VkFormat color_format, VkImageLayout color_final);

/// The point pipeline for one render pass.
class PointPipeline {
 public:
  PointPipeline(Context& ctx, VkRenderPass pass);
  ~PointPipeline();
  PointPipeline(const PointPipeline&) = delete;
  PointPipeline& operator=(const PointPipeline&) = delete;
  /// Sets viewport/scissor, pushes the camera and style, draws all points.
  /// Must be inside a render pass made by make_points_render_pass.
  void draw(VkCommandBuffer cmd, const PointBuffers& points, const Camera& camera,
            const PointStyle& style, VkExtent2D extent) const;

 private:
  Context& ctx_;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
};

/// Clear values for make_points_render_pass's attachments.
std::vector<VkClearValue> points_clear_values(const PointStyle& style);

/// A layout transition barrier on a colour image (whole image, one mip/layer).
void image_barrier(VkCommandBuffer cmd, VkImage image, VkImageLayout from, VkImageLayout to,
                   VkAccessFlags src_access, VkAccessFlags dst_access, VkPipelineStageFlags src_stage,
                   VkPipelineStageFlags dst_stage, VkImageAspectFlags aspect = VK_IMAGE_ASPECT_COLOR_BIT);

}  // namespace prism::render::detail
