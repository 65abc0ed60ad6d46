// `prism view --script` under Xvfb on the issue's checks: --color-by from the
// command line for every kind of column (palette and legend, viridis and a
// colour bar, one colour with the reason), a legend entry clicked with the
// script's mouse isolating its class, on-screen point labels (beside their
// points, never overlapping, the count limit, nearest first and on their
// points while the 3D view turns), the hover tooltip with every column, the
// neighbour metric following the projection, the reduction options of
// `prism reduce`, and thumbnails of a small IDX set in the view and in
// `prism render --images`. Each reads the screenshot's pixels and the
// viewer's own account (export-state, export-labels).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "prism/io.hpp"
#include "prism/render/image.hpp"
#include "test_util.hpp"

using namespace prism;
using nlohmann::json;

namespace {

bool have_prerequisites(std::string* why) {
  if (!std::filesystem::exists(PRISM_EXE)) return *why = "prism binary not built", false;
  if (test::run("command -v xvfb-run").code != 0) return *why = "xvfb-run not installed", false;
  return true;
}

#define REQUIRE_VIEWER()                                  \
  do {                                                    \
    std::string why_;                                     \
    if (!have_prerequisites(&why_)) GTEST_SKIP() << why_; \
  } while (0)

// Runs `prism view ARGS --window 900x600 --script SCRIPT` under Xvfb.
test::RunResult view(test::TempDir& dir, const std::string& args, const std::string& script) {
  static int count = 0;
  const std::string path = dir.file(cat("script", ++count, ".txt"));
  test::write_text(path, script);
  return test::run(cat("timeout 180 xvfb-run -a -s \"-screen 0 1280x800x24\" ", PRISM_EXE, " view ", args,
                       " --window 900x600 --script ", path, " 2>&1"));
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string x;
    while (std::getline(ss, x, ',')) f.push_back(x);
    rows.push_back(f);
  }
  return rows;
}

bool near(render::Rgba8 p, render::Rgba8 c, int tol) {
  return std::abs(p.r - c.r) <= tol && std::abs(p.g - c.g) <= tol && std::abs(p.b - c.b) <= tol;
}

// Pixels of colour c (within tol) in [x0, x1) x [y0, y1), clipped to the image.
int count_in(const render::Image& img, render::Rgba8 c, int tol, int x0, int y0, int x1, int y1) {
  int n = 0;
  for (int y = std::max(y0, 0); y < std::min(y1, img.height); ++y)
    for (int x = std::max(x0, 0); x < std::min(x1, img.width); ++x) n += near(img.at(x, y), c, tol);
  return n;
}
int count_all(const render::Image& img, render::Rgba8 c, int tol) {
  return count_in(img, c, tol, 0, 0, img.width, img.height);
}

constexpr render::Rgba8 kBlue{31, 119, 180, 255}, kOrange{255, 127, 14, 255}, kGreen{44, 160, 44, 255};
constexpr render::Rgba8 kViridis0{68, 1, 84, 255}, kViridis1{253, 231, 37, 255};

// A word set in miniature: 8-D vectors (not unit length) and the four
// columns of the issue's word file: word (all distinct), initial, length
// (40 distinct numbers), kind (noun 120, verb 80, adjective 40). The
// projection puts each kind in its own blob.
struct Words {
  int n = 240;
  std::string x, y, meta;
};
Words make_words(test::TempDir& dir) {
  Words w;
  Matrix x = test::random_matrix(w.n, 8, 3);
  for (int i = 0; i < w.n; ++i) x(i, 0) += 3.0f;  // far from unit length
  Matrix y(w.n, 2);
  std::string meta = "word\tinitial\tlength\tkind\n";
  const Matrix jitter = test::random_matrix(w.n, 2, 5);
  for (int i = 0; i < w.n; ++i) {
    const int k = i < 120 ? 0 : i < 200 ? 1 : 2;
    y(i, 0) = float(k * 4) + jitter(i, 0);
    y(i, 1) = float(k % 2 * 3) + jitter(i, 1);
    if (i == 239) y(i, 0) = 10.0f, y(i, 1) = -3.0f;  // alone, for the hover
    const std::string word = cat(char('a' + i % 26), "word", i);
    meta += cat(word, "\t", word[0], "\t", 1 + i % 40, "\t", k == 0 ? "noun" : k == 1 ? "verb" : "adjective", "\n");
  }
  w.x = dir.file("words.npy");
  w.y = dir.file("words_y.npy");
  w.meta = dir.file("words.tsv");
  write_npy(w.x, x.data(), w.n, 8);
  write_npy(w.y, y.data(), w.n, 2);
  test::write_text(w.meta, meta);
  return w;
}

std::string words_args(const Words& w) { return cat(w.x, " --metadata ", w.meta, " --projection ", w.y); }

}  // namespace

// The issue's first bug: --color-by failed at start-up ("got 240 colours for
// 0 points") for every column. Each kind of column now starts and shows what
// its colours mean.
TEST(ViewSession, ColorByAtStartUpForEveryKindOfColumn) {
  REQUIRE_VIEWER();
  test::TempDir dir;
  const Words w = make_words(dir);
  const std::string script = cat("wait 2\nexport-state ", dir.file("state.json"), "\nscreenshot ", dir.file("shot.png"),
                                 "\nquit\n");
  // kind: three classes, Tableau colours on the points and in the legend.
  {
    const auto r = view(dir, words_args(w) + " --color-by kind", script);
    ASSERT_EQ(r.code, 0) << r.output;
    const json s = read_json(dir.file("state.json"));
    EXPECT_EQ(s["colour"]["kind"], "categorical");
    EXPECT_EQ(s["colour"]["classes"], json({"noun", "verb", "adjective"}));
    EXPECT_EQ(s["colour"]["counts"], json({120, 80, 40}));
    ASSERT_EQ(s["legend"].size(), 3u);
    const render::Image img = render::read_png(dir.file("shot.png"));
    for (const render::Rgba8 c : {kBlue, kOrange, kGreen}) EXPECT_GT(count_all(img, c, 6), 40);
    // The legend's swatches sit left of its entries (top right of the window).
    for (size_t i = 0; i < 3; ++i) {
      const json b = s["legend"][i]["box"];
      const int x0 = b[0].get<int>() - 24, y0 = b[1].get<int>(), y1 = b[3].get<int>();
      EXPECT_GT(x0, 600);
      EXPECT_GT(count_in(img, i == 0 ? kBlue : i == 1 ? kOrange : kGreen, 6, x0, y0, x0 + 24, y1), 20) << i;
    }
  }
  // length: 40 distinct numbers, viridis on the points and a colour bar.
  {
    const auto r = view(dir, words_args(w) + " --color-by length", script);
    ASSERT_EQ(r.code, 0) << r.output;
    const json s = read_json(dir.file("state.json"));
    EXPECT_EQ(s["colour"]["kind"], "continuous");
    EXPECT_EQ(s["colour"]["min"], 1);
    EXPECT_EQ(s["colour"]["max"], 40);
    const render::Image img = render::read_png(dir.file("shot.png"));
    // The bar, top right: yellow (the maximum) at the top, purple at the bottom.
    ASSERT_TRUE(s["colour_bar"].is_array()) << s.dump();
    const json b = s["colour_bar"];
    const int cx = int(0.5f * (b[0].get<float>() + b[2].get<float>()));
    const int top = b[1].get<int>() + 1, bottom = b[3].get<int>() - 2, mid = (top + bottom) / 2;
    EXPECT_GT(cx, 650);
    EXPECT_GT(b[3].get<float>() - b[1].get<float>(), 100.0f);
    EXPECT_TRUE(near(img.at(cx, top), kViridis1, 14)) << int(img.at(cx, top).r) << "," << int(img.at(cx, top).g);
    EXPECT_TRUE(near(img.at(cx, bottom), kViridis0, 14)) << int(img.at(cx, bottom).r);
    EXPECT_TRUE(near(img.at(cx, mid), {33, 145, 140, 255}, 16)) << int(img.at(cx, mid).g);
    // And the points: both ends of the map appear among them.
    EXPECT_GT(count_in(img, kViridis0, 14, 348, 0, b[0].get<int>() - 10, 600), 10);
    EXPECT_EQ(count_all(img, kOrange, 6), 0);
  }
  // word: every value distinct: one colour, the reason in the state and on stderr.
  {
    const auto r = view(dir, words_args(w) + " --color-by word", script);
    ASSERT_EQ(r.code, 0) << r.output;
    const json s = read_json(dir.file("state.json"));
    EXPECT_EQ(s["colour"]["kind"], "uniform");
    EXPECT_NE(s["colour"]["note"].get<std::string>().find("240 distinct values"), std::string::npos) << s.dump();
    EXPECT_NE(r.output.find("240 distinct values"), std::string::npos) << r.output;
    EXPECT_TRUE(s["legend"].empty());
    const render::Image img = render::read_png(dir.file("shot.png"));
    EXPECT_GT(count_all(img, kBlue, 6), 100);
    EXPECT_EQ(count_all(img, kOrange, 6) + count_all(img, kGreen, 6), 0);
  }
  // initial: 26 values, of which the 19 most frequent get colours and the rest "(other)".
  {
    const auto r = view(dir, words_args(w) + " --color-by initial", script);
    ASSERT_EQ(r.code, 0) << r.output;
    const json s = read_json(dir.file("state.json"));
    EXPECT_EQ(s["colour"]["kind"], "categorical");
    EXPECT_EQ(s["colour"]["classes"].size(), 20u);
  }
  // Sizes need numbers: a column of words is refused before any window.
  const auto words_size = test::run_prism(cat("view ", words_args(w), " --size-by kind --script ", dir.file("script1.txt")));
  EXPECT_EQ(words_size.code, 2) << words_size.output;
  EXPECT_NE(words_size.output.find("not numeric"), std::string::npos) << words_size.output;
  // An unknown column is a usage error naming the columns, before any window.
  const auto bad = test::run_prism(cat("view ", words_args(w), " --color-by genre --script ", dir.file("script1.txt")));
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("word, initial, length, kind"), std::string::npos) << bad.output;
}

// Clicking a legend entry (the script's mouse through ImGui, as a person
// clicks) isolates that class: the other classes fade; Shift+click adds one;
// clicking the only focused class again shows all.
TEST(ViewSession, LegendClickIsolatesAClass) {
  REQUIRE_VIEWER();
  test::TempDir dir;
  const Words w = make_words(dir);
  const auto state = [&](int i) { return dir.file(cat("state", i, ".json")); };
  const auto r = view(dir, words_args(w) + " --color-by kind",
                      cat("wait 2\nlegend-click verb\nexport-state ", state(1), "\nscreenshot ", dir.file("verb.png"),
                          "\nlegend-click adjective shift\nexport-state ", state(2), "\nlegend-click verb\nexport-state ",
                          state(3), "\nlegend-click verb\nexport-state ", state(4), "\nscreenshot ",
                          dir.file("all.png"), "\nquit\n"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_json(state(1))["colour"]["focused"], json({"verb"}));
  EXPECT_EQ(read_json(state(2))["colour"]["focused"], json({"verb", "adjective"}));
  EXPECT_EQ(read_json(state(3))["colour"]["focused"], json({"verb"}));
  EXPECT_TRUE(read_json(state(4))["colour"]["focused"].empty());
  // Isolated: the verbs keep their orange; nouns and adjectives fade (the
  // legend's own swatches, right of x = 600, keep their colours).
  const render::Image iso = render::read_png(dir.file("verb.png"));
  const render::Image all = render::read_png(dir.file("all.png"));
  const json lb = read_json(state(1))["legend_box"];
  ASSERT_TRUE(lb.is_array());
  // Points only: right of the panel, outside the legend.
  auto points_of = [&](const render::Image& img, render::Rgba8 c) {
    return count_in(img, c, 6, 348, 0, 900, 600) -
           count_in(img, c, 6, lb[0].get<int>(), lb[1].get<int>(), lb[2].get<int>() + 1, lb[3].get<int>() + 1);
  };
  EXPECT_GT(points_of(iso, kOrange), 40);
  EXPECT_EQ(points_of(iso, kBlue), 0);
  EXPECT_EQ(points_of(iso, kGreen), 0);
  for (const render::Rgba8 c : {kBlue, kOrange, kGreen}) EXPECT_GT(points_of(all, c), 40);
}

// Labels: on a 6 x 6 grid of separate points (plus a dense clump that never
// separates), every grid point that has room gets its word beside it, no two
// labels overlap, the clump gets none, the count limit holds, and the toggle
// turns them off. In 3D, turned, the labels sit on their points as drawn,
// nearest the camera first.
TEST(ViewSession, PointLabelsBesideTheirPointsWithoutOverlap) {
  REQUIRE_VIEWER();
  test::TempDir dir;
  const int grid = 36, clump = 200, n = grid + clump;
  Matrix x = test::random_matrix(n, 4, 1);
  write_npy(dir.file("x.npy"), x.data(), n, 4);
  Matrix y2(n, 2), y3(n, 3);
  const Matrix jitter = test::random_matrix(n, 3, 2);
  std::string meta = "word\n";
  for (int i = 0; i < n; ++i) {
    const bool g = i < grid;
    y2(i, 0) = g ? float(i % 6) * 2.0f : 5.0f + 0.01f * jitter(i, 0);
    y2(i, 1) = g ? float(i / 6) * 2.0f : 5.0f + 0.01f * jitter(i, 1);
    y3(i, 0) = y2(i, 0), y3(i, 1) = y2(i, 1), y3(i, 2) = g ? 3.0f * jitter(i, 2) : 0.0f;
    meta += g ? cat("g", i, "\n") : cat("clump", i, "\n");
  }
  write_npy(dir.file("y2.npy"), y2.data(), n, 2);
  write_npy(dir.file("y3.npy"), y3.data(), n, 3);
  test::write_text(dir.file("meta.tsv"), meta);
  const std::string data = cat(dir.file("x.npy"), " --metadata ", dir.file("meta.tsv"));

  auto overlaps = [](const std::vector<std::vector<std::string>>& rows) {
    int bad = 0;
    for (size_t i = 0; i < rows.size(); ++i)
      for (size_t j = i + 1; j < rows.size(); ++j) {
        const auto& a = rows[i];
        const auto& b = rows[j];
        if (std::stof(a[2]) < std::stof(b[4]) && std::stof(b[2]) < std::stof(a[4]) && std::stof(a[3]) < std::stof(b[5]) &&
            std::stof(b[3]) < std::stof(a[5]))
          ++bad;
      }
    return bad;
  };
  {
    const auto r = view(dir, cat(data, " --projection ", dir.file("y2.npy"), " --point-size 8"),
                        cat("wait 3\nexport-labels ", dir.file("a.csv"), "\nscreenshot ", dir.file("labels.png"),
                            "\nlabels on 7\nwait 2\nexport-labels ", dir.file("b.csv"),
                            "\nlabels off\nwait 2\nexport-labels ", dir.file("c.csv"), "\nquit\n"));
    ASSERT_EQ(r.code, 0) << r.output;
    const auto a = read_csv(dir.file("a.csv"));
    const render::Image img = render::read_png(dir.file("labels.png"));
    int points = 0;
    bool row0 = false;
    for (const auto& l : a) {
      ASSERT_EQ(l.size(), 10u);
      if (l[8] != "point") continue;
      ++points;
      const int row = std::stoi(l[0]);
      EXPECT_LT(row, grid) << "a clump point got a label: " << l[1];
      EXPECT_EQ(l[1], cat("g", row));
      // Beside its point: the anchor within 12 px of the box, and the point drawn at the anchor.
      const float ax = std::stof(l[6]), ay = std::stof(l[7]);
      EXPECT_LT(std::max({std::stof(l[2]) - ax, ax - std::stof(l[4]), std::stof(l[3]) - ay, ay - std::stof(l[5])}), 12.0f);
      EXPECT_GT(count_in(img, kBlue, 10, int(ax) - 1, int(ay) - 1, int(ax) + 2, int(ay) + 2), 0) << l[1];
      if (row == 0) {
        row0 = true;
        // Text pixels (dark ink) inside the label's box.
        int ink = 0;
        for (int yy = int(std::stof(l[3])); yy < int(std::stof(l[5])); ++yy)
          for (int xx = int(std::stof(l[2])); xx < int(std::stof(l[4])); ++xx) ink += img.at(xx, yy).r < 110;
        EXPECT_GT(ink, 8);
      }
    }
    EXPECT_GE(points, 24) << "of 36 grid points";
    EXPECT_TRUE(row0) << "the bottom-left grid point has room for its label";
    EXPECT_EQ(overlaps(a), 0);
    const auto b = read_csv(dir.file("b.csv"));
    int limited = 0;
    for (const auto& l : b) limited += l[8] == "point";
    EXPECT_GE(limited, 1);
    EXPECT_LE(limited, 7);
    int off = 0;
    for (const auto& l : read_csv(dir.file("c.csv"))) off += l[8] == "point";
    EXPECT_EQ(off, 0);
  }
  {
    const auto r = view(dir, cat(data, " --projection ", dir.file("y3.npy"), " --point-size 8"),
                        cat("wait 2\nspin 3 10 1\nwait-rest\nexport-labels ", dir.file("d.csv"), "\nscreenshot ",
                            dir.file("labels3d.png"), "\nquit\n"));
    ASSERT_EQ(r.code, 0) << r.output;
    const auto d = read_csv(dir.file("d.csv"));
    const render::Image img = render::read_png(dir.file("labels3d.png"));
    EXPECT_EQ(overlaps(d), 0);
    float last_depth = 0;
    int points = 0, on_point = 0;
    for (const auto& l : d) {
      if (l[8] != "point") continue;
      ++points;
      const float depth = std::stof(l[9]);
      EXPECT_GE(depth, last_depth) << "labels are placed nearest the camera first";
      last_depth = depth;
      const float ax = std::stof(l[6]), ay = std::stof(l[7]);
      on_point += count_in(img, kBlue, 16, int(ax) - 1, int(ay) - 1, int(ax) + 2, int(ay) + 2) > 0;
    }
    EXPECT_GE(points, 15);
    EXPECT_GE(on_point, points - 2) << "labels follow their points after the turn";
  }
}

// Hovering a point shows its metadata, every column, in a box beside it.
TEST(ViewSession, HoverTooltipShowsEveryColumn) {
  REQUIRE_VIEWER();
  test::TempDir dir;
  const Words w = make_words(dir);
  const auto r = view(dir, words_args(w) + " --color-by kind --size-by length",
                      cat("look-at 239 2\nwait 2\nhover 450 300\nwait 2\nexport-state ", dir.file("state.json"),
                          "\nscreenshot ", dir.file("shot.png"), "\nquit\n"));
  ASSERT_EQ(r.code, 0) << r.output;
  const json s = read_json(dir.file("state.json"));
  EXPECT_EQ(s["hovered"], 239);
  EXPECT_EQ(s["size_by"], "length");
  ASSERT_TRUE(s.contains("tooltip")) << s.dump();
  EXPECT_EQ(s["tooltip"]["fields"], json({{"word", "fword239"}, {"initial", "f"}, {"length", "40"}, {"kind", "adjective"}}));
  const json b = s["tooltip"]["box"];
  EXPECT_LT(std::abs(b[0].get<float>() - 450.0f), 40.0f);
  EXPECT_LT(std::abs(b[1].get<float>() - 300.0f), 40.0f);
  const render::Image img = render::read_png(dir.file("shot.png"));
  int dark = 0, area = 0;
  for (int y = b[1].get<int>(); y < b[3].get<int>(); ++y)
    for (int x = b[0].get<int>(); x < b[2].get<int>(); ++x) dark += img.at(x, y).r < 60, ++area;
  EXPECT_GT(area, 2000);
  EXPECT_GT(dark, area / 2) << "the tooltip's window is drawn";
}

// Neighbours are searched by the projection's metric: --metric when given,
// the run summary beside the projection, cosine for unit-normalised rows, and
// euclidean otherwise, each saying why; and the results are that metric's.
TEST(ViewSession, NeighbourMetricFollowsTheProjection) {
  REQUIRE_VIEWER();
  test::TempDir dir;
  const int n = 200, d = 6;
  // Rows of very different lengths: cosine and euclidean neighbours differ.
  Matrix x = test::random_matrix(n, d, 11);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) x(i, j) *= float(1 + i % 7);
  Matrix unit = x;
  for (int i = 0; i < n; ++i) {
    double s = 0;
    for (int j = 0; j < d; ++j) s += double(x(i, j)) * x(i, j);
    for (int j = 0; j < d; ++j) unit(i, j) = float(x(i, j) / std::sqrt(s));
  }
  write_npy(dir.file("x.npy"), x.data(), n, d);
  write_npy(dir.file("unit.npy"), unit.data(), n, d);
  const Matrix y = test::random_matrix(n, 2, 12);
  write_npy(dir.file("y.npy"), y.data(), n, 2);
  write_npy(dir.file("p.npy"), y.data(), n, 2);
  test::write_text(dir.file("p.json"), R"({"params": {"method": "umap", "metric": "cosine"}})");
  const std::string script = cat("select 3\nneighbours 5\nexport-neighbours ", dir.file("nb.csv"), "\nexport-state ",
                                 dir.file("state.json"), "\nquit\n");
  auto metric_of = [&](const std::string& args) {
    const auto r = view(dir, args, script);
    EXPECT_EQ(r.code, 0) << r.output;
    return read_json(dir.file("state.json"))["metric"];
  };
  json m = metric_of(cat(dir.file("x.npy"), " --projection ", dir.file("y.npy")));
  EXPECT_EQ(m["name"], "euclidean");
  EXPECT_NE(m["reason"].get<std::string>().find("not unit-normalised"), std::string::npos) << m.dump();
  std::vector<std::string> euclid;
  for (const auto& row : read_csv(dir.file("nb.csv"))) euclid.push_back(row[0]);
  m = metric_of(cat(dir.file("unit.npy"), " --projection ", dir.file("y.npy")));
  EXPECT_EQ(m["name"], "cosine");
  EXPECT_NE(m["reason"].get<std::string>().find("unit-normalised"), std::string::npos) << m.dump();
  m = metric_of(cat(dir.file("x.npy"), " --projection ", dir.file("p.npy")));
  EXPECT_EQ(m["name"], "cosine");
  EXPECT_NE(m["reason"].get<std::string>().find("p.json"), std::string::npos) << m.dump();
  m = metric_of(cat(dir.file("x.npy"), " --projection ", dir.file("y.npy"), " --metric cosine"));
  EXPECT_EQ(m["name"], "cosine");
  EXPECT_EQ(m["reason"], "--metric cosine");
  // The 5 cosine neighbours of row 3 by brute force, and they are not the euclidean ones.
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  order.erase(order.begin() + 3);
  auto cosd = [&](int a) {
    double dot = 0;
    for (int j = 0; j < d; ++j) dot += double(unit(a, j)) * unit(3, j);
    return 1.0 - dot;
  };
  std::sort(order.begin(), order.end(), [&](int a, int b) { return cosd(a) < cosd(b); });
  std::vector<std::string> want, got;
  for (int i = 0; i < 5; ++i) want.push_back(std::to_string(order[size_t(i)]));
  for (const auto& row : read_csv(dir.file("nb.csv"))) {
    got.push_back(row[0]);
    EXPECT_EQ(row[3], "cosine");
  }
  EXPECT_EQ(got, want);
  EXPECT_NE(got, euclid);
}

// `prism view` takes `prism reduce`'s options: t-SNE with a perplexity runs
// live; bad values fail before a window opens.
TEST(ViewSession, ReductionOptionsOfReduce) {
  REQUIRE_VIEWER();
  test::TempDir dir;
  const test::Blobs b = test::make_blobs(150, 10, 3, 4);
  write_npy(dir.file("x.npy"), b.x.data(), 150, 10);
  const auto r = view(dir, cat(dir.file("x.npy"), " --method tsne --perplexity 12 --max-iter 300 --seed 1"),
                      cat("wait-run\nwait 2\nfit\nwait 2\nselect-box 0 0 900 600\nexport ", dir.file("all.csv"), "\nquit\n"));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto rows = read_csv(dir.file("all.csv"));
  ASSERT_EQ(rows.size(), 150u) << "every point of the finished t-SNE is on screen";
  float spread = 0;
  for (const auto& row : rows) spread = std::max(spread, std::abs(std::stof(row[2])));
  EXPECT_GT(spread, 1.0f);
  const auto bad = test::run_prism(cat("view ", dir.file("x.npy"), " --method tsne --perplexity -3"));
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("perplexity"), std::string::npos) << bad.output;
}

// Thumbnails in place of dots for a small IDX set (the format of MNIST and
// Fashion-MNIST): zoomed in, each point shows its own image, in the viewer
// and in `prism render --images`.
TEST(ViewSession, ThumbnailsOfAnIdxSetAtTheirPoints) {
  REQUIRE_VIEWER();
  test::TempDir dir;
  // 16 images of 28 x 28: image i is black with a white square of side
  // 4 + 3 (i % 8) at its top-left corner.
  const int n = 16;
  std::string images(16 + size_t(n) * 784, '\0'), labels(8 + size_t(n), '\0');
  auto be32 = [](std::string& s, size_t at, uint32_t v) {
    for (int k = 0; k < 4; ++k) s[at + size_t(k)] = char((v >> (24 - 8 * k)) & 255);
  };
  be32(images, 0, 0x803), be32(images, 4, n), be32(images, 8, 28), be32(images, 12, 28);
  be32(labels, 0, 0x801), be32(labels, 4, n);
  for (int i = 0; i < n; ++i) {
    labels[8 + size_t(i)] = char(i % 4);
    const int side = 4 + 3 * (i % 8);
    for (int yy = 0; yy < side; ++yy)
      for (int xx = 0; xx < side; ++xx) images[16 + size_t(i) * 784 + size_t(yy) * 28 + size_t(xx)] = char(255);
  }
  test::write_text(dir.file("tiny-images-idx3-ubyte"), images);
  test::write_text(dir.file("tiny-labels-idx1-ubyte"), labels);
  Matrix y(n, 2);
  for (int i = 0; i < n; ++i) y(i, 0) = float(i % 4), y(i, 1) = float(i / 4);
  write_npy(dir.file("y.npy"), y.data(), n, 2);
  const auto r = view(dir, cat(dir.file("tiny-images-idx3-ubyte"), " --projection ", dir.file("y.npy")),
                      cat("look-at 5 1\nimages on 0.5\nwait 4\nwait-rest\nscreenshot ", dir.file("shot.png"), "\nquit\n"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("thumbnails: pixels of the vectors, 28x28"), std::string::npos) << r.output;
  // Row 5 sits at the window's centre, about 90 px wide: a black square
  // whose top-left 19/28 is white (its neighbours' are 16/28 and 22/28).
  const render::Image img = render::read_png(dir.file("shot.png"));
  int x0 = 900, y0 = 600, x1 = -1, y1 = -1, wx0 = 900, wy0 = 600, wx1 = -1, wy1 = -1, black = 0;
  for (int yy = 220; yy < 380; ++yy)
    for (int xx = 370; xx < 530; ++xx) {
      const auto p = img.at(xx, yy);
      const bool w = near(p, {255, 255, 255, 255}, 4), b = near(p, {0, 0, 0, 255}, 12);
      black += b;
      if (w || b) x0 = std::min(x0, xx), y0 = std::min(y0, yy), x1 = std::max(x1, xx), y1 = std::max(y1, yy);
      if (w) wx0 = std::min(wx0, xx), wy0 = std::min(wy0, yy), wx1 = std::max(wx1, xx), wy1 = std::max(wy1, yy);
    }
  ASSERT_GT(black, 800) << "the thumbnail's black background";
  EXPECT_NEAR(0.5 * (x0 + x1), 450, 4);
  EXPECT_NEAR(0.5 * (y0 + y1), 300, 4);
  EXPECT_GT(x1 - x0, 60);
  EXPECT_LE(std::abs(wx0 - x0), 2);  // the white corner at the top-left, as in the image
  EXPECT_LE(std::abs(wy0 - y0), 2);
  EXPECT_NEAR(double(wx1 - wx0 + 1) / (x1 - x0 + 1), 19.0 / 28.0, 0.05);
  EXPECT_NEAR(double(wy1 - wy0 + 1) / (y1 - y0 + 1), 19.0 / 28.0, 0.05);
  // The same images in a PNG figure.
  const auto fig = test::run_prism(cat("render ", dir.file("y.npy"), " --images ", dir.file("tiny-images-idx3-ubyte"),
                                       " --image-size 40 --size 400x400 --out ", dir.file("fig.png")));
  ASSERT_EQ(fig.code, 0) << fig.output;
  const render::Image f = render::read_png(dir.file("fig.png"));
  EXPECT_GT(count_all(f, {0, 0, 0, 255}, 12), 16 * 400);
  const auto bad = test::run_prism(cat("render ", dir.file("y.npy"), " --images ", dir.file("none.png"),
                                       " --out ", dir.file("bad.png")));
  EXPECT_EQ(bad.code, 2) << bad.output;
}

// A resting frame without thumbnails is drawn by the compute rasteriser (ids
// in draw order, which is shuffled) with the highlighted points drawn again
// as sprites on top: a click after the camera rests picks the row drawn
// there, and the hovered point keeps its own colour inside its dark ring;
// the same when the frame fills in over several chunks (--rest-chunk).
TEST(ViewSession, RestFrameByTheComputeRasteriserPicksRows) {
  REQUIRE_VIEWER();
  test::TempDir dir;
  constexpr int side = 150, n = side * side, target = 12345;
  Matrix y(n, 2);
  for (int i = 0; i < n; ++i) y(i, 0) = float(i % side), y(i, 1) = float(i / side);
  write_npy(dir.file("x.npy"), y.data(), n, 2);
  write_npy(dir.file("y.npy"), y.data(), n, 2);
  int whole_dots = 0;
  for (const int chunk : {0, 4000}) {
    SCOPED_TRACE(cat("--rest-chunk ", chunk));
    const auto r = view(dir, cat(dir.file("x.npy"), " --projection ", dir.file("y.npy"), " --point-size 4 --rest-chunk ", chunk),
                        cat("look-at ", target, " 12\nwait-rest\nclick 450 300\nwait-rest\nframe-stats ",
                            dir.file("stats.json"), "\nscreenshot ", dir.file("shot.png"), "\nexport ",
                            dir.file("sel.csv"), "\nquit\n"));
    ASSERT_EQ(r.code, 0) << r.output;
    const json stats = read_json(dir.file("stats.json"));
    if (stats["rasterizer"] != "compute") GTEST_SKIP() << "this device has no 64-bit atomics: " << stats.dump();
    if (chunk > 0) EXPECT_GE(stats["rest"]["frames"].get<int>(), n / chunk) << stats.dump();
    EXPECT_NE(r.output.find(cat("click: row ", target, "\n")), std::string::npos) << r.output;
    const auto sel = read_csv(dir.file("sel.csv"));
    ASSERT_EQ(sel.size(), 1u) << r.output;
    EXPECT_EQ(sel[0][0], std::to_string(target));
    const render::Image img = render::read_png(dir.file("shot.png"));
    const render::Rgba8 centre = img.at(450, 300);
    EXPECT_GT(int(centre.r) + centre.g + centre.b, 150) << "the hovered point keeps its colour inside the ring";
    EXPECT_LT(int(centre.r) + centre.g + centre.b, 700) << "a point is drawn at the centre";
    EXPECT_GT(count_in(img, {0, 0, 0, 255}, 40, 440, 290, 461, 311), 8) << "the hovered point's dark ring";
    // Every chunk landed: as many point pixels as the frame drawn at once.
    const int dots = count_in(img, kBlue, 40, 360, 0, 900, 600);
    if (chunk == 0) whole_dots = dots;
    else EXPECT_NEAR(dots, whole_dots, whole_dots / 20 + 5);
    EXPECT_GT(dots, 200);
  }
}

// A moving frame that the budget let draw every point goes through the
// compute rasteriser too; its cost must still bring the budget down (it once
// stuck above the point count, and a 70k set turned at every point).
TEST(ViewSession, MovingBudgetComesDownWhenItCoveredEveryPoint) {
  REQUIRE_VIEWER();
  test::TempDir dir;
  constexpr int n = 60000;
  const Matrix y = test::random_matrix(n, 2, 9);
  write_npy(dir.file("y.npy"), y.data(), n, 2);
  const auto r = view(dir, cat(dir.file("y.npy"), " --projection ", dir.file("y.npy"), " --frame-ms 5"),
                      cat("wait 3\nspin 2 40 0.5\nframe-stats ", dir.file("stats.json"), "\nquit\n"));
  ASSERT_EQ(r.code, 0) << r.output;
  const json stats = read_json(dir.file("stats.json"));
  EXPECT_GT(stats["moving"]["frames"].get<int>(), 30) << stats.dump();
  EXPECT_LT(stats["moving"]["mean_points"].get<double>(), n / 2.0) << stats.dump();
}
