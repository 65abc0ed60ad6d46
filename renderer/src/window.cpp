// The windowed mode: GLFW + swapchain + the shared point pipeline + ImGui.
// Two frames in flight, each with its own command buffer, fence, semaphore
// and readback buffers; swapchain results are handled in one place
// (Impl::swapchain_ok) for both acquire and present.
#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_vulkan.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "prism/render/image.hpp"
#include "prism/render/window.hpp"
#include "vk_common.hpp"
#include "vk_compute.hpp"
#include "occlusion.hpp"
#include "vk_thumbnails.hpp"

namespace prism::render {

using namespace detail;

namespace {
constexpr int kFramesInFlight = 2;
constexpr int kPickRadius = 3;  // pixels around the cursor searched for a point
constexpr int kPickSide = 2 * kPickRadius + 1;

// What the last points image was drawn from: while it is unchanged the
// window shows that image again instead of drawing every point.
struct LayerKey {
  glm::mat4 view_proj{0.0f};
  PointStyle style;
  uint64_t generation = ~uint64_t(0);
  VkExtent2D extent{};
  bool operator==(const LayerKey& o) const {
    const PointStyle &a = style, &b = o.style;
    return view_proj == o.view_proj && generation == o.generation && extent.width == o.extent.width &&
           extent.height == o.extent.height && a.point_size == b.point_size && a.alpha == b.alpha &&
           a.background == b.background && a.isolate == b.isolate && a.max_points == b.max_points &&
           a.image_size == b.image_size && a.image_min_px == b.image_min_px;
  }
};

void check_imgui_vk(VkResult r) {
  if (r != VK_SUCCESS && r != VK_SUBOPTIMAL_KHR)
    throw RuntimeError(cat("ImGui Vulkan backend: ", vk_result_name(r)));
}
}  // namespace

struct Window::Impl {
  struct Frame {
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    VkSemaphore image_available = VK_NULL_HANDLE;
    std::unique_ptr<Buffer> pick;  // kPickSide^2 ids around the pick pixel
    bool pick_pending = false;
    glm::ivec2 pick_origin{0}, pick_size{0}, pick_pixel{0};
    std::unique_ptr<Buffer> marks;  // draw positions of the highlighted points (compute frames' rings)
    std::unique_ptr<Buffer> shot;  // swapchain image copy for a screenshot
    std::string shot_path;
    VkExtent2D shot_extent{};
  };

  GLFWwindow* window = nullptr;
  std::unique_ptr<Context> ctx;
  VkSurfaceKHR surface = VK_NULL_HANDLE;
  VkSurfaceFormatKHR surface_format{};
  VkPresentModeKHR present_mode = VK_PRESENT_MODE_FIFO_KHR;
  VkRenderPass points_pass = VK_NULL_HANDLE, ui_pass = VK_NULL_HANDLE;
  // Full frames without thumbnails (the camera rests): the compute rasteriser
  // into layer_img and id_img, then the highlighted points as sprites on top.
  bool compute_rest = true;
  VkRenderPass overlay_pass = VK_NULL_HANDLE;
  std::unique_ptr<ComputeRaster> compute;
  Rasterizer last_rasterizer = Rasterizer::sprites;
  // A resting frame is drawn in chunks of rest_chunk points, one per window
  // frame, so input goes on between them: compute_key is the frame being
  // drawn, compute_done how many of its points are in the frame buffer.
  int64_t rest_chunk = 0;
  LayerKey compute_key;
  int64_t compute_done = 0;
  bool last_complete = true;  // the points image on screen is not a part-drawn chunk
  std::vector<uint32_t> mark_positions;
  std::unique_ptr<PointPipeline> pipeline;
  std::unique_ptr<SpriteCuller> culler;  // thumbnails hidden behind nearer ones are not drawn
  std::unique_ptr<PointBuffers> points;
  std::unique_ptr<ThumbnailAtlas> atlas;
  std::shared_ptr<const ThumbnailSource> thumbnail_source;
  int64_t thumbnail_capacity = 0;
  VkDescriptorPool imgui_pool = VK_NULL_HANDLE;

  // Swapchain and what depends on its size.
  VkSwapchainKHR swapchain = VK_NULL_HANDLE;
  VkExtent2D extent{};
  uint32_t min_images = 2;
  bool can_copy_swapchain = false;
  // Layered mode (the swapchain takes copies): points are drawn into
  // layer_img, which is copied into each frame's swapchain image, and drawn
  // again only when what they look like changed (LayerKey). Direct mode
  // draws them into the swapchain image every frame.
  bool layered = false;
  std::unique_ptr<ImageResource> layer_img;
  VkFramebuffer layer_fb = VK_NULL_HANDLE;
  LayerKey layer_key;
  bool layer_drawn = false;  // the last frame drew the points (not the cached image)
  // set_scripted_mouse: what ImGui sees instead of the real pointer.
  bool scripted_mouse = false, scripted_down = false, scripted_shift = false;
  glm::vec2 scripted_pos{0.0f};
  std::vector<VkImage> images;
  std::vector<VkImageView> views;
  std::vector<VkFramebuffer> points_fb, ui_fb;
  std::vector<VkSemaphore> render_finished;  // per swapchain image
  std::unique_ptr<ImageResource> id_img, depth_img;
  bool needs_recreate = false;

  std::array<Frame, kFramesInFlight> frames;
  int current = 0;
  glm::ivec2 pick_pixel{-1, -1};
  int64_t picked = -1;
  std::string pending_shot;
  int shots_in_flight = 0;
  bool imgui_ready = false;

  explicit Impl(const WindowOptions& o) {
    if (!glfwInit())
      throw RuntimeError("cannot open a window: no display (set DISPLAY, or run under xvfb-run -a)");
    glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
    window = glfwCreateWindow(o.width, o.height, o.title.c_str(), nullptr, nullptr);
    if (!window) {
      glfwTerminate();
      throw RuntimeError("glfwCreateWindow failed");
    }
    if (!glfwVulkanSupported()) throw RuntimeError("GLFW finds no Vulkan loader");
    uint32_t n = 0;
    const char** ext = glfwGetRequiredInstanceExtensions(&n);
    ctx = std::make_unique<Context>(std::vector<const char*>(ext, ext + n));
    PRISM_VK(glfwCreateWindowSurface(ctx->instance, window, nullptr, &surface));
    ctx->create_device(surface, true);
    choose_surface_format(o.vsync);

    VkSurfaceCapabilitiesKHR caps;
    PRISM_VK(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(ctx->physical, surface, &caps));
    layered = caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    points_pass = make_points_render_pass(ctx->device, surface_format.format,
                                          layered ? VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL
                                                  : VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL);
    ui_pass = make_ui_pass();
    compute_rest = o.compute_rest && layered && ctx->int64_atomics;
    rest_chunk = o.rest_chunk;
    if (compute_rest)
      overlay_pass = make_points_overlay_pass(ctx->device, surface_format.format, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    pipeline = std::make_unique<PointPipeline>(*ctx, points_pass);
    culler = std::make_unique<SpriteCuller>(*ctx, kFramesInFlight);
    points = std::make_unique<PointBuffers>(*ctx);
    set_thumbnails(nullptr, 0);
    for (Frame& f : frames) {
      VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
      ai.commandPool = ctx->pool;
      ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
      ai.commandBufferCount = 1;
      PRISM_VK(vkAllocateCommandBuffers(ctx->device, &ai, &f.cmd));
      VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
      fi.flags = VK_FENCE_CREATE_SIGNALED_BIT;
      PRISM_VK(vkCreateFence(ctx->device, &fi, nullptr, &f.fence));
      VkSemaphoreCreateInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
      PRISM_VK(vkCreateSemaphore(ctx->device, &si, nullptr, &f.image_available));
      f.pick = std::make_unique<Buffer>(*ctx, kPickSide * kPickSide * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, true);
    }
    create_swapchain();
    init_imgui();
  }

  ~Impl() {
    if (ctx && ctx->device) vkDeviceWaitIdle(ctx->device);
    if (imgui_ready) {
      ImGui_ImplVulkan_Shutdown();
      ImGui_ImplGlfw_Shutdown();
      ImGui::DestroyContext();
    }
    if (ctx && ctx->device) {
      destroy_swapchain();
      vkDestroySwapchainKHR(ctx->device, swapchain, nullptr);
      for (Frame& f : frames) {
        vkDestroyFence(ctx->device, f.fence, nullptr);
        vkDestroySemaphore(ctx->device, f.image_available, nullptr);
        f.pick.reset();
        f.marks.reset();
        f.shot.reset();
      }
      vkDestroyDescriptorPool(ctx->device, imgui_pool, nullptr);
      atlas.reset();
      points.reset();
      pipeline.reset();
      culler.reset();
      vkDestroyRenderPass(ctx->device, points_pass, nullptr);
      vkDestroyRenderPass(ctx->device, ui_pass, nullptr);
      compute.reset();
      if (overlay_pass) vkDestroyRenderPass(ctx->device, overlay_pass, nullptr);
    }
    if (ctx && surface) vkDestroySurfaceKHR(ctx->instance, surface, nullptr);
    ctx.reset();
    if (window) glfwDestroyWindow(window);
    glfwTerminate();
  }

  void choose_surface_format(bool vsync) {
    uint32_t n = 0;
    vkGetPhysicalDeviceSurfaceFormatsKHR(ctx->physical, surface, &n, nullptr);
    std::vector<VkSurfaceFormatKHR> formats(n);
    vkGetPhysicalDeviceSurfaceFormatsKHR(ctx->physical, surface, &n, formats.data());
    PRISM_CHECK(n > 0, "the window surface offers no formats");
    // UNORM, not SRGB: the window shows the same bytes a figure would write.
    surface_format = formats[0];
    for (const auto& f : formats)
      if ((f.format == VK_FORMAT_B8G8R8A8_UNORM || f.format == VK_FORMAT_R8G8B8A8_UNORM) &&
          f.colorSpace == VK_COLOR_SPACE_SRGB_NONLINEAR_KHR) {
        surface_format = f;
        break;
      }
    present_mode = VK_PRESENT_MODE_FIFO_KHR;  // always available
    if (!vsync) {
      vkGetPhysicalDeviceSurfacePresentModesKHR(ctx->physical, surface, &n, nullptr);
      std::vector<VkPresentModeKHR> modes(n);
      vkGetPhysicalDeviceSurfacePresentModesKHR(ctx->physical, surface, &n, modes.data());
      for (VkPresentModeKHR want : {VK_PRESENT_MODE_MAILBOX_KHR, VK_PRESENT_MODE_IMMEDIATE_KHR})
        if (std::find(modes.begin(), modes.end(), want) != modes.end()) {
          present_mode = want;
          break;
        }
    }
  }

  VkRenderPass make_ui_pass() {
    VkAttachmentDescription att{};
    att.format = surface_format.format;
    att.samples = VK_SAMPLE_COUNT_1_BIT;
    att.loadOp = VK_ATTACHMENT_LOAD_OP_LOAD;  // on top of the points
    att.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
    att.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
    att.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
    att.initialLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL;
    att.finalLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
    VkAttachmentReference ref{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
    VkSubpassDescription sub{};
    sub.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
    sub.colorAttachmentCount = 1;
    sub.pColorAttachments = &ref;
    VkSubpassDependency dep{};
    dep.srcSubpass = VK_SUBPASS_EXTERNAL;
    dep.dstSubpass = 0;
    dep.srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    dep.dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    dep.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    dep.dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_READ_BIT | VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    VkRenderPassCreateInfo ci{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO};
    ci.attachmentCount = 1;
    ci.pAttachments = &att;
    ci.subpassCount = 1;
    ci.pSubpasses = &sub;
    ci.dependencyCount = 1;
    ci.pDependencies = &dep;
    VkRenderPass pass;
    PRISM_VK(vkCreateRenderPass(ctx->device, &ci, nullptr, &pass));
    return pass;
  }

  void create_swapchain() {
    VkSurfaceCapabilitiesKHR caps;
    PRISM_VK(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(ctx->physical, surface, &caps));
    if (caps.currentExtent.width != UINT32_MAX) {
      extent = caps.currentExtent;
    } else {
      int w, h;
      glfwGetFramebufferSize(window, &w, &h);
      extent = {std::clamp(uint32_t(w), caps.minImageExtent.width, caps.maxImageExtent.width),
                std::clamp(uint32_t(h), caps.minImageExtent.height, caps.maxImageExtent.height)};
    }
    if (extent.width == 0 || extent.height == 0) return;  // minimised: try again later
    min_images = std::max(caps.minImageCount + 1, 2u);
    if (caps.maxImageCount) min_images = std::min(min_images, caps.maxImageCount);
    can_copy_swapchain = caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
    VkSwapchainCreateInfoKHR ci{VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR};
    ci.surface = surface;
    ci.minImageCount = min_images;
    ci.imageFormat = surface_format.format;
    ci.imageColorSpace = surface_format.colorSpace;
    ci.imageExtent = extent;
    ci.imageArrayLayers = 1;
    ci.imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | (can_copy_swapchain ? VK_IMAGE_USAGE_TRANSFER_SRC_BIT : 0) |
                    (layered ? VK_IMAGE_USAGE_TRANSFER_DST_BIT : 0);
    ci.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
    ci.preTransform = caps.currentTransform;
    ci.compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
    ci.presentMode = present_mode;
    ci.clipped = VK_TRUE;
    ci.oldSwapchain = swapchain;
    VkSwapchainKHR fresh;
    PRISM_VK(vkCreateSwapchainKHR(ctx->device, &ci, nullptr, &fresh));
    if (swapchain) vkDestroySwapchainKHR(ctx->device, swapchain, nullptr);
    swapchain = fresh;
    uint32_t n = 0;
    vkGetSwapchainImagesKHR(ctx->device, swapchain, &n, nullptr);
    images.resize(n);
    vkGetSwapchainImagesKHR(ctx->device, swapchain, &n, images.data());
    // One id and one depth image: the render pass's external dependency orders
    // consecutive frames' use of them.
    id_img = std::make_unique<ImageResource>(*ctx, extent.width, extent.height, kIdFormat,
                                             VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                             VK_IMAGE_ASPECT_COLOR_BIT);
    depth_img = std::make_unique<ImageResource>(*ctx, extent.width, extent.height, kDepthFormat,
                                                VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT, VK_IMAGE_ASPECT_DEPTH_BIT);
    if (layered) {
      layer_img = std::make_unique<ImageResource>(*ctx, extent.width, extent.height, surface_format.format,
                                                  VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                                  VK_IMAGE_ASPECT_COLOR_BIT);
      VkImageView att[3] = {layer_img->view, id_img->view, depth_img->view};
      VkFramebufferCreateInfo fi{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
      fi.renderPass = points_pass;
      fi.attachmentCount = 3;
      fi.pAttachments = att;
      fi.width = extent.width;
      fi.height = extent.height;
      fi.layers = 1;
      PRISM_VK(vkCreateFramebuffer(ctx->device, &fi, nullptr, &layer_fb));
      layer_key = LayerKey{};
    }
    for (VkImage img : images) {
      VkImageViewCreateInfo vi{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
      vi.image = img;
      vi.viewType = VK_IMAGE_VIEW_TYPE_2D;
      vi.format = surface_format.format;
      vi.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
      VkImageView view;
      PRISM_VK(vkCreateImageView(ctx->device, &vi, nullptr, &view));
      views.push_back(view);
      VkImageView att[3] = {view, id_img->view, depth_img->view};
      VkFramebufferCreateInfo fi{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
      fi.renderPass = points_pass;
      fi.attachmentCount = 3;
      fi.pAttachments = att;
      fi.width = extent.width;
      fi.height = extent.height;
      fi.layers = 1;
      VkFramebuffer fb;
      if (!layered) {
        PRISM_VK(vkCreateFramebuffer(ctx->device, &fi, nullptr, &fb));
        points_fb.push_back(fb);
      }
      fi.renderPass = ui_pass;
      fi.attachmentCount = 1;
      PRISM_VK(vkCreateFramebuffer(ctx->device, &fi, nullptr, &fb));
      ui_fb.push_back(fb);
      VkSemaphoreCreateInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
      VkSemaphore s;
      PRISM_VK(vkCreateSemaphore(ctx->device, &si, nullptr, &s));
      render_finished.push_back(s);
    }
    if (imgui_ready) ImGui_ImplVulkan_SetMinImageCount(min_images);
  }

  void destroy_swapchain() {
    for (auto fb : points_fb) vkDestroyFramebuffer(ctx->device, fb, nullptr);
    for (auto fb : ui_fb) vkDestroyFramebuffer(ctx->device, fb, nullptr);
    for (auto v : views) vkDestroyImageView(ctx->device, v, nullptr);
    for (auto s : render_finished) vkDestroySemaphore(ctx->device, s, nullptr);
    points_fb.clear();
    ui_fb.clear();
    views.clear();
    render_finished.clear();
    images.clear();
    if (layer_fb) vkDestroyFramebuffer(ctx->device, layer_fb, nullptr);
    layer_fb = VK_NULL_HANDLE;
    layer_img.reset();
    id_img.reset();
    depth_img.reset();
  }

  void recreate_swapchain() {
    vkDeviceWaitIdle(ctx->device);
    destroy_swapchain();
    create_swapchain();
    needs_recreate = false;
  }

  /// The one place acquire and present results are judged: true to go on,
  /// false when the swapchain must be re-created first; throws on errors.
  bool swapchain_ok(VkResult r) {
    switch (r) {
      case VK_SUCCESS: return true;
      case VK_SUBOPTIMAL_KHR: needs_recreate = true; return true;
      case VK_ERROR_OUT_OF_DATE_KHR: needs_recreate = true; return false;
      default: throw RuntimeError(cat("swapchain: ", vk_result_name(r)));
    }
  }

  void init_imgui() {
    VkDescriptorPoolSize sizes[] = {{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 16}};
    VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pi.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
    pi.maxSets = 16;
    pi.poolSizeCount = 1;
    pi.pPoolSizes = sizes;
    PRISM_VK(vkCreateDescriptorPool(ctx->device, &pi, nullptr, &imgui_pool));
    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGui::GetIO().IniFilename = nullptr;  // no imgui.ini left in the working folder
    ImGui::StyleColorsDark();
    ImGui_ImplGlfw_InitForVulkan(window, true);
    ImGui_ImplVulkan_InitInfo info{};
    info.Instance = ctx->instance;
    info.PhysicalDevice = ctx->physical;
    info.Device = ctx->device;
    info.QueueFamily = ctx->queue_family;
    info.Queue = ctx->queue;
    info.DescriptorPool = imgui_pool;
    info.Subpass = 0;
    info.MinImageCount = min_images;
    info.ImageCount = std::max<uint32_t>(uint32_t(images.size()), min_images);
    info.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
    info.CheckVkResultFn = check_imgui_vk;
    ImGui_ImplVulkan_Init(&info, ui_pass);  // 1.86: the render pass is an argument
    ctx->one_shot([](VkCommandBuffer cmd) { ImGui_ImplVulkan_CreateFontsTexture(cmd); });
    ImGui_ImplVulkan_DestroyFontUploadObjects();
    imgui_ready = true;
  }

  // Called once the frame's fence has signalled: its readbacks are complete.
  void finish_frame(Frame& f) {
    if (f.pick_pending) {
      const auto* ids = static_cast<const uint32_t*>(f.pick->mapped);
      const glm::ivec2 rel = f.pick_pixel - f.pick_origin;
      const int64_t at = pick_from_ids(ids, f.pick_size.x, f.pick_size.y, rel.x, rel.y, kPickRadius);
      picked = at >= 0 && at < points->size() ? points->row_at(at) : -1;
      f.pick_pending = false;
    }
    if (!f.shot_path.empty()) {
      Image img(int(f.shot_extent.width), int(f.shot_extent.height));
      std::memcpy(img.pixels.data(), f.shot->mapped, img.pixels.size());
      const bool bgr = surface_format.format == VK_FORMAT_B8G8R8A8_UNORM ||
                       surface_format.format == VK_FORMAT_B8G8R8A8_SRGB;
      for (size_t i = 0; i < img.pixels.size(); i += 4) {
        if (bgr) std::swap(img.pixels[i], img.pixels[i + 2]);
        img.pixels[i + 3] = 255;
      }
      const std::string path = std::move(f.shot_path);
      f.shot_path.clear();
      --shots_in_flight;
      write_png(path, img);
    }
  }

  void render(const Camera& camera, const PointStyle& style) {
    ImGui::Render();
    ImDrawData* draw_data = ImGui::GetDrawData();
    if (needs_recreate) recreate_swapchain();
    if (extent.width == 0 || extent.height == 0) {  // minimised
      recreate_swapchain();
      return;
    }
    Frame& f = frames[current];
    PRISM_VK(vkWaitForFences(ctx->device, 1, &f.fence, VK_TRUE, UINT64_MAX));
    finish_frame(f);
    uint32_t index = 0;
    if (!swapchain_ok(vkAcquireNextImageKHR(ctx->device, swapchain, UINT64_MAX, f.image_available,
                                            VK_NULL_HANDLE, &index)))
      return;  // re-created next frame; the semaphore was not signalled
    PRISM_VK(vkResetFences(ctx->device, 1, &f.fence));
    VkCommandBuffer cmd = f.cmd;
    PRISM_VK(vkResetCommandBuffer(cmd, 0));
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    PRISM_VK(vkBeginCommandBuffer(cmd, &bi));

    // New thumbnails: their slots change the point buffers, which the other
    // frame in flight may still read.
    if (atlas->plan() > 0) {
      wait_other_frames();
      atlas->prepare(cmd, current, *points);
    }
    const LayerKey key{camera.view_proj(), style, points->generation(), extent};
    layer_drawn = !layered || !(key == layer_key);
    const auto clears = points_clear_values(style);
    VkRenderPassBeginInfo rp{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
    rp.renderArea = {{0, 0}, extent};
    const bool use_compute = layer_drawn && compute_rest && style.max_points == 0 && style.image_size <= 0 &&
                             style.point_size <= 16.0f && points->size() > 0;
    if (use_compute) {
      draw_compute(f, cmd, camera, style, key);
      if (last_complete) layer_key = key;  // else the next frame draws the next chunk
    } else if (layer_drawn) {
      last_complete = true;
      rp.renderPass = points_pass;
      rp.framebuffer = layered ? layer_fb : points_fb[index];
      rp.clearValueCount = uint32_t(clears.size());
      rp.pClearValues = clears.data();
      vkCmdBeginRenderPass(cmd, &rp, VK_SUBPASS_CONTENTS_INLINE);
      culler->draw(cmd, current, *pipeline, *points, camera, style, extent);
      vkCmdEndRenderPass(cmd);
      layer_key = key;
    }
    if (layer_drawn) last_rasterizer = use_compute ? Rasterizer::compute : Rasterizer::sprites;
    if (layered) {  // the points image into the swapchain image, under the panels
      image_barrier(cmd, images[index], VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0,
                    VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT);
      VkImageCopy copy{};
      copy.srcSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
      copy.dstSubresource = copy.srcSubresource;
      copy.extent = {extent.width, extent.height, 1};
      vkCmdCopyImage(cmd, layer_img->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, images[index],
                     VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &copy);
      image_barrier(cmd, images[index], VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                    VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, VK_ACCESS_TRANSFER_WRITE_BIT,
                    VK_ACCESS_COLOR_ATTACHMENT_READ_BIT | VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
                    VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT);
    }

    // The ids around the cursor, read back when this frame's fence signals.
    const glm::ivec2 size(int(extent.width), int(extent.height));
    if (pick_pixel.x >= 0 && pick_pixel.y >= 0 && pick_pixel.x < size.x && pick_pixel.y < size.y) {
      const glm::ivec2 lo = glm::max(pick_pixel - kPickRadius, glm::ivec2(0));
      const glm::ivec2 hi = glm::min(pick_pixel + kPickRadius + 1, size);
      VkBufferImageCopy region{};
      region.bufferRowLength = uint32_t(hi.x - lo.x);
      region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
      region.imageOffset = {lo.x, lo.y, 0};
      region.imageExtent = {uint32_t(hi.x - lo.x), uint32_t(hi.y - lo.y), 1};
      vkCmdCopyImageToBuffer(cmd, id_img->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, f.pick->handle, 1, &region);
      f.pick_pending = true;
      f.pick_origin = lo;
      f.pick_size = hi - lo;
      f.pick_pixel = pick_pixel;
    } else {
      picked = -1;
    }

    rp.renderPass = ui_pass;
    rp.framebuffer = ui_fb[index];
    rp.clearValueCount = 0;
    rp.pClearValues = nullptr;
    vkCmdBeginRenderPass(cmd, &rp, VK_SUBPASS_CONTENTS_INLINE);
    if (draw_data) ImGui_ImplVulkan_RenderDrawData(draw_data, cmd);
    vkCmdEndRenderPass(cmd);

    if (!pending_shot.empty() && can_copy_swapchain) {
      const VkDeviceSize bytes = VkDeviceSize(extent.width) * extent.height * 4;
      if (!f.shot || f.shot->size < bytes)
        f.shot = std::make_unique<Buffer>(*ctx, bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT, true);
      image_barrier(cmd, images[index], VK_IMAGE_LAYOUT_PRESENT_SRC_KHR, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                    VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_ACCESS_TRANSFER_READ_BIT,
                    VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT);
      VkBufferImageCopy region{};
      region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
      region.imageExtent = {extent.width, extent.height, 1};
      vkCmdCopyImageToBuffer(cmd, images[index], VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, f.shot->handle, 1, &region);
      image_barrier(cmd, images[index], VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
                    VK_ACCESS_TRANSFER_READ_BIT, 0, VK_PIPELINE_STAGE_TRANSFER_BIT,
                    VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT);
      f.shot_path = std::move(pending_shot);
      pending_shot.clear();
      f.shot_extent = extent;
    } else if (!pending_shot.empty()) {
      pending_shot.clear();
      --shots_in_flight;
      throw RuntimeError("this window system cannot copy the swapchain image: no screenshot");
    }
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0,
                         nullptr);
    PRISM_VK(vkEndCommandBuffer(cmd));

    // The swapchain image is first written by the copy (layered) or the points pass.
    const VkPipelineStageFlags wait_stage =
        layered ? VK_PIPELINE_STAGE_TRANSFER_BIT : VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.waitSemaphoreCount = 1;
    si.pWaitSemaphores = &f.image_available;
    si.pWaitDstStageMask = &wait_stage;
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    si.signalSemaphoreCount = 1;
    si.pSignalSemaphores = &render_finished[index];
    PRISM_VK(vkQueueSubmit(ctx->queue, 1, &si, f.fence));

    VkPresentInfoKHR pi{VK_STRUCTURE_TYPE_PRESENT_INFO_KHR};
    pi.waitSemaphoreCount = 1;
    pi.pWaitSemaphores = &render_finished[index];
    pi.swapchainCount = 1;
    pi.pSwapchains = &swapchain;
    pi.pImageIndices = &index;
    swapchain_ok(vkQueuePresentKHR(ctx->queue, &pi));
    current = (current + 1) % kFramesInFlight;
  }

  // A full frame by the compute rasteriser: its colours into layer_img and its
  // ids (draw positions + 1, as the sprites write them) into id_img, then the
  // highlighted points drawn again as sprites over them for their rings.
  void draw_compute(Frame& f, VkCommandBuffer cmd, const Camera& camera, const PointStyle& style,
                    const LayerKey& key) {
    if (!compute || compute->width != extent.width || compute->height != extent.height) {
      vkDeviceWaitIdle(ctx->device);
      compute.reset();
      compute = std::make_unique<ComputeRaster>(*ctx, int(extent.width), int(extent.height));
    }
    wait_other_frames();  // the descriptor set and the compute buffers are shared
    compute->bind_buffers(*points);
    mark_positions.clear();
    const uint8_t* states = points->state_data();
    for (int64_t i = 0, n = points->size(); i < n; ++i)
      if (states[i] & (kSelected | kHovered | kMatch | kNeighbor)) mark_positions.push_back(uint32_t(i));
    const VkDeviceSize mark_bytes = std::max<VkDeviceSize>(4, mark_positions.size() * 4);
    if (!f.marks || f.marks->size < mark_bytes)
      f.marks = std::make_unique<Buffer>(*ctx, mark_bytes, VK_BUFFER_USAGE_INDEX_BUFFER_BIT, true);
    if (!mark_positions.empty()) std::memcpy(f.marks->mapped, mark_positions.data(), mark_positions.size() * 4);
    const bool bgr = surface_format.format == VK_FORMAT_B8G8R8A8_UNORM || surface_format.format == VK_FORMAT_B8G8R8A8_SRGB;
    const int64_t n = points->size();
    if (!(key == compute_key) || compute_done >= n) {  // a new frame: from the first point
      compute_key = key;
      compute_done = 0;
    }
    const int64_t count = rest_chunk > 0 ? std::min(rest_chunk, n - compute_done) : n - compute_done;
    compute->record(cmd, *points, camera, style, bgr, compute_done, count);
    compute_done += count;
    last_complete = compute_done >= n;
    for (VkImage img : {layer_img->image, id_img->image})
      image_barrier(cmd, img, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0,
                    VK_ACCESS_TRANSFER_WRITE_BIT,
                    VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                    VK_PIPELINE_STAGE_TRANSFER_BIT);
    VkBufferImageCopy region{};
    region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    region.imageExtent = {extent.width, extent.height, 1};
    vkCmdCopyBufferToImage(cmd, compute->out_color->handle, layer_img->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1,
                           &region);
    vkCmdCopyBufferToImage(cmd, compute->out_id->handle, id_img->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1,
                           &region);
    for (VkImage img : {layer_img->image, id_img->image})
      image_barrier(cmd, img, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                    VK_ACCESS_TRANSFER_WRITE_BIT,
                    VK_ACCESS_COLOR_ATTACHMENT_READ_BIT | VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
                    VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT);
    const auto clears = points_clear_values(style);
    VkRenderPassBeginInfo rp{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
    rp.renderArea = {{0, 0}, extent};
    rp.renderPass = overlay_pass;
    rp.framebuffer = layer_fb;
    rp.clearValueCount = uint32_t(clears.size());
    rp.pClearValues = clears.data();
    vkCmdBeginRenderPass(cmd, &rp, VK_SUBPASS_CONTENTS_INLINE);
    pipeline->draw_indexed(cmd, *points, camera, style, extent, f.marks->handle, uint32_t(mark_positions.size()));
    vkCmdEndRenderPass(cmd);
  }

  void wait_idle() {
    PRISM_VK(vkDeviceWaitIdle(ctx->device));
    for (Frame& f : frames) finish_frame(f);
  }

  // Waits for the frames in flight other than the current one (whose fence
  // was waited for and reset by render()).
  void wait_other_frames() {
    for (int i = 0; i < kFramesInFlight; ++i)
      if (i != current) {
        PRISM_VK(vkWaitForFences(ctx->device, 1, &frames[size_t(i)].fence, VK_TRUE, UINT64_MAX));
        finish_frame(frames[size_t(i)]);
      }
  }

  void set_thumbnails(std::shared_ptr<const ThumbnailSource> source, int64_t capacity) {
    if (ctx->device) vkDeviceWaitIdle(ctx->device);
    atlas.reset();
    points->clear_slots();
    thumbnail_source = source;
    thumbnail_capacity = capacity;
    atlas = std::make_unique<ThumbnailAtlas>(*ctx, std::move(source), points->size(), capacity, kFramesInFlight);
    pipeline->bind_atlas(atlas->view(), atlas->sampler(), atlas->geometry());
  }
};

Window::Window(const WindowOptions& options) : impl_(std::make_unique<Impl>(options)) {}
Window::~Window() = default;
GLFWwindow* Window::handle() const { return impl_->window; }
int Window::width() const { return int(impl_->extent.width); }
int Window::height() const { return int(impl_->extent.height); }
bool Window::should_close() const { return glfwWindowShouldClose(impl_->window); }
void Window::request_close() { glfwSetWindowShouldClose(impl_->window, GLFW_TRUE); }

void Window::new_frame() {
  glfwPollEvents();
  int w = 0, h = 0;
  glfwGetFramebufferSize(impl_->window, &w, &h);
  if (uint32_t(w) != impl_->extent.width || uint32_t(h) != impl_->extent.height) impl_->needs_recreate = true;
  ImGui_ImplVulkan_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  if (impl_->scripted_mouse) {  // ImGui 1.86 reads these fields in NewFrame()
    ImGuiIO& io = ImGui::GetIO();
    io.MousePos = ImVec2(impl_->scripted_pos.x / io.DisplayFramebufferScale.x,
                         impl_->scripted_pos.y / io.DisplayFramebufferScale.y);
    for (bool& b : io.MouseDown) b = false;
    io.MouseDown[0] = impl_->scripted_down;
    io.KeyShift = impl_->scripted_shift;
  }
  ImGui::NewFrame();
}

void Window::set_scripted_mouse(float x, float y, bool down, bool shift) {
  impl_->scripted_mouse = true;
  impl_->scripted_pos = {x, y};
  impl_->scripted_down = down;
  impl_->scripted_shift = shift;
}
void Window::clear_scripted_mouse() { impl_->scripted_mouse = false; }
bool Window::has_scripted_mouse() const { return impl_->scripted_mouse; }

void Window::render(const Camera& camera, const PointStyle& style) { impl_->render(camera, style); }
void Window::wait_idle() { impl_->wait_idle(); }

void Window::set_positions(ConstView y) {
  impl_->wait_idle();  // frames in flight read these buffers
  const int64_t before = impl_->points->size();
  impl_->points->set_positions(y);
  if (impl_->thumbnail_source && y.rows != before)  // a new point count needs a new cache of slots
    impl_->set_thumbnails(impl_->thumbnail_source, impl_->thumbnail_capacity);
}
void Window::set_colors(std::span<const uint32_t> packed) {
  impl_->wait_idle();
  impl_->points->set_colors(packed);
}
void Window::set_states(std::span<const uint8_t> states) {
  impl_->wait_idle();
  impl_->points->set_states(states);
}
void Window::set_sizes(std::span<const uint8_t> sizes) {
  impl_->wait_idle();
  impl_->points->set_sizes(sizes);
}
void Window::set_draw_order(DrawOrder order, uint64_t seed) {
  impl_->wait_idle();
  impl_->points->set_order(order, seed);
}
void Window::set_thumbnails(std::shared_ptr<const ThumbnailSource> source, int64_t capacity) {
  impl_->set_thumbnails(std::move(source), capacity);
}
void Window::request_thumbnails(std::span<const int64_t> rows) { impl_->atlas->request(rows); }
ThumbnailStats Window::thumbnail_stats() const {
  ThumbnailStats s = impl_->atlas->stats();
  s.hidden = impl_->culler->hidden();
  return s;
}
bool Window::last_frame_drew_points() const { return impl_->layer_drawn; }
Rasterizer Window::last_rasterizer() const { return impl_->last_rasterizer; }
bool Window::last_frame_complete() const { return impl_->last_complete; }
int64_t Window::size() const { return impl_->points->size(); }
const std::vector<uint32_t>& Window::draw_order() const { return impl_->points->order(); }
void Window::set_pick_pixel(int x, int y) { impl_->pick_pixel = {x, y}; }
int64_t Window::picked() const { return impl_->picked; }

void Window::request_screenshot(const std::string& path) {
  if (impl_->pending_shot.empty()) ++impl_->shots_in_flight;
  impl_->pending_shot = path;
}
bool Window::screenshot_pending() const { return impl_->shots_in_flight > 0; }

}  // namespace prism::render
