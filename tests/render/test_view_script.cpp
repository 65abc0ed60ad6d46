// `prism view --script` under Xvfb: search, select, neighbours in the original
// space, GPU picking by a click, isolate, screenshot and CSV export, checked
// against brute force and the screenshot's pixels.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "prism/io.hpp"
#include "prism/render/image.hpp"
#include "test_util.hpp"

using namespace prism;

namespace {

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string x;
    while (std::getline(ss, x, ',')) f.push_back(x);
    rows.push_back(f);
  }
  return rows;
}

int count_near(const render::Image& img, render::Rgba8 c, int tol) {
  int n = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const auto p = img.at(x, y);
      if (std::abs(p.r - c.r) <= tol && std::abs(p.g - c.g) <= tol && std::abs(p.b - c.b) <= tol) ++n;
    }
  return n;
}

bool have_prerequisites(std::string* why) {
  if (!std::filesystem::exists(PRISM_EXE)) return *why = "prism binary not built", false;
  if (test::run("command -v xvfb-run").code != 0) return *why = "xvfb-run not installed", false;
  return true;
}

}  // namespace

TEST(ViewScript, SearchSelectNeighboursScreenshotExport) {
  std::string why;
  if (!have_prerequisites(&why)) GTEST_SKIP() << why;
  test::TempDir dir;
  // 300 points in 16-D (three blobs); the 2-D projection is unrelated noise,
  // so neighbours can only come from the original space.
  const int n = 300, d = 16;
  test::Blobs blobs = test::make_blobs(n, d, 3, 17);
  write_npy(dir.file("x.npy"), blobs.x.data(), n, d);
  Matrix y = test::random_matrix(n, 2, 99);
  for (int i = 0; i < n; ++i) y(i, 0) *= 9.0f, y(i, 1) *= 9.0f;
  y(7, 0) = 10.0f, y(7, 1) = 10.0f;  // alone at the top-right corner
  y(8, 0) = -10.0f, y(8, 1) = -10.0f;
  write_npy(dir.file("y.npy"), y.data(), n, 2);
  std::string meta = "label\tname\n";
  for (int i = 0; i < n; ++i) meta += cat("class", blobs.labels[i], "\titem_", i, "\n");
  test::write_text(dir.file("meta.tsv"), meta);

  // Window 800x600, 2D: the fit maps [-10, 10]^2 with a 5% margin into the
  // 452 x 600 pixels right of the 348-pixel panel, so row 7 lands at
  // (400 + 174 + 10 / s, 300 - 10 / s) with s world units per pixel.
  const float half_h = std::max(10.0f, 10.0f / (452.0f / 600.0f)) * 1.05f;
  const float s = 2.0f * half_h / 600.0f;
  const int cx = int(400 + 174 + 10 / s), cy = int(300 - 10 / s);
  std::ostringstream script;
  script << "search \"item_42\" name\n"
         << "select-matches\n"
         << "export " << dir.file("sel.csv") << "\n"
         << "neighbours 5\n"
         << "wait 2\n"
         << "screenshot " << dir.file("shot.png") << "\n"
         << "select-neighbours\n"
         << "export " << dir.file("nb.csv") << "\n"
         << "click " << cx << " " << cy << "\n"
         << "export " << dir.file("click.csv") << "\n"
         << "select-box 0 0 800 600\n"
         << "isolate on\n"
         << "export " << dir.file("all.csv") << "\n"
         << "quit\n";
  test::write_text(dir.file("actions.txt"), script.str());
  const auto r = test::run(cat("xvfb-run -a -s \"-screen 0 1280x800x24\" ", PRISM_EXE, " view ", dir.file("x.npy"),
                               " --metadata ", dir.file("meta.tsv"), " --projection ", dir.file("y.npy"),
                               " --window 800x600 --script ", dir.file("actions.txt"), " 2>&1"));
  ASSERT_EQ(r.code, 0) << r.output;

  // The search found exactly item_42 and the export carries its label and coordinates.
  auto sel = read_csv(dir.file("sel.csv"));
  ASSERT_EQ(sel.size(), 2u) << r.output;
  EXPECT_EQ(sel[0], (std::vector<std::string>{"row", "label", "x", "y"}));
  EXPECT_EQ(sel[1][0], "42");
  EXPECT_EQ(sel[1][1], cat("class", blobs.labels[42]));
  EXPECT_FLOAT_EQ(std::stof(sel[1][2]), y(42, 0));
  EXPECT_FLOAT_EQ(std::stof(sel[1][3]), y(42, 1));

  // Neighbours are the 5 nearest in 16-D (brute force), not in the projection.
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  order.erase(order.begin() + 42);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return test::sq_dist(blobs.x.row(a), blobs.x.row(42), d) < test::sq_dist(blobs.x.row(b), blobs.x.row(42), d);
  });
  std::vector<int> want(order.begin(), order.begin() + 5);
  std::sort(want.begin(), want.end());
  auto nb = read_csv(dir.file("nb.csv"));
  ASSERT_EQ(nb.size(), 6u);
  std::vector<int> got;
  for (size_t i = 1; i < nb.size(); ++i) got.push_back(std::stoi(nb[i][0]));
  EXPECT_EQ(got, want);

  // Clicking at row 7's pixel picks it through the GPU id buffer.
  auto click = read_csv(dir.file("click.csv"));
  ASSERT_EQ(click.size(), 2u) << r.output;
  EXPECT_EQ(click[1][0], "7");
  // The box over the whole window selects every point.
  EXPECT_EQ(read_csv(dir.file("all.csv")).size(), size_t(n + 1));

  // The screenshot shows the selected point (orange ring) and its neighbours (blue rings).
  const render::Image shot = render::read_png(dir.file("shot.png"));
  EXPECT_EQ(shot.width, 800);
  EXPECT_EQ(shot.height, 600);
  EXPECT_GT(count_near(shot, {255, 64, 0, 255}, 8), 10);
  EXPECT_GT(count_near(shot, {0, 140, 255, 255}, 8), 20);

  // A bad script fails with a usage error naming the line, before any window opens.
  test::write_text(dir.file("bad.txt"), "search \"x\"\nfly away\n");
  const auto bad = test::run(cat(PRISM_EXE, " view ", dir.file("x.npy"), " --projection ", dir.file("y.npy"),
                                 " --script ", dir.file("bad.txt"), " 2>&1"));
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("line 2"), std::string::npos) << bad.output;
}

TEST(RenderCommand, WritesFigureWithLegendAndRejectsBadInput) {
  if (!std::filesystem::exists(PRISM_EXE)) GTEST_SKIP() << "prism binary not built";
  test::TempDir dir;
  // Two classes: "left" around x = -1, "right" around x = +1.
  const int n = 400;
  Matrix y(n, 2);
  std::string labels;
  for (int i = 0; i < n; ++i) {
    const bool right = i % 2;
    y(i, 0) = (right ? 1.0f : -1.0f) + 0.002f * float(i % 50);
    y(i, 1) = 0.01f * float(i % 37) - 0.18f;
    labels += right ? "right\n" : "left\n";
  }
  write_npy(dir.file("y.npy"), y.data(), n, 2);
  test::write_text(dir.file("labels.tsv"), labels);
  const std::string out = dir.file("fig.png");
  const auto r = test::run_prism(cat("render ", dir.file("y.npy"), " --labels ", dir.file("labels.tsv"), " --out ", out,
                                     " --size 640x360 --point-size 6 --title demo"));
  ASSERT_EQ(r.code, 0) << r.output;
  const render::Image img = render::read_png(out);
  ASSERT_EQ(img.width, 640);
  ASSERT_EQ(img.height, 360);
  // Classes keep their palette colours and sides: "left" (first seen, blue) on the left.
  const render::Rgba8 blue{31, 119, 180, 255}, orange{255, 127, 14, 255};
  auto count_in = [&](render::Rgba8 c, int x0, int x1, int y0, int y1) {
    int k = 0;
    for (int yy = y0; yy < y1; ++yy)
      for (int x = x0; x < x1; ++x) k += img.at(x, yy) == c;
    return k;
  };
  EXPECT_GT(count_in(blue, 0, 250, 0, 360), 50);
  EXPECT_EQ(count_in(blue, 300, 640, 100, 360), 0);
  EXPECT_GT(count_in(orange, 300, 640, 100, 360), 50);
  EXPECT_EQ(count_in(orange, 0, 300, 0, 360), 0);
  // The legend (top right, above the data) has both swatches.
  EXPECT_GT(count_in(blue, 540, 640, 0, 60), 3);
  EXPECT_GT(count_in(orange, 540, 640, 0, 60), 3);
  // Usage errors exit with 2 and leave no file behind.
  const std::string bad = dir.file("bad.png");
  EXPECT_EQ(test::run_prism(cat("render ", dir.file("y.npy"), " --out ", bad, " --size 640")).code, 2);
  EXPECT_EQ(test::run_prism(cat("render ", dir.file("y.npy"), " --out ", bad, " --view 3d")).code, 2);
  EXPECT_EQ(test::run_prism(cat("render ", dir.file("y.npy"), " --out ", bad, " --color-by genre")).code, 2);
  EXPECT_FALSE(std::filesystem::exists(bad));
}
