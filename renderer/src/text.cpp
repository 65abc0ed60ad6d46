#include "prism/render/text.hpp"

#include <stb_truetype.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <numeric>

#include "prism/error.hpp"

namespace prism::render {

namespace {
constexpr int kFirstAscii = 32, kAsciiCount = 95;    // ' '..'~'
constexpr int kFirstLatin1 = 160, kLatin1Count = 96;  // NBSP..'ÿ'

// Decodes one UTF-8 code point at s[i], advancing i; malformed bytes give '?'.
uint32_t next_codepoint(const std::string& s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i++]);
  if (c < 0x80) return c;
  int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
  if (extra < 0) return '?';
  uint32_t cp = c & (0x3F >> extra);
  while (extra-- > 0) {
    if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) return '?';
    cp = cp << 6 | (static_cast<unsigned char>(s[i++]) & 0x3F);
  }
  return cp;
}
}  // namespace

struct Font::Impl {
  float pixel_height = 0, ascent = 0, line_height = 0;
  int atlas_w = 512, atlas_h = 256;
  std::vector<uint8_t> atlas;
  stbtt_packedchar ascii[kAsciiCount];
  stbtt_packedchar latin1[kLatin1Count];

  const stbtt_packedchar* glyph(uint32_t cp, int* index) const {
    if (cp >= uint32_t(kFirstAscii) && cp < uint32_t(kFirstAscii + kAsciiCount)) {
      *index = int(cp) - kFirstAscii;
      return ascii;
    }
    if (cp >= uint32_t(kFirstLatin1) && cp < uint32_t(kFirstLatin1 + kLatin1Count)) {
      *index = int(cp) - kFirstLatin1;
      return latin1;
    }
    *index = '?' - kFirstAscii;
    return ascii;
  }
};

Font::Font(float pixel_height, const std::string& ttf_path) : impl_(std::make_unique<Impl>()) {
  PRISM_EXPECTS(pixel_height >= 4 && pixel_height <= 200, "font size ", pixel_height, " px is out of range (4..200)");
  std::ifstream in(ttf_path, std::ios::binary);
  PRISM_EXPECTS(in, "cannot read font ", ttf_path, " (install fonts-dejavu-core)");
  std::vector<unsigned char> ttf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  stbtt_fontinfo info;
  PRISM_EXPECTS(stbtt_InitFont(&info, ttf.data(), stbtt_GetFontOffsetForIndex(ttf.data(), 0)),
                "cannot parse font ", ttf_path);
  const float scale = stbtt_ScaleForPixelHeight(&info, pixel_height);
  int asc = 0, desc = 0, gap = 0;
  stbtt_GetFontVMetrics(&info, &asc, &desc, &gap);
  Impl& m = *impl_;
  m.pixel_height = pixel_height;
  m.ascent = std::ceil(asc * scale);
  m.line_height = std::ceil((asc - desc) * scale);
  // Grow the atlas until both ranges fit.
  for (int attempt = 0;; ++attempt) {
    m.atlas.assign(size_t(m.atlas_w) * m.atlas_h, 0);
    stbtt_pack_context pc;
    PRISM_CHECK(stbtt_PackBegin(&pc, m.atlas.data(), m.atlas_w, m.atlas_h, 0, 1, nullptr), "stbtt_PackBegin");
    stbtt_pack_range ranges[2] = {};
    ranges[0].font_size = pixel_height;
    ranges[0].first_unicode_codepoint_in_range = kFirstAscii;
    ranges[0].num_chars = kAsciiCount;
    ranges[0].chardata_for_range = m.ascii;
    ranges[1] = ranges[0];
    ranges[1].first_unicode_codepoint_in_range = kFirstLatin1;
    ranges[1].num_chars = kLatin1Count;
    ranges[1].chardata_for_range = m.latin1;
    const int ok = stbtt_PackFontRanges(&pc, ttf.data(), 0, ranges, 2);
    stbtt_PackEnd(&pc);
    if (ok) break;
    PRISM_CHECK(attempt < 6, "font atlas does not fit at ", pixel_height, " px");
    (attempt % 2 ? m.atlas_w : m.atlas_h) *= 2;
  }
}

Font::~Font() = default;
float Font::pixel_height() const { return impl_->pixel_height; }
float Font::ascent() const { return impl_->ascent; }
float Font::line_height() const { return impl_->line_height; }
int Font::atlas_width() const { return impl_->atlas_w; }
int Font::atlas_height() const { return impl_->atlas_h; }
const std::vector<uint8_t>& Font::atlas() const { return impl_->atlas; }

glm::vec2 Font::measure(const std::string& text) const {
  float x = 0;
  for (size_t i = 0; i < text.size();) {
    int idx;
    const stbtt_packedchar* g = impl_->glyph(next_codepoint(text, i), &idx);
    x += g[idx].xadvance;
  }
  return {std::ceil(x), impl_->line_height};
}

void Font::draw(Image& img, float x, float y, const std::string& text, Rgba8 color) const {
  const Impl& m = *impl_;
  float pen_x = std::round(x), pen_y = std::round(y) + m.ascent;
  for (size_t i = 0; i < text.size();) {
    int idx;
    const stbtt_packedchar* g = m.glyph(next_codepoint(text, i), &idx);
    stbtt_aligned_quad q;
    stbtt_GetPackedQuad(g, m.atlas_w, m.atlas_h, idx, &pen_x, &pen_y, &q, 1);
    // Glyphs are baked at the drawn size, so the quad maps atlas texels 1:1.
    const int x0 = int(q.x0), y0 = int(q.y0);
    const int s0 = int(std::lround(q.s0 * m.atlas_w)), t0 = int(std::lround(q.t0 * m.atlas_h));
    const int w = int(std::lround((q.s1 - q.s0) * m.atlas_w)), h = int(std::lround((q.t1 - q.t0) * m.atlas_h));
    for (int dy = 0; dy < h; ++dy)
      for (int dx = 0; dx < w; ++dx) {
        const uint8_t cov = m.atlas[size_t(t0 + dy) * m.atlas_w + s0 + dx];
        if (cov) img.blend(x0 + dx, y0 + dy, color, cov / 255.0f);
      }
  }
}

bool boxes_overlap(glm::vec2 a_min, glm::vec2 a_max, glm::vec2 b_min, glm::vec2 b_max) {
  return a_min.x < b_max.x && b_min.x < a_max.x && a_min.y < b_max.y && b_min.y < a_max.y;
}

LabelLayout::LabelLayout(int width, int height, float padding)
    : width_(width), height_(height), gx_(std::max(1, int(std::ceil(width / kCell)))),
      gy_(std::max(1, int(std::ceil(height / kCell)))), padding_(padding), buckets_(size_t(gx_) * size_t(gy_)) {}

bool LabelLayout::clashes(glm::vec2 lo, glm::vec2 hi) const {
  const glm::vec2 a = lo - padding_, b = hi + padding_;
  const int x0 = std::clamp(int(std::floor(a.x / kCell)), 0, gx_ - 1);
  const int x1 = std::clamp(int(std::floor(b.x / kCell)), 0, gx_ - 1);
  const int y0 = std::clamp(int(std::floor(a.y / kCell)), 0, gy_ - 1);
  const int y1 = std::clamp(int(std::floor(b.y / kCell)), 0, gy_ - 1);
  for (int cy = y0; cy <= y1; ++cy)
    for (int cx = x0; cx <= x1; ++cx)
      for (uint32_t i : buckets_[size_t(cy) * size_t(gx_) + size_t(cx)])
        if (boxes_overlap(a, b, boxes_[i].first, boxes_[i].second)) return true;
  return false;
}

void LabelLayout::insert(glm::vec2 lo, glm::vec2 hi) {
  const auto index = uint32_t(boxes_.size());
  boxes_.emplace_back(lo, hi);
  const int x0 = std::clamp(int(std::floor(lo.x / kCell)), 0, gx_ - 1);
  const int x1 = std::clamp(int(std::floor(hi.x / kCell)), 0, gx_ - 1);
  const int y0 = std::clamp(int(std::floor(lo.y / kCell)), 0, gy_ - 1);
  const int y1 = std::clamp(int(std::floor(hi.y / kCell)), 0, gy_ - 1);
  for (int cy = y0; cy <= y1; ++cy)
    for (int cx = x0; cx <= x1; ++cx) buckets_[size_t(cy) * size_t(gx_) + size_t(cx)].push_back(index);
}

void LabelLayout::block(glm::vec2 box_min, glm::vec2 box_max) { insert(box_min, box_max); }

bool LabelLayout::place(const LabelRequest& q, PlacedLabel* placed) {
  const glm::vec2 s = q.size;
  constexpr float gap = 6.0f;  // clears the point sprite
  glm::vec2 candidates[4];
  if (q.centered) {
    candidates[0] = q.anchor - 0.5f * s;
    candidates[1] = candidates[0] - glm::vec2(0, s.y);
    candidates[2] = candidates[0] + glm::vec2(0, s.y);
    candidates[3] = candidates[0] + glm::vec2(s.x * 0.5f + gap, 0);
  } else {
    candidates[0] = q.anchor + glm::vec2(gap, -0.5f * s.y);         // right
    candidates[1] = q.anchor + glm::vec2(-gap - s.x, -0.5f * s.y);  // left
    candidates[2] = q.anchor + glm::vec2(-0.5f * s.x, -gap - s.y);  // above
    candidates[3] = q.anchor + glm::vec2(-0.5f * s.x, gap);         // below
  }
  for (glm::vec2 c : candidates) {
    c = glm::round(c);
    const glm::vec2 lo = c, hi = c + s;
    if (lo.x < 0 || lo.y < 0 || hi.x > width_ || hi.y > height_) continue;
    if (clashes(lo, hi)) continue;
    insert(lo, hi);
    if (placed) *placed = {q.id, lo, hi};
    return true;
  }
  return false;
}

std::vector<PlacedLabel> layout_labels(const std::vector<LabelRequest>& requests, int width, int height,
                                       float padding) {
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return requests[a].priority > requests[b].priority; });
  std::vector<PlacedLabel> placed;
  LabelLayout layout(width, height, padding);
  for (size_t r : order) {
    PlacedLabel p;
    if (layout.place(requests[r], &p)) {
      p.request = int64_t(r);
      placed.push_back(p);
    }
  }
  return placed;
}

}  // namespace prism::render
