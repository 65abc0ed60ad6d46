// Figures: colours by column, class labels that never overlap, a legend, and
// the PNG written atomically; checked by pixels, not hashes.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "prism/render/colors.hpp"
#include "prism/render/figure.hpp"
#include "prism/render/text.hpp"
#include "test_util.hpp"

using namespace prism;
using namespace prism::render;

namespace {
int count_color(const Image& img, Rgba8 c, int x0, int x1, int tol = 6) {
  int n = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = x0; x < x1; ++x) {
      const Rgba8 p = img.at(x, y);
      if (std::abs(p.r - c.r) <= tol && std::abs(p.g - c.g) <= tol && std::abs(p.b - c.b) <= tol) ++n;
    }
  return n;
}
}  // namespace

TEST(Labels, NeverOverlapAndStayInView) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> ux(0, 400), uy(0, 300), uw(20, 90);
  std::vector<LabelRequest> req;
  for (int i = 0; i < 300; ++i)
    req.push_back({{ux(rng), uy(rng)}, {std::round(uw(rng)), 14.0f}, float(i % 7), i, i % 3 == 0});
  const auto placed = layout_labels(req, 400, 300, 2.0f);
  EXPECT_GT(placed.size(), 20u);
  EXPECT_LT(placed.size(), req.size());  // dense: some must be culled
  for (size_t a = 0; a < placed.size(); ++a) {
    EXPECT_GE(placed[a].box_min.x, 0);
    EXPECT_GE(placed[a].box_min.y, 0);
    EXPECT_LE(placed[a].box_max.x, 400);
    EXPECT_LE(placed[a].box_max.y, 300);
    const glm::vec2 size = placed[a].box_max - placed[a].box_min;
    EXPECT_EQ(size, req[placed[a].request].size);
    for (size_t b = a + 1; b < placed.size(); ++b)
      EXPECT_FALSE(boxes_overlap(placed[a].box_min - 2.0f, placed[a].box_max + 2.0f, placed[b].box_min,
                                 placed[b].box_max))
          << a << " " << b;
  }
  // Higher priority wins a conflict; an unopposed label sits right of its anchor.
  std::vector<LabelRequest> two = {{{100, 100}, {50, 10}, 1.0f, 0, true}, {{100, 100}, {50, 10}, 5.0f, 1, true}};
  auto p2 = layout_labels(two, 400, 300);
  ASSERT_GE(p2.size(), 1u);
  EXPECT_EQ(p2[0].request, 1);
  EXPECT_EQ(p2[0].box_min, glm::vec2(75, 95));
  auto p1 = layout_labels({{{10, 50}, {30, 10}, 0.0f, 0, false}}, 400, 300);
  ASSERT_EQ(p1.size(), 1u);
  EXPECT_EQ(p1[0].box_min, glm::vec2(16, 45));
}

TEST(Text, FontMeasuresAndDraws) {
  Font font(16.0f);
  const glm::vec2 s = font.measure("Trouser");
  EXPECT_GT(s.x, 30);
  EXPECT_LT(s.x, 90);
  EXPECT_GE(s.y, 16);
  EXPECT_GT(font.measure("WWWW").x, font.measure("iiii").x);
  Image img(100, 30, {255, 255, 255, 255});
  font.draw(img, 2, 2, "Ankle boot", {0, 0, 0, 255});
  const int dark = count_color(img, {0, 0, 0, 255}, 0, 100, 60);
  EXPECT_GT(dark, 40);
  // Nothing drawn right of the measured width.
  const int w = int(font.measure("Ankle boot").x) + 3;
  EXPECT_EQ(count_color(img, {255, 255, 255, 255}, w, 100, 0), (100 - w) * 30);
  EXPECT_THROW(Font(12.0f, "/nonexistent.ttf"), InputError);
}

TEST(Colors, ByColumnPicksPaletteOrColourMap) {
  Metadata m;
  m.add("label", {"cat", "dog", "cat", "bird"}, true);
  std::vector<std::string> nums;
  for (int i = 0; i < 4; ++i) nums.push_back(std::to_string(i * 2.5));
  m.add("score", nums);
  const PointColors lab = colors_by_column(m, "", 4);
  EXPECT_EQ(lab.kind, ColorKind::categorical);
  EXPECT_EQ(lab.classes, (std::vector<std::string>{"cat", "dog", "bird"}));
  EXPECT_EQ(lab.packed[0], lab.packed[2]);
  EXPECT_NE(lab.packed[0], lab.packed[1]);
  // Few distinct numbers are still classes; many become a colour map.
  EXPECT_EQ(colors_by_column(m, "score", 4).kind, ColorKind::categorical);
  const PointColors sc = colors_by_column(m, "score", 4, 2);
  EXPECT_EQ(sc.kind, ColorKind::continuous);
  EXPECT_DOUBLE_EQ(sc.max, 7.5);
  EXPECT_EQ(sc.packed[0], viridis(0.0f).packed());
  EXPECT_EQ(sc.packed[3], viridis(1.0f).packed());
  EXPECT_THROW(colors_by_column(m, "nope", 4), InputError);
  EXPECT_THROW(colors_by_column(m, "label", 5), InputError);
  // Palette colours stay distinct well past ten classes.
  for (int i = 0; i < 40; ++i)
    for (int j = i + 1; j < 40; ++j) EXPECT_NE(categorical_color(i), categorical_color(j));
}

TEST(Figure, ClustersLegendAndAtomicPng) {
  // Three tight clusters at known places, one class each.
  const int per = 200;
  Matrix y(3 * per, 2);
  std::vector<std::string> labels;
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 0.05f);
  const float cx[3] = {-1.0f, 1.0f, 0.0f}, cy[3] = {-1.0f, -1.0f, 1.0f};
  const char* names[3] = {"alpha", "beta", "gamma"};
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < per; ++i) {
      y(c * per + i, 0) = cx[c] + g(rng);
      y(c * per + i, 1) = cy[c] + g(rng);
      labels.push_back(names[c]);
    }
  Metadata meta;
  meta.add("class", labels, true);
  FigureOptions o;
  o.width = 480;
  o.height = 320;
  o.title = "test figure";
  const Image img = render_figure_image(y, &meta, o);
  // PRISM_TEST_KEEP=folder keeps the figures for a person to look at.
  if (std::getenv("PRISM_TEST_KEEP")) write_png(std::string(std::getenv("PRISM_TEST_KEEP")) + "/figure2d.png", img);
  ASSERT_EQ(img.width, 480);
  ASSERT_EQ(img.height, 320);
  // The legend sits in the right part; every class colour appears left of it (points)
  // and inside it (swatches).
  for (int c = 0; c < 3; ++c) {
    EXPECT_GT(count_color(img, categorical_color(c), 0, 375), 100) << c;
    EXPECT_GT(count_color(img, categorical_color(c), 380, 480), 5) << c;
  }
  // "gamma" (top cluster) is above "alpha"/"beta" (bottom clusters) on screen.
  auto mean_y = [&](Rgba8 c) {
    double s = 0;
    int n = 0;
    for (int yy = 0; yy < img.height; ++yy)
      for (int x = 0; x < 375; ++x)
        if (img.at(x, yy) == c) s += yy, ++n;
    return n ? s / n : -1.0;
  };
  EXPECT_LT(mean_y(categorical_color(2)), mean_y(categorical_color(0)));
  // Writing: the PNG reads back identical and no temporary file is left.
  test::TempDir dir;
  const std::string path = dir.file("fig.png");
  render_figure(y, &meta, o, path);
  const Image back = read_png(path);
  EXPECT_EQ(back.width, 480);
  EXPECT_EQ(back.pixels, img.pixels);
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) (void)e, ++files;
  EXPECT_EQ(files, 1);
  EXPECT_THROW(render_figure(y, &meta, o, dir.file("missing/fig.png")), InputError);
  // 3D view of 3-column data, coloured by a numeric column.
  Matrix y3(3 * per, 3, 0.0f);
  std::vector<std::string> value;
  for (int i = 0; i < 3 * per; ++i) {
    y3(i, 0) = y(i, 0), y3(i, 1) = y(i, 1), y3(i, 2) = float(i % 7) * 0.1f;
    value.push_back(std::to_string(i));
  }
  meta.add("value", value);
  o.color_by = "value";
  const Image img3 = render_figure_image(y3, &meta, o);
  if (std::getenv("PRISM_TEST_KEEP")) write_png(std::string(std::getenv("PRISM_TEST_KEEP")) + "/figure3d.png", img3);
  EXPECT_GT(count_color(img3, viridis(1.0f), 0, 480, 10), 5);  // colour bar top / late points
  o.color_by = "nope";
  EXPECT_THROW(render_figure_image(y3, &meta, o), InputError);
  // Out-of-range options are refused here, for the command and Python alike.
  o.color_by = "value";
  FigureOptions bad = o;
  bad.zoom = 0;
  EXPECT_THROW(render_figure_image(y3, &meta, bad), InputError);
  bad = o;
  bad.alpha = 1.5f;
  EXPECT_THROW(render_figure_image(y3, &meta, bad), InputError);
  bad = o;
  bad.point_size = -1;
  EXPECT_THROW(render_figure_image(y3, &meta, bad), InputError);
  int w = 0, h = 0;
  parse_size("1920x1080", &w, &h);
  EXPECT_EQ(w, 1920);
  EXPECT_EQ(h, 1080);
  EXPECT_THROW(parse_size("1920", &w, &h), InputError);
  EXPECT_THROW(parse_size("0x10", &w, &h), InputError);
}
