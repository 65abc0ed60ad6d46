#include "vk_common.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <glm/gtc/type_ptr.hpp>

#include "prism/random.hpp"

namespace prism::render::detail {

namespace {

const uint32_t kPointsVert[] = {
#include "points.vert.inc"
};
const uint32_t kPointsFrag[] = {
#include "points.frag.inc"
};

// Must match the push_constant blocks in shaders/points.vert and points.frag.
struct PushConstants {
  glm::mat4 mvp;
  glm::vec4 background;
  float point_size;
  float alpha;
  uint32_t flags;  // bit 0: isolate; bit 1: thumbnails
  float max_size;
  float image_scale;  // pixels of a thumbnail at clip w = 1
  float image_min_px;
  uint32_t tiles_x;
  uint32_t tiles_per_layer;
  glm::vec2 tile_px;
  glm::vec2 fit;
};
static_assert(sizeof(PushConstants) == 128);  // the guaranteed minimum of maxPushConstantsSize

VKAPI_ATTR VkBool32 VKAPI_CALL debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                              VkDebugUtilsMessageTypeFlagsEXT,
                                              const VkDebugUtilsMessengerCallbackDataEXT* data, void*) {
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT)
    std::fprintf(stderr, "[vulkan] %s\n", data->pMessage);
  return VK_FALSE;
}

// PRISM_VK_VALIDATION=1 asks for the Khronos layer; without the layer installed
// (vulkan-validationlayers) it says so and goes on without it.
bool validation_requested() {
  const char* v = std::getenv("PRISM_VK_VALIDATION");
  if (!v || v[0] != '1') return false;
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vkEnumerateInstanceLayerProperties(&n, layers.data());
  for (const auto& l : layers)
    if (std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0) return true;
  std::fprintf(stderr, "[prism] PRISM_VK_VALIDATION=1 but VK_LAYER_KHRONOS_validation is not installed\n");
  return false;
}

}  // namespace

const char* vk_result_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_SUBOPTIMAL_KHR: return "VK_SUBOPTIMAL_KHR";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER (no Vulkan driver: install mesa-vulkan-drivers)";
    case VK_ERROR_SURFACE_LOST_KHR: return "VK_ERROR_SURFACE_LOST_KHR";
    case VK_ERROR_OUT_OF_DATE_KHR: return "VK_ERROR_OUT_OF_DATE_KHR";
    default: return "VkResult error";
  }
}

Context::Context(const std::vector<const char*>& instance_extensions) {
  std::vector<const char*> exts = instance_extensions;
  std::vector<const char*> layers;
  const bool validation = validation_requested();
  if (validation) {
    layers.push_back("VK_LAYER_KHRONOS_validation");
    exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "prism";
  app.apiVersion = VK_API_VERSION_1_2;  // 1.2 core: 64-bit buffer atomics
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  ci.enabledExtensionCount = static_cast<uint32_t>(exts.size());
  ci.ppEnabledExtensionNames = exts.data();
  ci.enabledLayerCount = static_cast<uint32_t>(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  PRISM_VK(vkCreateInstance(&ci, nullptr, &instance));
  if (validation) {
    VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mi.messageSeverity =
        VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mi.pfnUserCallback = debug_callback;
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
    if (create) create(instance, &mi, nullptr, &messenger_);
  }
}

void Context::create_device(VkSurfaceKHR surface, bool swapchain) {
  uint32_t count = 0;
  PRISM_VK(vkEnumeratePhysicalDevices(instance, &count, nullptr));
  if (count == 0)
    throw RuntimeError("no Vulkan device found (install mesa-vulkan-drivers for the CPU device lavapipe)");
  std::vector<VkPhysicalDevice> devices(count);
  PRISM_VK(vkEnumeratePhysicalDevices(instance, &count, devices.data()));
  // Prefer a real GPU; lavapipe (type CPU) is the fallback and the test device.
  auto rank = [](VkPhysicalDeviceType t) {
    switch (t) {
      case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
      case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
      case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
      case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
      default: return 4;
    }
  };
  int best_rank = 99;
  for (VkPhysicalDevice d : devices) {
    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(d, &nq, nullptr);
    std::vector<VkQueueFamilyProperties> qs(nq);
    vkGetPhysicalDeviceQueueFamilyProperties(d, &nq, qs.data());
    for (uint32_t q = 0; q < nq; ++q) {
      if (!(qs[q].queueFlags & VK_QUEUE_GRAPHICS_BIT)) continue;
      if (surface) {
        VkBool32 present = VK_FALSE;
        vkGetPhysicalDeviceSurfaceSupportKHR(d, q, surface, &present);
        if (!present) continue;
      }
      VkPhysicalDeviceProperties p;
      vkGetPhysicalDeviceProperties(d, &p);
      if (rank(p.deviceType) < best_rank) {
        best_rank = rank(p.deviceType);
        physical = d;
        queue_family = q;
        timestamps = qs[q].timestampValidBits > 0;
      }
      break;
    }
  }
  if (!physical) throw RuntimeError("no Vulkan device with a graphics queue that can present to the window");
  vkGetPhysicalDeviceProperties(physical, &properties);
  vkGetPhysicalDeviceMemoryProperties(physical, &memory);
  VkPhysicalDeviceFeatures supported{};
  vkGetPhysicalDeviceFeatures(physical, &supported);
  VkPhysicalDeviceFeatures enabled{};
  enabled.largePoints = supported.largePoints;
  // Blending the colour attachment but not the integer id attachment needs it.
  enabled.independentBlend = supported.independentBlend;
  independent_blend = supported.independentBlend;
  max_point_size = supported.largePoints ? properties.limits.pointSizeRange[1] : 1.0f;
  // 64-bit buffer atomics (core in Vulkan 1.2) for the compute rasteriser.
  VkPhysicalDeviceShaderAtomicInt64Features atomics{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_INT64_FEATURES};
  if (properties.apiVersion >= VK_API_VERSION_1_2) {
    VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    f2.pNext = &atomics;
    vkGetPhysicalDeviceFeatures2(physical, &f2);
  }
  int64_atomics = supported.shaderInt64 && atomics.shaderBufferInt64Atomics;
  enabled.shaderInt64 = int64_atomics;
  atomics.shaderSharedInt64Atomics = VK_FALSE;
  atomics.shaderBufferInt64Atomics = int64_atomics;
  timestamps = timestamps && properties.limits.timestampComputeAndGraphics;

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = queue_family;
  qi.queueCount = 1;
  qi.pQueuePriorities = &priority;
  std::vector<const char*> exts;
  if (swapchain) exts.push_back(VK_KHR_SWAPCHAIN_EXTENSION_NAME);
  VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  di.queueCreateInfoCount = 1;
  di.pQueueCreateInfos = &qi;
  di.enabledExtensionCount = static_cast<uint32_t>(exts.size());
  di.ppEnabledExtensionNames = exts.data();
  di.pEnabledFeatures = &enabled;
  if (int64_atomics) di.pNext = &atomics;
  PRISM_VK(vkCreateDevice(physical, &di, nullptr, &device));
  vkGetDeviceQueue(device, queue_family, 0, &queue);
  VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = queue_family;
  PRISM_VK(vkCreateCommandPool(device, &pi, nullptr, &pool));
}

Context::~Context() {
  if (device) {
    vkDeviceWaitIdle(device);
    vkDestroyCommandPool(device, pool, nullptr);
    vkDestroyDevice(device, nullptr);
  }
  if (messenger_) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance, messenger_, nullptr);
  }
  if (instance) vkDestroyInstance(instance, nullptr);
}

uint32_t Context::memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                              VkMemoryPropertyFlags preferred) const {
  for (int pass = 0; pass < 2; ++pass) {
    const VkMemoryPropertyFlags want = pass == 0 ? (required | preferred) : required;
    for (uint32_t i = 0; i < memory.memoryTypeCount; ++i)
      if ((type_bits & (1u << i)) && (memory.memoryTypes[i].propertyFlags & want) == want) return i;
  }
  throw RuntimeError("no suitable Vulkan memory type");
}

VkCommandBuffer Context::begin_one_shot() {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cmd;
  PRISM_VK(vkAllocateCommandBuffers(device, &ai, &cmd));
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  PRISM_VK(vkBeginCommandBuffer(cmd, &bi));
  return cmd;
}

void Context::end_one_shot(VkCommandBuffer cmd) {
  PRISM_VK(vkEndCommandBuffer(cmd));
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  PRISM_VK(vkQueueSubmit(queue, 1, &si, VK_NULL_HANDLE));
  PRISM_VK(vkQueueWaitIdle(queue));
  vkFreeCommandBuffers(device, pool, 1, &cmd);
}

Buffer::Buffer(Context& ctx, VkDeviceSize bytes, VkBufferUsageFlags usage, bool host_visible)
    : size(bytes), ctx_(ctx) {
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = std::max<VkDeviceSize>(bytes, 16);
  bi.usage = usage;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  PRISM_VK(vkCreateBuffer(ctx.device, &bi, nullptr, &handle));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(ctx.device, handle, &req);
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  // Host-visible buffers prefer device-local memory too (resizable BAR on a GPU).
  ai.memoryTypeIndex = host_visible
                           ? ctx.memory_type(req.memoryTypeBits,
                                             VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                             VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)
                           : ctx.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  const VkResult r = vkAllocateMemory(ctx.device, &ai, nullptr, &memory);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(ctx.device, handle, nullptr);
    throw RuntimeError(cat("cannot allocate a ", bytes, "-byte Vulkan buffer: ", vk_result_name(r)));
  }
  PRISM_VK(vkBindBufferMemory(ctx.device, handle, memory, 0));
  if (host_visible) PRISM_VK(vkMapMemory(ctx.device, memory, 0, VK_WHOLE_SIZE, 0, &mapped));
}

Buffer::~Buffer() {
  if (mapped) vkUnmapMemory(ctx_.device, memory);
  vkDestroyBuffer(ctx_.device, handle, nullptr);
  vkFreeMemory(ctx_.device, memory, nullptr);
}

ImageResource::ImageResource(Context& ctx, uint32_t width, uint32_t height, VkFormat fmt,
                             VkImageUsageFlags usage, VkImageAspectFlags aspect)
    : format(fmt), ctx_(ctx) {
  VkImageCreateInfo ii{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
  ii.imageType = VK_IMAGE_TYPE_2D;
  ii.format = fmt;
  ii.extent = {width, height, 1};
  ii.mipLevels = 1;
  ii.arrayLayers = 1;
  ii.samples = VK_SAMPLE_COUNT_1_BIT;
  ii.tiling = VK_IMAGE_TILING_OPTIMAL;
  ii.usage = usage;
  ii.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  PRISM_VK(vkCreateImage(ctx.device, &ii, nullptr, &image));
  VkMemoryRequirements req;
  vkGetImageMemoryRequirements(ctx.device, image, &req);
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = ctx.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  PRISM_VK(vkAllocateMemory(ctx.device, &ai, nullptr, &memory));
  PRISM_VK(vkBindImageMemory(ctx.device, image, memory, 0));
  VkImageViewCreateInfo vi{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
  vi.image = image;
  vi.viewType = VK_IMAGE_VIEW_TYPE_2D;
  vi.format = fmt;
  vi.subresourceRange = {aspect, 0, 1, 0, 1};
  PRISM_VK(vkCreateImageView(ctx.device, &vi, nullptr, &view));
}

ImageResource::~ImageResource() {
  vkDestroyImageView(ctx_.device, view, nullptr);
  vkDestroyImage(ctx_.device, image, nullptr);
  vkFreeMemory(ctx_.device, memory, nullptr);
}

void PointBuffers::set_order(DrawOrder order, uint64_t seed) {
  mode_ = order;
  seed_ = seed;
  n_ = 0;
  order_.clear();
  position_of_row_.clear();
  ++generation_;
}

// A seeded Fisher-Yates shuffle: draw position -> row, and its inverse.
void PointBuffers::make_order(int64_t n) {
  order_.clear();
  position_of_row_.clear();
  if (mode_ == DrawOrder::rows) return;
  PRISM_EXPECTS(n < int64_t(UINT32_MAX), "too many points to shuffle: ", n);
  order_.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) order_[size_t(i)] = uint32_t(i);
  Rng rng(seed_, 0x5eed0);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order_[size_t(i)], order_[rng.below(uint32_t(i + 1))]);
  position_of_row_.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) position_of_row_[order_[size_t(i)]] = uint32_t(i);
}

void PointBuffers::reserve(int64_t n) {
  if (n <= capacity_ && pos_) return;
  // Grow geometrically so a slowly growing point set re-allocates rarely.
  const int64_t cap = std::max<int64_t>({n, capacity_ + capacity_ / 2, 1024});
  constexpr VkBufferUsageFlags usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  auto pos = std::make_unique<Buffer>(ctx_, checked_mul(cap, 12), usage, true);
  auto color = std::make_unique<Buffer>(ctx_, checked_mul(cap, 4), usage, true);
  // Whole 32-bit words: the compute shaders read the states as uint[].
  auto state = std::make_unique<Buffer>(ctx_, (cap + 3) / 4 * 4, usage, true);
  auto size = std::make_unique<Buffer>(ctx_, (cap + 3) / 4 * 4, usage, true);
  auto slot = std::make_unique<Buffer>(ctx_, checked_mul(cap, 4), usage, true);
  if (pos_) {  // keep what is there (colours and states survive a growth)
    std::memcpy(pos->mapped, pos_->mapped, size_t(n_) * 12);
    std::memcpy(color->mapped, color_->mapped, size_t(n_) * 4);
    std::memcpy(state->mapped, state_->mapped, size_t(n_));
    std::memcpy(size->mapped, size_->mapped, size_t(n_));
    std::memcpy(slot->mapped, slot_->mapped, size_t(n_) * 4);
  }
  pos_ = std::move(pos);
  color_ = std::move(color);
  state_ = std::move(state);
  size_ = std::move(size);
  slot_ = std::move(slot);
  capacity_ = cap;
}

void PointBuffers::set_positions(ConstView y) {
  PRISM_EXPECTS(y.cols == 2 || y.cols == 3, "positions must have 2 or 3 columns, got ", y.cols);
  const int64_t old_n = n_;
  reserve(y.rows);
  const int64_t n = y.rows;
  if (n != old_n) make_order(n);
  float* dst = static_cast<float*>(pos_->mapped);
  const bool three = y.cols == 3;
  const uint32_t* order = order_.empty() ? nullptr : order_.data();
#pragma omp parallel for schedule(static) if (n > 100000)
  for (int64_t i = 0; i < n; ++i) {
    const float* r = y.row(order ? int64_t(order[i]) : i);
    dst[i * 3 + 0] = r[0];
    dst[i * 3 + 1] = r[1];
    dst[i * 3 + 2] = three ? r[2] : 0.0f;
  }
  n_ = n;
  if (n != old_n) {
    const uint32_t c = Rgba8{31, 119, 180, 255}.packed();
    const auto count = static_cast<size_t>(std::max<int64_t>(n, 0));
    std::fill_n(static_cast<uint32_t*>(color_->mapped), count, c);
    std::fill_n(static_cast<uint8_t*>(state_->mapped), count, uint8_t(0));
    std::fill_n(static_cast<uint8_t*>(size_->mapped), count, kUnitSize);
    std::fill_n(static_cast<int32_t*>(slot_->mapped), count, -1);
  }
  ++generation_;
}

template <class T>
void PointBuffers::gather(Buffer& dst, std::span<const T> src, const char* what) {
  PRISM_EXPECTS(int64_t(src.size()) == n_, "got ", src.size(), " ", what, " for ", n_, " points");
  ++generation_;
  if (!n_) return;
  T* out = static_cast<T*>(dst.mapped);
  if (order_.empty()) {
    std::memcpy(out, src.data(), src.size_bytes());
    return;
  }
  const int64_t n = n_;
  const uint32_t* order = order_.data();
#pragma omp parallel for schedule(static) if (n > 200000)
  for (int64_t i = 0; i < n; ++i) out[i] = src[order[i]];
}

void PointBuffers::set_colors(std::span<const uint32_t> packed) { gather(*color_, packed, "colours"); }
void PointBuffers::set_states(std::span<const uint8_t> states) { gather(*state_, states, "states"); }
void PointBuffers::set_sizes(std::span<const uint8_t> sizes) { gather(*size_, sizes, "sizes"); }

void PointBuffers::set_slots(std::span<const int64_t> rows, std::span<const int32_t> slots) {
  PRISM_EXPECTS(rows.size() == slots.size(), "got ", rows.size(), " rows and ", slots.size(), " slots");
  if (rows.empty()) return;
  auto* out = static_cast<int32_t*>(slot_->mapped);
  for (size_t i = 0; i < rows.size(); ++i) {
    PRISM_EXPECTS(rows[i] >= 0 && rows[i] < n_, "row ", rows[i], " is out of range for ", n_, " points");
    out[position_of_row_.empty() ? rows[i] : int64_t(position_of_row_[size_t(rows[i])])] = slots[i];
  }
  ++generation_;
}

void PointBuffers::clear_slots() {
  if (n_) std::fill_n(static_cast<int32_t*>(slot_->mapped), n_, -1);
  ++generation_;
}

void PointBuffers::bind(VkCommandBuffer cmd) const {
  VkBuffer bufs[5] = {pos_->handle, color_->handle, state_->handle, size_->handle, slot_->handle};
  VkDeviceSize offsets[5] = {0, 0, 0, 0, 0};
  vkCmdBindVertexBuffers(cmd, 0, 5, bufs, offsets);
}

namespace {
VkRenderPass points_pass(VkDevice device, VkFormat color_format, VkImageLayout color_final, bool load) {
  VkAttachmentDescription att[3]{};
  att[0].format = color_format;
  att[0].samples = VK_SAMPLE_COUNT_1_BIT;
  att[0].loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
  att[0].storeOp = VK_ATTACHMENT_STORE_OP_STORE;
  att[0].stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
  att[0].stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
  att[0].initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  att[0].finalLayout = color_final;
  att[1] = att[0];
  att[1].format = kIdFormat;
  att[1].finalLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
  att[2] = att[0];
  if (load) {
    for (int i = 0; i < 2; ++i) {
      att[i].loadOp = VK_ATTACHMENT_LOAD_OP_LOAD;
      att[i].initialLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL;
    }
  }
  att[2].format = kDepthFormat;
  att[2].storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
  att[2].finalLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL;
  VkAttachmentReference colors[2] = {{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL},
                                     {1, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL}};
  VkAttachmentReference depth{2, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL};
  VkSubpassDescription sub{};
  sub.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
  sub.colorAttachmentCount = 2;
  sub.pColorAttachments = colors;
  sub.pDepthStencilAttachment = &depth;
  // The previous frame may still write depth/colour or copy the id image out
  // (one shared id and depth image in the windowed mode): order against it.
  VkSubpassDependency deps[2]{};
  deps[0].srcSubpass = VK_SUBPASS_EXTERNAL;
  deps[0].dstSubpass = 0;
  deps[0].srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT | VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT |
                         VK_PIPELINE_STAGE_TRANSFER_BIT;
  deps[0].dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT | VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT |
                         VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT;
  deps[0].srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT;
  deps[0].dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_COLOR_ATTACHMENT_READ_BIT |
                          VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT | VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_READ_BIT;
  // Copies (readback, screenshots) and a following UI pass see the results.
  deps[1].srcSubpass = 0;
  deps[1].dstSubpass = VK_SUBPASS_EXTERNAL;
  deps[1].srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  deps[1].dstStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  deps[1].srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
  deps[1].dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_COLOR_ATTACHMENT_READ_BIT |
                          VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
  VkRenderPassCreateInfo ci{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO};
  ci.attachmentCount = 3;
  ci.pAttachments = att;
  ci.subpassCount = 1;
  ci.pSubpasses = &sub;
  ci.dependencyCount = 2;
  ci.pDependencies = deps;
  VkRenderPass pass;
  PRISM_VK(vkCreateRenderPass(device, &ci, nullptr, &pass));
  return pass;
}
}  // namespace

VkRenderPass make_points_render_pass(VkDevice device, VkFormat color_format, VkImageLayout color_final) {
  return points_pass(device, color_format, color_final, false);
}
VkRenderPass make_points_overlay_pass(VkDevice device, VkFormat color_format, VkImageLayout color_final) {
  return points_pass(device, color_format, color_final, true);
}

std::vector<VkClearValue> points_clear_values(const PointStyle& style) {
  std::vector<VkClearValue> v(3);
  v[0].color = {{style.background.r / 255.0f, style.background.g / 255.0f, style.background.b / 255.0f,
                 style.background.a / 255.0f}};
  v[1].color.uint32[0] = 0;
  v[1].color.uint32[1] = v[1].color.uint32[2] = v[1].color.uint32[3] = 0;
  v[2].depthStencil = {1.0f, 0};
  return v;
}

namespace {
VkShaderModule make_module(VkDevice device, const uint32_t* code, size_t bytes) {
  VkShaderModuleCreateInfo ci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  ci.codeSize = bytes;
  ci.pCode = code;
  VkShaderModule m;
  PRISM_VK(vkCreateShaderModule(device, &ci, nullptr, &m));
  return m;
}
}  // namespace

PointPipeline::PointPipeline(Context& ctx, VkRenderPass pass) : ctx_(ctx) {
  // Set 0, binding 0: the thumbnail atlas (a 2D array image).
  VkDescriptorSetLayoutBinding binding{0, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1, VK_SHADER_STAGE_FRAGMENT_BIT,
                                       nullptr};
  VkDescriptorSetLayoutCreateInfo sli{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  sli.bindingCount = 1;
  sli.pBindings = &binding;
  PRISM_VK(vkCreateDescriptorSetLayout(ctx.device, &sli, nullptr, &set_layout_));
  VkDescriptorPoolSize pool_size{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1};
  VkDescriptorPoolCreateInfo dpi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dpi.maxSets = 1;
  dpi.poolSizeCount = 1;
  dpi.pPoolSizes = &pool_size;
  PRISM_VK(vkCreateDescriptorPool(ctx.device, &dpi, nullptr, &pool_));
  VkDescriptorSetAllocateInfo dai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  dai.descriptorPool = pool_;
  dai.descriptorSetCount = 1;
  dai.pSetLayouts = &set_layout_;
  PRISM_VK(vkAllocateDescriptorSets(ctx.device, &dai, &set_));

  VkPushConstantRange range{VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(PushConstants)};
  VkPipelineLayoutCreateInfo li{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  li.setLayoutCount = 1;
  li.pSetLayouts = &set_layout_;
  li.pushConstantRangeCount = 1;
  li.pPushConstantRanges = &range;
  PRISM_VK(vkCreatePipelineLayout(ctx.device, &li, nullptr, &layout_));

  VkShaderModule vs = make_module(ctx.device, kPointsVert, sizeof(kPointsVert));
  VkShaderModule fs = make_module(ctx.device, kPointsFrag, sizeof(kPointsFrag));
  VkPipelineShaderStageCreateInfo stages[2]{};
  stages[0] = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0, VK_SHADER_STAGE_VERTEX_BIT, vs, "main"};
  stages[1] = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0, VK_SHADER_STAGE_FRAGMENT_BIT, fs, "main"};

  VkVertexInputBindingDescription bindings[5] = {{0, 12, VK_VERTEX_INPUT_RATE_VERTEX},
                                                 {1, 4, VK_VERTEX_INPUT_RATE_VERTEX},
                                                 {2, 1, VK_VERTEX_INPUT_RATE_VERTEX},
                                                 {3, 1, VK_VERTEX_INPUT_RATE_VERTEX},
                                                 {4, 4, VK_VERTEX_INPUT_RATE_VERTEX}};
  VkVertexInputAttributeDescription attrs[5] = {{0, 0, VK_FORMAT_R32G32B32_SFLOAT, 0},
                                                {1, 1, VK_FORMAT_R8G8B8A8_UNORM, 0},
                                                {2, 2, VK_FORMAT_R8_UINT, 0},
                                                {3, 3, VK_FORMAT_R8_UINT, 0},
                                                {4, 4, VK_FORMAT_R32_SINT, 0}};
  VkPipelineVertexInputStateCreateInfo vi{VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
  vi.vertexBindingDescriptionCount = 5;
  vi.pVertexBindingDescriptions = bindings;
  vi.vertexAttributeDescriptionCount = 5;
  vi.pVertexAttributeDescriptions = attrs;
  VkPipelineInputAssemblyStateCreateInfo ia{VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO};
  ia.topology = VK_PRIMITIVE_TOPOLOGY_POINT_LIST;
  VkPipelineViewportStateCreateInfo vp{VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO};
  vp.viewportCount = 1;
  vp.scissorCount = 1;
  VkPipelineRasterizationStateCreateInfo rs{VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO};
  rs.polygonMode = VK_POLYGON_MODE_FILL;
  rs.cullMode = VK_CULL_MODE_NONE;
  rs.lineWidth = 1.0f;
  VkPipelineMultisampleStateCreateInfo ms{VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO};
  ms.rasterizationSamples = VK_SAMPLE_COUNT_1_BIT;
  VkPipelineDepthStencilStateCreateInfo ds{VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO};
  ds.depthTestEnable = VK_TRUE;
  ds.depthWriteEnable = VK_TRUE;
  // LESS_OR_EQUAL: in 2D every point has the same depth and the later one wins.
  ds.depthCompareOp = VK_COMPARE_OP_LESS_OR_EQUAL;
  VkPipelineColorBlendAttachmentState blend[2]{};
  // Without independentBlend every attachment must blend alike, and integer
  // formats cannot blend: then alpha is ignored (opaque points).
  blend[0].blendEnable = ctx.independent_blend ? VK_TRUE : VK_FALSE;
  blend[0].srcColorBlendFactor = VK_BLEND_FACTOR_SRC_ALPHA;
  blend[0].dstColorBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA;
  blend[0].colorBlendOp = VK_BLEND_OP_ADD;
  blend[0].srcAlphaBlendFactor = VK_BLEND_FACTOR_ONE;
  blend[0].dstAlphaBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA;
  blend[0].alphaBlendOp = VK_BLEND_OP_ADD;
  blend[0].colorWriteMask = 0xF;
  blend[1].blendEnable = VK_FALSE;  // integer attachment: never blended
  blend[1].colorWriteMask = 0xF;
  VkPipelineColorBlendStateCreateInfo cb{VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO};
  cb.attachmentCount = 2;
  cb.pAttachments = blend;
  VkDynamicState dyn[2] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
  VkPipelineDynamicStateCreateInfo dy{VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO};
  dy.dynamicStateCount = 2;
  dy.pDynamicStates = dyn;

  VkGraphicsPipelineCreateInfo pi{VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO};
  pi.stageCount = 2;
  pi.pStages = stages;
  pi.pVertexInputState = &vi;
  pi.pInputAssemblyState = &ia;
  pi.pViewportState = &vp;
  pi.pRasterizationState = &rs;
  pi.pMultisampleState = &ms;
  pi.pDepthStencilState = &ds;
  pi.pColorBlendState = &cb;
  pi.pDynamicState = &dy;
  pi.layout = layout_;
  pi.renderPass = pass;
  pi.subpass = 0;
  const VkResult r = vkCreateGraphicsPipelines(ctx.device, VK_NULL_HANDLE, 1, &pi, nullptr, &pipeline_);
  vkDestroyShaderModule(ctx.device, vs, nullptr);
  vkDestroyShaderModule(ctx.device, fs, nullptr);
  PRISM_VK(r);
}

PointPipeline::~PointPipeline() {
  vkDestroyPipeline(ctx_.device, pipeline_, nullptr);
  vkDestroyPipelineLayout(ctx_.device, layout_, nullptr);
  vkDestroyDescriptorPool(ctx_.device, pool_, nullptr);
  vkDestroyDescriptorSetLayout(ctx_.device, set_layout_, nullptr);
}

void PointPipeline::bind_atlas(VkImageView view, VkSampler sampler, const AtlasGeometry& geometry) {
  VkDescriptorImageInfo info{sampler, view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
  VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
  w.dstSet = set_;
  w.dstBinding = 0;
  w.descriptorCount = 1;
  w.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
  w.pImageInfo = &info;
  vkUpdateDescriptorSets(ctx_.device, 1, &w, 0, nullptr);
  atlas_ = geometry;
  has_atlas_ = true;
}

void PointPipeline::draw(VkCommandBuffer cmd, const PointBuffers& points, const Camera& camera,
                         const PointStyle& style, VkExtent2D extent) const {
  if (points.size() == 0) return;
  setup(cmd, points, camera, style, extent);
  vkCmdDraw(cmd, checked_cast<uint32_t>(drawn_points(points.size(), style)), 1, 0, 0);
}

void PointPipeline::draw_indexed(VkCommandBuffer cmd, const PointBuffers& points, const Camera& camera,
                                 const PointStyle& style, VkExtent2D extent, VkBuffer indices, uint32_t count) const {
  if (points.size() == 0 || count == 0) return;
  setup(cmd, points, camera, style, extent);
  vkCmdBindIndexBuffer(cmd, indices, 0, VK_INDEX_TYPE_UINT32);
  vkCmdDrawIndexed(cmd, count, 1, 0, 0, 0);
}

void PointPipeline::setup(VkCommandBuffer cmd, const PointBuffers& points, const Camera& camera,
                          const PointStyle& style, VkExtent2D extent) const {
  VkViewport viewport{0.0f, 0.0f, float(extent.width), float(extent.height), 0.0f, 1.0f};
  VkRect2D scissor{{0, 0}, extent};
  vkCmdSetViewport(cmd, 0, 1, &viewport);
  vkCmdSetScissor(cmd, 0, 1, &scissor);
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline_);
  PushConstants pc{};
  pc.mvp = camera.view_proj();
  pc.background = glm::vec4(style.background.r, style.background.g, style.background.b, style.background.a) / 255.0f;
  pc.point_size = style.point_size;
  pc.alpha = std::clamp(style.alpha, 0.0f, 1.0f);
  pc.flags = style.isolate ? 1u : 0u;
  pc.max_size = ctx_.max_point_size;
  if (style.image_size > 0 && has_atlas_) {
    pc.flags |= 2u;
    pc.image_scale = thumbnail_scale(camera, style, extent);
    pc.image_min_px = style.image_min_px;
  }
  pc.tiles_x = atlas_.tiles_x;
  pc.tiles_per_layer = atlas_.tiles_per_layer;
  pc.tile_px = atlas_.tile_px;
  pc.fit = atlas_.fit;
  PRISM_CHECK(has_atlas_, "the point pipeline has no atlas bound");
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, layout_, 0, 1, &set_, 0, nullptr);
  vkCmdPushConstants(cmd, layout_, VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(pc), &pc);
  points.bind(cmd);
}

void image_barrier(VkCommandBuffer cmd, VkImage image, VkImageLayout from, VkImageLayout to,
                   VkAccessFlags src_access, VkAccessFlags dst_access, VkPipelineStageFlags src_stage,
                   VkPipelineStageFlags dst_stage, VkImageAspectFlags aspect) {
  VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
  b.srcAccessMask = src_access;
  b.dstAccessMask = dst_access;
  b.oldLayout = from;
  b.newLayout = to;
  b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = image;
  b.subresourceRange = {aspect, 0, 1, 0, 1};
  vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 0, nullptr, 0, nullptr, 1, &b);
}

}  // namespace prism::render::detail
