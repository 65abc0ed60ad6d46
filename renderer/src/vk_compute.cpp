// The compute rasteriser's pipelines, buffers and commands.
#include "vk_compute.hpp"

#include <algorithm>

namespace prism::render::detail {

namespace {
const uint32_t kRasterComp[] = {
#include "raster.comp.inc"
};
const uint32_t kResolveComp[] = {
#include "resolve.comp.inc"
};

// Must match the push_constant blocks of raster.comp and resolve.comp.
struct ComputePush {
  glm::mat4 mvp;
  glm::vec4 background;
  uint32_t n, width, height, flags;
  float radius, alpha;
  uint32_t groups_x;
  uint32_t first;
};

VkPipeline compute_pipeline(VkDevice device, VkPipelineLayout layout, const uint32_t* code, size_t bytes) {
  VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mi.codeSize = bytes;
  mi.pCode = code;
  VkShaderModule module;
  PRISM_VK(vkCreateShaderModule(device, &mi, nullptr, &module));
  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0, VK_SHADER_STAGE_COMPUTE_BIT, module, "main"};
  ci.layout = layout;
  VkPipeline pipeline;
  const VkResult r = vkCreateComputePipelines(device, VK_NULL_HANDLE, 1, &ci, nullptr, &pipeline);
  vkDestroyShaderModule(device, module, nullptr);
  PRISM_VK(r);
  return pipeline;
}
// Positions, states, frame, colours, out colour, out ids, sizes.
constexpr uint32_t kBindings = 7;
}  // namespace

ComputeRaster::ComputeRaster(Context& c, int w, int h) : ctx(c), width(uint32_t(w)), height(uint32_t(h)) {
  VkDescriptorSetLayoutBinding b[kBindings]{};
  for (uint32_t i = 0; i < kBindings; ++i) b[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  li.bindingCount = kBindings;
  li.pBindings = b;
  PRISM_VK(vkCreateDescriptorSetLayout(ctx.device, &li, nullptr, &set_layout));
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(ComputePush)};
  VkPipelineLayoutCreateInfo pi{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pi.setLayoutCount = 1;
  pi.pSetLayouts = &set_layout;
  pi.pushConstantRangeCount = 1;
  pi.pPushConstantRanges = &range;
  PRISM_VK(vkCreatePipelineLayout(ctx.device, &pi, nullptr, &layout));
  raster = compute_pipeline(ctx.device, layout, kRasterComp, sizeof(kRasterComp));
  resolve = compute_pipeline(ctx.device, layout, kResolveComp, sizeof(kResolveComp));
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kBindings};
  VkDescriptorPoolCreateInfo dpi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dpi.maxSets = 1;
  dpi.poolSizeCount = 1;
  dpi.pPoolSizes = &size;
  PRISM_VK(vkCreateDescriptorPool(ctx.device, &dpi, nullptr, &pool));
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = pool;
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &set_layout;
  PRISM_VK(vkAllocateDescriptorSets(ctx.device, &ai, &set));
  const VkDeviceSize pixels = VkDeviceSize(checked_mul(width, height));
  frame = std::make_unique<Buffer>(ctx, pixels * 8, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, false);
  out_color = std::make_unique<Buffer>(ctx, pixels * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT, false);
  out_id = std::make_unique<Buffer>(ctx, pixels * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT, false);
}

ComputeRaster::~ComputeRaster() {
  frame.reset();
  out_color.reset();
  out_id.reset();
  vkDestroyDescriptorPool(ctx.device, pool, nullptr);
  vkDestroyPipeline(ctx.device, raster, nullptr);
  vkDestroyPipeline(ctx.device, resolve, nullptr);
  vkDestroyPipelineLayout(ctx.device, layout, nullptr);
  vkDestroyDescriptorSetLayout(ctx.device, set_layout, nullptr);
}

void ComputeRaster::bind_buffers(const PointBuffers& points) {
  VkDescriptorBufferInfo info[kBindings] = {
      {points.positions(), 0, VK_WHOLE_SIZE}, {points.states(), 0, VK_WHOLE_SIZE}, {frame->handle, 0, VK_WHOLE_SIZE},
      {points.colors(), 0, VK_WHOLE_SIZE},    {out_color->handle, 0, VK_WHOLE_SIZE}, {out_id->handle, 0, VK_WHOLE_SIZE},
      {points.sizes(), 0, VK_WHOLE_SIZE}};
  VkWriteDescriptorSet w[kBindings]{};
  for (uint32_t i = 0; i < kBindings; ++i) {
    w[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    w[i].dstSet = set;
    w[i].dstBinding = i;
    w[i].descriptorCount = 1;
    w[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    w[i].pBufferInfo = &info[i];
  }
  vkUpdateDescriptorSets(ctx.device, kBindings, w, 0, nullptr);
}

void ComputeRaster::record(VkCommandBuffer cmd, const PointBuffers& points, const Camera& camera,
                           const PointStyle& style, bool bgr, int64_t first, int64_t count) {
  auto barrier = [&](VkAccessFlags src, VkAccessFlags dst, VkPipelineStageFlags from, VkPipelineStageFlags to) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = src;
    mb.dstAccessMask = dst;
    vkCmdPipelineBarrier(cmd, from, to, 0, 1, &mb, 0, nullptr, 0, nullptr);
  };
  // An earlier frame on the queue may still read the outputs (copies) or the frame buffer.
  // (and an earlier chunk's atomics must land before this one's).
  barrier(VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
          VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
          VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
          VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
  const int64_t drawn = drawn_points(points.size(), style);
  first = std::clamp<int64_t>(first, 0, drawn);
  count = count < 0 ? drawn - first : std::min(count, drawn - first);
  if (first == 0) vkCmdFillBuffer(cmd, frame->handle, 0, VK_WHOLE_SIZE, 0xFFFFFFFFu);  // "nothing drawn"
  barrier(VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
          VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
  ComputePush pc{};
  pc.mvp = camera.view_proj();
  pc.background = glm::vec4(style.background.r, style.background.g, style.background.b, 255) / 255.0f;
  pc.n = checked_cast<uint32_t>(first + count);
  pc.first = uint32_t(first);
  pc.width = width;
  pc.height = height;
  pc.flags = (style.isolate ? 1u : 0u) | (bgr ? 2u : 0u);
  pc.radius = 0.5f * style.point_size;
  pc.alpha = std::clamp(style.alpha, 0.0f, 1.0f);
  // Dispatch rows of at most 65535 groups of 256 points (the guaranteed limit).
  const uint32_t groups = uint32_t((count + 255) / 256);
  pc.groups_x = std::min<uint32_t>(groups, 65535u);
  const uint32_t groups_y = pc.groups_x ? (groups + pc.groups_x - 1) / pc.groups_x : 0;
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, nullptr);
  vkCmdPushConstants(cmd, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), &pc);
  if (groups) {
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, raster);
    vkCmdDispatch(cmd, pc.groups_x, groups_y, 1);
  }
  barrier(VK_ACCESS_SHADER_WRITE_BIT, VK_ACCESS_SHADER_READ_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
          VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, resolve);
  vkCmdDispatch(cmd, (width + 15) / 16, (height + 15) / 16, 1);
  barrier(VK_ACCESS_SHADER_WRITE_BIT, VK_ACCESS_TRANSFER_READ_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
          VK_PIPELINE_STAGE_TRANSFER_BIT);
}

}  // namespace prism::render::detail
