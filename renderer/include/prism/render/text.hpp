#pragma once
// Text for figures and label placement for both figures and the viewer:
// a glyph atlas baked with stb_truetype, and greedy label layout with
// collision culling so labels never overlap.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <glm/glm.hpp>

#include "prism/render/image.hpp"

namespace prism::render {

inline constexpr const char* kDefaultFontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// A TrueType font baked at one pixel height into an 8-bit atlas (printable
/// ASCII and Latin-1; other characters draw as '?').
class Font {
 public:
  /// Throws InputError when the file cannot be read or parsed.
  explicit Font(float pixel_height, const std::string& ttf_path = kDefaultFontPath);
  ~Font();
  Font(const Font&) = delete;
  Font& operator=(const Font&) = delete;

  float pixel_height() const;
  /// Distance from the top of a line box to the baseline, pixels.
  float ascent() const;
  /// Height of a line box, pixels.
  float line_height() const;
  /// Width and height (line height) of `text` (UTF-8), pixels.
  glm::vec2 measure(const std::string& text) const;
  /// Draws `text` with its line box's top-left corner at (x, y), blended.
  void draw(Image& img, float x, float y, const std::string& text, Rgba8 color) const;

  /// The atlas (for GPU text or inspection): width x height coverage bytes.
  int atlas_width() const;
  int atlas_height() const;
  const std::vector<uint8_t>& atlas() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A label that wants to be shown next to `anchor` (pixels).
struct LabelRequest {
  glm::vec2 anchor{0.0f};
  glm::vec2 size{0.0f};  ///< text box width and height, pixels
  float priority = 0;    ///< higher is placed first
  int64_t id = -1;       ///< caller's reference (point row, class index)
  bool centered = false; ///< centre the box on the anchor (class labels) instead of beside it
};

/// A placed label: its box is [box_min, box_max).
struct PlacedLabel {
  int64_t request = -1;  ///< index into the requests
  glm::vec2 box_min{0.0f}, box_max{0.0f};
};

/// Places labels one at a time without overlaps: each tries a few positions
/// around its anchor (right, left, above, below; centred ones first on the
/// anchor) and takes the first that leaves no placed box within `padding`
/// pixels and stays inside the width x height viewport. A grid of buckets
/// keeps each try near constant time, so thousands of labels per frame are
/// cheap (TensorBoard's projector uses such a collision grid too).
class LabelLayout {
 public:
  LabelLayout(int width, int height, float padding = 2.0f);
  /// Places `request` (its id and priority are not used here); returns false
  /// when every position clashes or leaves the viewport.
  bool place(const LabelRequest& request, PlacedLabel* placed);
  /// Marks a box as taken without a label (a panel over the view).
  void block(glm::vec2 box_min, glm::vec2 box_max);
  size_t size() const { return boxes_.size(); }

 private:
  bool clashes(glm::vec2 lo, glm::vec2 hi) const;
  void insert(glm::vec2 lo, glm::vec2 hi);
  int width_, height_, gx_, gy_;
  float padding_;
  static constexpr float kCell = 64.0f;
  std::vector<std::pair<glm::vec2, glm::vec2>> boxes_;
  std::vector<std::vector<uint32_t>> buckets_;  // per cell: indices into boxes_
};

/// Places labels greedily by priority (ties by request order); each label
/// tries a few positions around its anchor and is dropped when all of them
/// overlap an already placed label (boxes grown by `padding` pixels) or leave
/// the width x height viewport. The result never overlaps.
std::vector<PlacedLabel> layout_labels(const std::vector<LabelRequest>& requests, int width,
                                       int height, float padding = 2.0f);

/// True when two boxes [min, max) intersect.
bool boxes_overlap(glm::vec2 a_min, glm::vec2 a_max, glm::vec2 b_min, glm::vec2 b_max);

}  // namespace prism::render
