// What the viewer's frames are made of, offscreen on lavapipe and on the CPU:
// the shuffled draw order and its budget prefix (a uniform sample, picking
// still by rows), the frame budget's model, visible and separated points,
// the label collision grid, thumbnails in place of dots (level of detail,
// hover enlargement, grey and RGBA atlases, lazy slots, the hidden ones left
// out of the draw with the same picture), per-point sizes,
// the legend's class focus, and the colour policy for each kind of column.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "prism/io.hpp"
#include "prism/render/camera.hpp"
#include "prism/render/colors.hpp"
#include "prism/render/renderer.hpp"
#include "prism/render/screen.hpp"
#include "prism/render/text.hpp"
#include "prism/render/thumbnails.hpp"
#include "test_util.hpp"

using namespace prism;
using namespace prism::render;

namespace {

constexpr Rgba8 kWhite{255, 255, 255, 255};

// Orthographic camera showing world y in [-1, 1] over the image height, x
// scaled by the aspect ratio (pixel = ((x / aspect + 1) W / 2, (1 - y) H / 2)).
Camera unit_ortho(int w, int h) {
  Camera cam;
  cam.set_viewport(w, h);
  cam.set_projection(Projection::orthographic);
  Camera::State s;
  s.distance = 1.0f / std::tan(glm::radians(22.5f));
  cam.set_state(s);
  return cam;
}

bool near_color(Rgba8 a, Rgba8 b, int tol = 3) {
  return std::abs(a.r - b.r) <= tol && std::abs(a.g - b.g) <= tol && std::abs(a.b - b.b) <= tol;
}

// n x n images, each a solid colour per quadrant (RGBA), from a table.
class QuadrantImages : public ThumbnailSource {
 public:
  QuadrantImages(std::vector<std::array<Rgba8, 4>> q, int side) : q_(std::move(q)), side_(side) {}
  int64_t count() const override { return int64_t(q_.size()); }
  int width() const override { return side_; }
  int height() const override { return side_; }
  int channels() const override { return 4; }
  std::string describe() const override { return "quadrants"; }
  void load(int64_t row, uint8_t* out) const override {
    for (int y = 0; y < side_; ++y)
      for (int x = 0; x < side_; ++x) {
        const Rgba8 c = q_[size_t(row)][size_t((y >= side_ / 2) * 2 + (x >= side_ / 2))];
        uint8_t* p = out + (size_t(y) * side_ + x) * 4;
        p[0] = c.r, p[1] = c.g, p[2] = c.b, p[3] = c.a;
      }
  }
  mutable int loads = 0;

 private:
  std::vector<std::array<Rgba8, 4>> q_;
  int side_;
};

}  // namespace

TEST(DrawOrder, ShuffledPrefixIsAUniformSampleAndPickingReportsRows) {
  // 40 x 25 points on a grid, one per cell of 8 px: no overlaps, so every
  // drawn point shows in the id image.
  const int W = 320, H = 200, cols = 40, lines = 25, n = cols * lines;
  OffscreenRenderer r(W, H);
  r.set_draw_order(DrawOrder::shuffled, 7);
  Matrix y(n, 2);
  const float aspect = float(W) / H;
  for (int i = 0; i < n; ++i) {
    const float px = 4.0f + 8.0f * float(i % cols), py = 4.0f + 8.0f * float(i / cols);
    y(i, 0) = (2.0f * px / W - 1.0f) * aspect;
    y(i, 1) = 1.0f - 2.0f * py / H;
  }
  r.set_positions(y);
  PointStyle style;
  style.point_size = 4;
  const Camera cam = unit_ortho(W, H);
  r.render(cam, style);
  // Picking and ids report rows, not draw positions.
  for (int i : {0, 17, 433, n - 1}) EXPECT_EQ(r.pick(4 + 8 * (i % cols), 4 + 8 * (i / cols)), i) << i;
  // A prefix of the draw order: exactly max_points points, spread like all of them.
  style.max_points = 250;
  r.render(cam, style);
  std::set<uint32_t> drawn;
  for (uint32_t id : r.ids())
    if (id) drawn.insert(id - 1);
  EXPECT_EQ(drawn.size(), 250u);
  int top = 0;  // rows in the top half of the grid: about half of the sample
  for (uint32_t row : drawn) top += int(row) < n / 2;
  EXPECT_GT(top, 95);
  EXPECT_LT(top, 155);
  // Row order (the default) draws the first rows.
  OffscreenRenderer plain(W, H);
  plain.set_positions(y);
  plain.render(cam, style);
  std::set<uint32_t> first;
  for (uint32_t id : plain.ids())
    if (id) first.insert(id - 1);
  EXPECT_EQ(*first.rbegin(), 249u);
  // Colours follow rows under the shuffle too.
  std::vector<uint32_t> colors(n, Rgba8{0, 0, 255, 255}.packed());
  colors[433] = Rgba8{255, 0, 0, 255}.packed();
  r.set_colors(colors);
  style.max_points = 0;
  r.render(cam, style);
  EXPECT_TRUE(near_color(r.color().at(4 + 8 * (433 % cols), 4 + 8 * (433 / cols)), {255, 0, 0, 255}));
  EXPECT_TRUE(near_color(r.color().at(4, 4), {0, 0, 255, 255}));
}

TEST(FrameBudget, ConvergesToWhatFitsAndDrawsAllAtRest) {
  // A device that takes 4 ms plus 0.5 us per point: at 50 ms, 92k points fit.
  FrameBudget b(50.0, 1000, 200000);
  const int64_t n = 1000000;
  auto frame_ms = [](int64_t drawn) { return 4.0 + 0.0005 * double(drawn); };
  for (int i = 0; i < 10; ++i) b.record(4.0, 0, false);  // still frames: the fixed part
  for (int i = 0; i < 30; ++i) {
    const int64_t m = b.points(n, true);
    b.record(frame_ms(m), m, true);
  }
  EXPECT_NEAR(double(b.budget()), 92000.0, 92000.0 * 0.1);
  EXPECT_NEAR(frame_ms(b.points(n, true)), 50.0, 5.0);
  EXPECT_EQ(b.points(n, false), n);
  // A fast device (a GPU) draws everything while moving too.
  FrameBudget fast(50.0);
  for (int i = 0; i < 10; ++i) fast.record(2.0 + 1e-6 * double(n), n, true);
  EXPECT_EQ(fast.points(n, true), n);
  // Never below the floor, even on a hopeless device.
  FrameBudget slow(50.0, 20000);
  for (int i = 0; i < 10; ++i) slow.record(900.0, 20000, true);
  EXPECT_EQ(slow.budget(), 20000);
}

TEST(Screen, VisibleAndSeparatedPoints) {
  const int W = 200, H = 100;
  const Camera cam = unit_ortho(W, H);
  // Pixel = ((x / 2 + 1) * 100, (1 - y) * 50).
  Matrix y(6, 2);
  const float xy[6][2] = {{0.0f, 0.0f},   {0.02f, 0.0f},  // two points 1 px apart at (100, 50)
                          {-1.0f, 0.5f},                  // alone at (50, 25)
                          {1.6f, -0.6f},                  // alone at (180, 80)
                          {3.0f, 0.0f},                   // outside (x = 250)
                          {0.0f, 1.5f}};                  // outside (y = -25)
  for (int i = 0; i < 6; ++i) y(i, 0) = xy[i][0], y(i, 1) = xy[i][1];
  const auto vis = visible_points(y, cam);
  ASSERT_EQ(vis.size(), 4u);
  EXPECT_EQ(vis[2].row, 2);
  EXPECT_NEAR(vis[2].px.x, 50.0f, 1e-3);
  EXPECT_NEAR(vis[2].px.y, 25.0f, 1e-3);
  const std::vector<uint32_t> some = {3, 4, 0};
  const auto part = visible_points(y, cam, some);
  ASSERT_EQ(part.size(), 2u);
  EXPECT_EQ(part[0].row, 3);
  EXPECT_EQ(part[1].row, 0);
  // The pair shares a cell: neither stands apart.
  const auto sep = separated_points(vis, W, H, 16.0f, 1);
  std::vector<int64_t> rows;
  for (const auto& p : sep) rows.push_back(p.row);
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(separated_points(vis, W, H, 16.0f, 2).size(), 4u);
  // 3D: nearest the camera first.
  Camera p;
  p.set_viewport(W, H);
  Camera::State s;
  s.distance = 10.0f;
  p.set_state(s);
  Matrix z(3, 3, 0.0f);
  z(0, 0) = -1, z(0, 2) = -3;  // far
  z(1, 0) = 1, z(1, 2) = 3;    // near
  z(2, 1) = 1;                 // middle
  const auto vz = separated_points(visible_points(z, p), W, H, 4.0f, 1);
  ASSERT_EQ(vz.size(), 3u);
  EXPECT_EQ(vz[0].row, 1);
  EXPECT_EQ(vz[1].row, 2);
  EXPECT_EQ(vz[2].row, 0);
}

TEST(Labels, GridLayoutNeverOverlapsAndKeepsOutOfBlockedBoxes) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> ux(0, 1200), uy(0, 800), uw(20, 120);
  LabelLayout layout(1200, 800, 2.0f);
  layout.block({0, 0}, {300, 800});  // a panel
  std::vector<PlacedLabel> placed;
  for (int i = 0; i < 20000; ++i) {
    PlacedLabel p;
    if (layout.place({{ux(rng), uy(rng)}, {std::round(uw(rng)), 15.0f}, 0.0f, i, false}, &p)) placed.push_back(p);
  }
  EXPECT_GT(placed.size(), 300u);
  for (size_t a = 0; a < placed.size(); ++a) {
    EXPECT_GE(placed[a].box_min.x, 300 + 2);
    for (size_t b = a + 1; b < placed.size(); ++b)
      ASSERT_FALSE(boxes_overlap(placed[a].box_min - 2.0f, placed[a].box_max + 2.0f, placed[b].box_min,
                                 placed[b].box_max))
          << a << " " << b;
  }
}

TEST(Thumbnails, DrawnAtTheirPointsWithLevelOfDetailAndHover) {
  const int W = 200, H = 100;
  OffscreenRenderer r(W, H);
  Matrix y(2, 2);
  y(0, 0) = -1.0f, y(0, 1) = 0.0f;  // pixel (50, 50)
  y(1, 0) = 1.0f, y(1, 1) = 0.0f;   // pixel (150, 50)
  r.set_positions(y);
  const std::vector<uint32_t> colors = {Rgba8{0, 0, 0, 255}.packed(), Rgba8{0, 0, 0, 255}.packed()};
  r.set_colors(colors);
  const Rgba8 red{255, 0, 0, 255}, green{0, 255, 0, 255}, blue{0, 0, 255, 255}, yellow{255, 255, 0, 255};
  auto src = std::make_shared<QuadrantImages>(
      std::vector<std::array<Rgba8, 4>>{{red, green, blue, yellow}, {yellow, blue, green, red}}, 16);
  r.set_thumbnails(src);
  const std::vector<int64_t> rows = {0, 1};
  r.request_thumbnails(rows);
  const Camera cam = unit_ortho(W, H);
  PointStyle style;
  style.point_size = 6;
  style.background = kWhite;
  style.image_size = 0.8f;  // world units: 40 px at 50 px per unit
  r.render(cam, style);
  EXPECT_EQ(r.thumbnail_stats().loaded, 2);
  const Image& img = r.color();
  // PRISM_TEST_KEEP=folder keeps the picture for a person to look at.
  if (std::getenv("PRISM_TEST_KEEP")) write_png(std::string(std::getenv("PRISM_TEST_KEEP")) + "/thumbnails.png", img);
  // Row 0's quadrants around (50, 50), row 1's mirrored around (150, 50); the
  // 1.5 px frame is the point colour (black).
  EXPECT_TRUE(near_color(img.at(40, 40), red)) << int(img.at(40, 40).r) << "," << int(img.at(40, 40).g);
  EXPECT_TRUE(near_color(img.at(60, 40), green));
  EXPECT_TRUE(near_color(img.at(40, 60), blue));
  EXPECT_TRUE(near_color(img.at(60, 60), yellow));
  EXPECT_TRUE(near_color(img.at(140, 40), yellow));
  EXPECT_TRUE(near_color(img.at(160, 60), red));
  EXPECT_TRUE(near_color(img.at(30, 50), {0, 0, 0, 255}, 40));  // the frame, 20 px left of the centre
  EXPECT_TRUE(near_color(img.at(25, 50), kWhite));               // outside the 40 px square
  EXPECT_EQ(r.pick(40, 40), 0);
  // Far away (small on screen): dots again.
  style.image_min_px = 50.0f;
  r.render(cam, style);
  EXPECT_TRUE(near_color(r.color().at(40, 40), kWhite));
  EXPECT_TRUE(near_color(r.color().at(50, 50), {0, 0, 0, 255}));
  // The hovered thumbnail is enlarged (2.5x + 8 = 108 px): its red quadrant reaches 45 px out.
  style.image_min_px = 6.0f;
  const std::vector<uint8_t> states = {kHovered, kNone};
  r.set_states(states);
  r.render(cam, style);
  EXPECT_TRUE(near_color(r.color().at(12, 12), red));
  EXPECT_TRUE(near_color(r.color().at(88, 88), yellow));
}

TEST(Thumbnails, GreyPixelsIdxAndSpriteSheets) {
  test::TempDir dir;
  // Two 4x4 "IDX" images as vectors: a gradient and its inverse (0..255).
  Matrix x(2, 16);
  for (int i = 0; i < 16; ++i) x(0, i) = float(i * 17), x(1, i) = float(255 - i * 17);
  auto grey = thumbnails_from_pixels(x, 4, 4, nullptr);
  std::vector<uint8_t> px(16);
  grey->load(1, px.data());
  EXPECT_EQ(px[0], 255);
  EXPECT_EQ(px[15], 0);
  EXPECT_THROW(thumbnails_from_pixels(x, 5, 4, nullptr), InputError);
  // A sprite sheet of 3 x 2 tiles of 6 x 4 pixels; tile i is filled with grey 40 * i.
  Image sheet(18, 8, {0, 0, 0, 255});
  for (int i = 0; i < 6; ++i) sheet.fill_rect((i % 3) * 6, (i / 3) * 4, (i % 3) * 6 + 6, (i / 3) * 4 + 4,
                                              {uint8_t(40 * i), uint8_t(40 * i), uint8_t(40 * i), 255});
  write_png(dir.file("sheet.png"), sheet);
  auto s = sprite_sheet(dir.file("sheet.png"), 6, 4, 5);
  EXPECT_EQ(s->width(), 6);
  EXPECT_EQ(s->channels(), 4);
  std::vector<uint8_t> tile(6 * 4 * 4);
  s->load(4, tile.data());  // second line, second column
  EXPECT_EQ(tile[0], 160);
  EXPECT_EQ(tile[tile.size() - 2], 160);
  EXPECT_THROW(sprite_sheet(dir.file("sheet.png"), 6, 4, 7), InputError);  // 6 tiles for 7 rows
  EXPECT_THROW(sprite_sheet(dir.file("sheet.png"), 0, 0, 5), InputError);  // no --sprite-size
  EXPECT_THROW(sprite_sheet(dir.file("none.png"), 6, 4, 5), InputError);
  // Image files: fitted into the tile with the aspect kept; a missing file is a placeholder.
  write_png(dir.file("wide.png"), Image(20, 10, {255, 0, 0, 255}));
  auto files = image_files({"wide.png", "missing.png"}, dir.path().string(), 8);
  std::vector<uint8_t> t(8 * 8 * 4);
  files->load(0, t.data());
  EXPECT_EQ(t[(0 * 8 + 0) * 4 + 3], 0);    // top margin: transparent
  EXPECT_EQ(t[(4 * 8 + 0) * 4 + 0], 255);  // middle line: red
  EXPECT_EQ(t[(4 * 8 + 0) * 4 + 3], 255);
  files->load(1, t.data());
  EXPECT_EQ(t[3], 255);  // the placeholder is opaque
  // A grey atlas draws grey thumbnails.
  OffscreenRenderer r(100, 100);
  Matrix y(2, 2, 0.0f);
  y(1, 0) = 0.9f;
  r.set_positions(y);
  r.set_thumbnails(grey);
  const std::vector<int64_t> rows = {0, 1};
  r.request_thumbnails(rows);
  PointStyle style;
  style.image_size = 0.4f;  // 20 px
  r.render(unit_ortho(100, 100), style);
  const Rgba8 first = r.color().at(43, 43), last = r.color().at(57, 57);  // row 0: dark top-left, bright bottom-right
  EXPECT_LT(first.r, 40);
  EXPECT_GT(last.r, 215);
  EXPECT_EQ(first.r, first.g);
  EXPECT_EQ(first.g, first.b);
}

TEST(Thumbnails, CacheReusesTheLeastRecentlyWantedSlots) {
  ThumbnailCache c(10, 3);
  const std::vector<int64_t> a = {0, 1, 2};
  auto got = c.assign(a, 100);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(c.loaded(), 3);
  EXPECT_TRUE(c.assign(a, 100).empty());  // already there
  // Rows 0 and 1 are still wanted: 5 takes row 2's slot, 6 waits.
  const std::vector<int64_t> b = {0, 1, 5, 6};
  got = c.assign(b, 100);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].row, 5);
  EXPECT_GE(c.slot(5), 0);
  EXPECT_EQ(c.slot(2), -1);
  EXPECT_EQ(c.evicted(), (std::vector<int64_t>{2}));
  EXPECT_EQ(c.pending(), 1);
  // max_new limits the uploads of one call.
  ThumbnailCache d(100, 100);
  std::vector<int64_t> all(100);
  for (int i = 0; i < 100; ++i) all[size_t(i)] = i;
  EXPECT_EQ(d.assign(all, 30).size(), 30u);
  EXPECT_EQ(d.pending(), 70);
  EXPECT_EQ(d.assign(all, 1000).size(), 70u);
  EXPECT_EQ(d.pending(), 0);
}

TEST(Renderer, PerPointSizesAndClassFocus) {
  const int W = 100, H = 100;
  OffscreenRenderer r(W, H);
  Matrix y(2, 2, 0.0f);
  y(0, 0) = -0.5f;  // (25, 50)
  y(1, 0) = 0.5f;   // (75, 50)
  r.set_positions(y);
  const std::vector<uint32_t> colors = {Rgba8{255, 0, 0, 255}.packed(), Rgba8{0, 0, 255, 255}.packed()};
  r.set_colors(colors);
  PointStyle style;
  style.point_size = 6;
  const Camera cam = unit_ortho(W, H);
  const std::vector<uint8_t> sizes = {kUnitSize * 3, kUnitSize};
  r.set_sizes(sizes);
  r.render(cam, style);
  EXPECT_TRUE(near_color(r.color().at(25 + 8, 50), {255, 0, 0, 255}));  // 18 px wide
  EXPECT_TRUE(near_color(r.color().at(75 + 8, 50), kWhite));             // 6 px wide
  // Isolating with row 1 focused (a legend click): row 0 fades, row 1 keeps its colour and no ring.
  const std::vector<uint8_t> states = {kNone, kFocus};
  r.set_states(states);
  style.isolate = true;
  r.render(cam, style);
  EXPECT_GT(r.color().at(25, 50).g, 150);  // red faded towards white
  EXPECT_TRUE(near_color(r.color().at(75, 50), {0, 0, 255, 255}));
  EXPECT_TRUE(near_color(r.color().at(75 + 2, 50), {0, 0, 255, 255}));
  EXPECT_EQ(r.pick(25, 50), -1);
  EXPECT_EQ(r.pick(75, 50), 1);
}

TEST(Colors, EachKindOfColumnGetsTheColourThatMeansSomething) {
  const int n = 600;
  std::vector<std::string> kind, length, word, initial, id;
  std::mt19937 rng(4);
  for (int i = 0; i < n; ++i) {
    kind.push_back(i % 3 == 0 ? "noun" : i % 3 == 1 ? "verb" : "adjective");
    length.push_back(std::to_string(1 + (i * 7) % 30));  // 30 distinct numbers
    word.push_back("w" + std::to_string(i));
    // 26 initials, 'a'..'e' frequent: the top 19 cover most rows.
    initial.push_back(std::string(1, char('a' + (i % 2 ? i % 5 : (i / 2) % 26))));
    id.push_back(std::to_string(i % 12));
  }
  EXPECT_EQ(profile_column(kind).role, ColumnRole::categorical);
  EXPECT_EQ(profile_column(length).role, ColumnRole::continuous);
  EXPECT_EQ(profile_column(word).role, ColumnRole::identifier);
  EXPECT_EQ(profile_column(initial).role, ColumnRole::categorical);
  Metadata m;
  m.add("word", word, true);
  m.add("kind", kind);
  m.add("length", length);
  m.add("initial", initial);
  m.add("id", id);
  // The label column of words: one colour and the reason, not a rainbow.
  const PointColors w = colors_by_column(m, "", n);
  EXPECT_EQ(w.kind, ColorKind::uniform);
  EXPECT_NE(w.note.find("600 distinct values"), std::string::npos) << w.note;
  EXPECT_EQ(std::set<uint32_t>(w.packed.begin(), w.packed.end()).size(), 1u);
  const PointColors k = colors_by_column(m, "kind", n);
  EXPECT_EQ(k.kind, ColorKind::categorical);
  EXPECT_EQ(k.classes, (std::vector<std::string>{"noun", "verb", "adjective"}));
  EXPECT_EQ(k.class_counts, (std::vector<int64_t>{200, 200, 200}));
  const PointColors l = colors_by_column(m, "length", n);
  EXPECT_EQ(l.kind, ColorKind::continuous);
  EXPECT_EQ(l.min, 1);
  EXPECT_EQ(l.max, 30);
  // 26 values: the 19 most frequent get colours, the rest are "(other)", grey.
  const PointColors in = colors_by_column(m, "initial", n);
  ASSERT_EQ(in.kind, ColorKind::categorical);
  EXPECT_TRUE(in.has_other);
  EXPECT_EQ(in.classes.size(), 20u);
  EXPECT_EQ(in.class_colors.back(), categorical_color(-1));
  EXPECT_EQ(in.classes[0], "a");  // the most frequent first
  // Few numbers are classes in numeric order (2 before 10).
  const PointColors ids = colors_by_column(m, "id", n);
  ASSERT_EQ(ids.kind, ColorKind::categorical);
  EXPECT_EQ(ids.classes[2], "2");
  EXPECT_EQ(ids.classes[10], "10");
  EXPECT_THROW(numeric_column(m, "kind"), InputError);
  EXPECT_EQ(numeric_column(m, "length")[1], 8.0);
}

// Thumbnails wholly behind nearer opaque ones are left out of the draw on a
// CPU device (PointStyle::cull_hidden): the picture and the ids stay the same
// to the bit, in 2D (equal depths: the later drawn is on top) and in a rotated
// perspective view, with per-point sizes, translucent and highlighted points,
// points off screen and random sub-pixel positions.
TEST(Thumbnails, HiddenOnesAreLeftOutWithTheSamePicture) {
  const int W = 256, H = 192;
  const int64_t n = 3000;
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<std::array<Rgba8, 4>> quads(static_cast<size_t>(n));
  std::vector<uint32_t> colors(static_cast<size_t>(n));
  std::vector<uint8_t> sizes(static_cast<size_t>(n)), states(static_cast<size_t>(n), kNone);
  for (int64_t i = 0; i < n; ++i) {
    for (auto& c : quads[size_t(i)]) c = Rgba8{uint8_t(gen()), uint8_t(gen()), uint8_t(gen()), 255};
    colors[size_t(i)] = Rgba8{uint8_t(gen()), uint8_t(gen()), uint8_t(gen()), uint8_t(i % 17 == 0 ? 128 : 255)}.packed();
    sizes[size_t(i)] = uint8_t(40 + gen() % 90);
    if (i % 251 == 0) states[size_t(i)] = i % 2 ? kHovered : kSelected;
  }
  std::vector<uint32_t> opaque = colors;
  for (uint32_t& c : opaque) c |= 0xFF000000u;
  for (const auto& [three_d, translucent] : {std::pair{false, true}, {true, false}, {true, true}}) {
    SCOPED_TRACE(cat(three_d ? "3D perspective" : "2D orthographic", translucent ? ", some translucent" : ""));
    OffscreenRenderer r(W, H);
    r.set_draw_order(DrawOrder::shuffled, 5);
    Matrix y(n, three_d ? 3 : 2);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < y.cols(); ++j) y(i, j) = u(gen) * (j == 0 ? 1.6f : 1.0f);  // some off screen
    r.set_positions(y);
    r.set_colors(translucent ? colors : opaque);
    r.set_sizes(sizes);
    r.set_states(states);
    r.set_thumbnails(std::make_shared<QuadrantImages>(quads, 8));
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) rows[size_t(i)] = i;
    r.request_thumbnails(rows);
    Camera cam = unit_ortho(W, H);
    if (three_d) {
      cam.set_projection(Projection::perspective);
      Camera::State s = cam.state();
      s.distance = 3.0f;
      s.rotation = glm::angleAxis(0.6f, glm::normalize(glm::vec3(1.0f, 2.0f, 0.5f)));
      cam.set_state(s);
    }
    PointStyle style;
    style.background = kWhite;
    style.image_size = 0.12f;  // about 11 px at the target's depth
    style.cull_hidden = false;
    r.render(cam, style);
    ASSERT_EQ(r.thumbnail_stats().loaded, n);
    r.render(cam, style);
    EXPECT_EQ(r.thumbnail_stats().hidden, 0);
    const Image full = r.color();
    const std::vector<uint32_t> full_ids = r.ids();
    style.cull_hidden = true;
    r.render(cam, style);
    const int64_t hidden = r.thumbnail_stats().hidden;
    // Translucent thumbnails at several depths: what shows through them
    // depends on the draw order, so nothing is left out.
    if (three_d && translucent) EXPECT_EQ(hidden, 0);
    else EXPECT_GT(hidden, n / 5);
    int64_t diff = 0, id_diff = 0;
    for (size_t k = 0; k < full.pixels.size(); ++k) diff += full.pixels[k] != r.color().pixels[k];
    for (size_t k = 0; k < full_ids.size(); ++k) id_diff += full_ids[k] != r.ids()[k];
    EXPECT_EQ(diff, 0) << hidden << " hidden";
    EXPECT_EQ(id_diff, 0);
    // Every visible id is a point that was drawn: hidden ones show nowhere.
    std::set<uint32_t> shown(full_ids.begin(), full_ids.end());
    shown.erase(0u);
    EXPECT_LE(int64_t(shown.size()), n - hidden);
    if (std::getenv("PRISM_TEST_KEEP"))
      write_png(cat(std::getenv("PRISM_TEST_KEEP"), "/culled", three_d ? "3d" : "2d", translucent ? "t" : "", ".png"), r.color());
  }
}
