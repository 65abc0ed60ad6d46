#include "occlusion.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace prism::render::detail {
namespace {

constexpr uint8_t kHighlight = kSelected | kHovered | kMatch | kNeighbor;

struct Candidate {
  float depth;
  uint32_t index;
  float x, y, half;  // centre and half edge, framebuffer pixels
  bool opaque;
};

/// A bit per pixel, rows of whole 64-bit words.
class Coverage {
 public:
  Coverage(std::vector<uint64_t>& bits, int width, int height)
      : bits_(bits), words_((width + 63) / 64), width_(width), height_(height) {
    bits_.assign(size_t(words_) * size_t(height), 0);
  }
  /// Every pixel of [x0, x1] x [y0, y1] (clipped to the screen) is set.
  bool covered(int x0, int x1, int y0, int y1) const {
    if (!clip(x0, x1, y0, y1)) return true;  // nothing on screen to show
    for (int y = y0; y <= y1; ++y) {
      const uint64_t* row = bits_.data() + size_t(y) * words_;
      for (int w = x0 / 64; w <= x1 / 64; ++w)
        if ((row[w] & mask(w, x0, x1)) != mask(w, x0, x1)) return false;
    }
    return true;
  }
  void set(int x0, int x1, int y0, int y1) {
    if (!clip(x0, x1, y0, y1)) return;
    for (int y = y0; y <= y1; ++y) {
      uint64_t* row = bits_.data() + size_t(y) * words_;
      for (int w = x0 / 64; w <= x1 / 64; ++w) row[w] |= mask(w, x0, x1);
    }
  }

 private:
  bool clip(int& x0, int& x1, int& y0, int& y1) const {
    x0 = std::max(x0, 0), y0 = std::max(y0, 0);
    x1 = std::min(x1, width_ - 1), y1 = std::min(y1, height_ - 1);
    return x0 <= x1 && y0 <= y1;
  }
  // The bits of word w that lie in columns [x0, x1].
  static uint64_t mask(int w, int x0, int x1) {
    const int lo = std::max(x0 - w * 64, 0), hi = std::min(x1 - w * 64, 63);
    const uint64_t upto = hi == 63 ? ~uint64_t(0) : (uint64_t(1) << (hi + 1)) - 1;
    return upto & ~((uint64_t(1) << lo) - 1);
  }
  std::vector<uint64_t>& bits_;
  int words_, width_, height_;
};

}  // namespace

int64_t visible_sprites(const SpriteInputs& in, const SpriteView& view, std::vector<uint32_t>& out,
                        std::vector<uint64_t>& bits) {
  out.clear();
  std::vector<Candidate> cand;
  std::vector<uint8_t> keep(size_t(in.n), 1);  // 0: a candidate, hidden unless found visible
  for (int64_t i = 0; i < in.n; ++i) {
    if (in.slot[i] < 0 || (in.state[i] & kHighlight)) continue;
    const float* q = in.pos + 3 * i;
    const glm::vec4 p = view.mvp * glm::vec4(q[0], q[1], q[2], 1.0f);
    if (!(p.w > 0)) continue;
    const float px = view.image_scale / p.w;
    if (!(px >= view.image_min_px)) continue;  // a dot
    const glm::vec3 ndc = glm::vec3(p) / p.w;
    // Centres outside the clip volume: clipped, or drawn by a guard band; kept either way.
    if (!(std::abs(ndc.x) < 1 && std::abs(ndc.y) < 1 && ndc.z >= 0 && ndc.z <= 1)) continue;
    const float edge = std::clamp(px * float(in.size[i]) / float(kUnitSize), 1.0f, view.max_size);
    cand.push_back({ndc.z, uint32_t(i), (ndc.x + 1) * 0.5f * float(view.width),
                    (ndc.y + 1) * 0.5f * float(view.height), edge * 0.5f, (in.color[i] >> 24) == 255});
  }
  // A translucent thumbnail drawn before a farther opaque one keeps it out of
  // its pixels by depth, so what shows through it is what was drawn before
  // it, not what is nearest: occlusion by draw order and depth no longer
  // says what is seen. At one depth (2D views) nothing fails the depth test
  // and the rule is exact; with depths and translucency, draw everything.
  const bool translucent = std::any_of(cand.begin(), cand.end(), [](const Candidate& c) { return !c.opaque; });
  const bool one_depth = std::all_of(cand.begin(), cand.end(), [&](const Candidate& c) { return c.depth == cand[0].depth; });
  if (translucent && !one_depth) cand.clear();
  for (const Candidate& c : cand) keep[c.index] = 0;
  // Front first: nearer, then (same depth) drawn later.
  std::sort(cand.begin(), cand.end(), [](const Candidate& a, const Candidate& b) {
    return a.depth != b.depth ? a.depth < b.depth : a.index > b.index;
  });
  Coverage cover(bits, view.width, view.height);
  int64_t hidden = 0;
  for (const Candidate& c : cand) {
    // Pixel column x is shaded when its centre x + 0.5 lies in [c.x - half, c.x + half).
    const float lo_x = c.x - c.half - 0.5f, hi_x = c.x + c.half - 0.5f;
    const float lo_y = c.y - c.half - 0.5f, hi_y = c.y + c.half - 0.5f;
    if (cover.covered(int(std::floor(lo_x)) - 1, int(std::ceil(hi_x)) + 1, int(std::floor(lo_y)) - 1,
                      int(std::ceil(hi_y)) + 1)) {
      ++hidden;
      continue;
    }
    keep[c.index] = 1;
    if (c.opaque)
      cover.set(int(std::ceil(lo_x)) + 1, int(std::floor(hi_x)) - 1, int(std::ceil(lo_y)) + 1,
                int(std::floor(hi_y)) - 1);
  }
  out.reserve(size_t(in.n - hidden));
  for (int64_t i = 0; i < in.n; ++i)
    if (keep[size_t(i)]) out.push_back(uint32_t(i));
  return hidden;
}

SpriteCuller::SpriteCuller(Context& ctx, int frames_in_flight) : ctx_(ctx), indices_(size_t(frames_in_flight)) {}

void SpriteCuller::draw(VkCommandBuffer cmd, int frame, const PointPipeline& pipeline, const PointBuffers& points,
                        const Camera& camera, const PointStyle& style, VkExtent2D extent) {
  hidden_ = 0;
  const float scale = thumbnail_scale(camera, style, extent);
  const bool cull = style.cull_hidden && scale > 0 && pipeline.has_atlas() && !style.isolate &&
                    style.alpha >= 1.0f && ctx_.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU &&
                    points.size() > 0;
  if (!cull) {
    pipeline.draw(cmd, points, camera, style, extent);
    return;
  }
  const SpriteInputs in{points.position_data(), points.slot_data(), points.state_data(), points.size_data(),
                        points.color_data(), drawn_points(points.size(), style)};
  const SpriteView view{camera.view_proj(), int(extent.width), int(extent.height), scale, style.image_min_px,
                        ctx_.max_point_size};
  hidden_ = visible_sprites(in, view, visible_, bits_);
  auto& buf = indices_.at(size_t(frame));
  const VkDeviceSize bytes = std::max<VkDeviceSize>(4, visible_.size() * 4);
  if (!buf || buf->size < bytes)
    buf = std::make_unique<Buffer>(ctx_, bytes + bytes / 2, VK_BUFFER_USAGE_INDEX_BUFFER_BIT, true);
  if (!visible_.empty()) std::memcpy(buf->mapped, visible_.data(), visible_.size() * 4);
  pipeline.draw_indexed(cmd, points, camera, style, extent, buf->handle, uint32_t(visible_.size()));
}

}  // namespace prism::render::detail
