// Offscreen rendering on lavapipe, checked pixel by pixel (never whole-image
// hashes, which change with the driver): colours land where the camera says,
// depth and highlights order points, picking returns the drawn point, box and
// lasso selection match a hand-computed projection.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "prism/render/camera.hpp"
#include "prism/render/colors.hpp"
#include "prism/render/renderer.hpp"
#include "prism/render/selection.hpp"

using namespace prism;
using namespace prism::render;

namespace {

constexpr Rgba8 kRed{255, 0, 0, 255}, kGreen{0, 200, 0, 255}, kBlue{0, 0, 255, 255};
constexpr Rgba8 kWhite{255, 255, 255, 255};

// Orthographic camera looking down -z at the origin that shows world y in
// [-1, 1] over the image height (so pixel = ((x/aspect + 1) W/2, (1 - y) H/2)).
Camera unit_ortho(int w, int h) {
  Camera cam;
  cam.set_viewport(w, h);
  cam.set_projection(Projection::orthographic);
  Camera::State s;
  s.distance = 1.0f / std::tan(glm::radians(22.5f));
  cam.set_state(s);
  return cam;
}

glm::vec2 hand_pixel(float x, float y, int w, int h) {
  const float aspect = float(w) / h;
  return {(x / aspect + 1.0f) * 0.5f * w, (1.0f - y) * 0.5f * h};
}

bool near_color(Rgba8 a, Rgba8 b, int tol = 2) {
  return std::abs(a.r - b.r) <= tol && std::abs(a.g - b.g) <= tol && std::abs(a.b - b.b) <= tol;
}

}  // namespace

TEST(Renderer, PointOfKnownColourLandsOnExpectedPixel2D) {
  const int W = 80, H = 60;
  OffscreenRenderer r(W, H);
  Matrix y(3, 2);
  y(0, 0) = 0.5f, y(0, 1) = 0.5f;    // red, upper right
  y(1, 0) = -0.8f, y(1, 1) = -0.6f;  // green, lower left
  y(2, 0) = 0.0f, y(2, 1) = 0.0f;    // blue, centre
  r.set_positions(y);
  const std::vector<uint32_t> colors = {kRed.packed(), kGreen.packed(), kBlue.packed()};
  r.set_colors(colors);
  PointStyle style;
  style.point_size = 5;
  const Camera cam = unit_ortho(W, H);
  r.render(cam, style);
  const Image& img = r.color();
  ASSERT_EQ(img.width, W);
  const glm::vec2 p0 = hand_pixel(0.5f, 0.5f, W, H);  // (55, 15)
  EXPECT_NEAR(p0.x, 55.0f, 1e-4);
  EXPECT_NEAR(p0.y, 15.0f, 1e-4);
  EXPECT_TRUE(near_color(img.at(55, 15), kRed));
  const glm::vec2 p1 = hand_pixel(-0.8f, -0.6f, W, H);
  EXPECT_TRUE(near_color(img.at(int(p1.x), int(p1.y)), kGreen));
  EXPECT_TRUE(near_color(img.at(40, 30), kBlue));
  // The sprite is round with a 5 px diameter: 3 px away is background.
  EXPECT_TRUE(near_color(img.at(58, 15), kWhite));
  EXPECT_TRUE(near_color(img.at(55, 18), kWhite));
  // The CPU projection agrees with the hand-computed one.
  glm::vec2 px;
  ASSERT_TRUE(cam.project({0.5f, 0.5f, 0.0f}, &px));
  EXPECT_NEAR(px.x, p0.x, 1e-3);
  EXPECT_NEAR(px.y, p0.y, 1e-3);
  EXPECT_TRUE(near_color(img.at(2, 2), kWhite));
}

TEST(Renderer, KnownRotationAndDepthOrder3D) {
  const int W = 64, H = 64;
  OffscreenRenderer r(W, H);
  Matrix y(4, 3, 0.0f);
  y(0, 0) = 1.0f;   // red, on +x (nearer to a camera on +x)
  y(1, 2) = -1.0f;  // green, on -z
  y(2, 1) = 1.0f;   // blue, on +y
  // row 3: white... at the origin, drawn after red and hidden by it from +x
  r.set_positions(y);
  const Rgba8 kGrey{90, 90, 90, 255};
  const std::vector<uint32_t> colors = {kRed.packed(), kGreen.packed(), kBlue.packed(), kGrey.packed()};
  r.set_colors(colors);
  PointStyle style;
  style.point_size = 6;
  style.background = {0, 0, 0, 255};
  Camera cam;
  cam.set_viewport(W, H);
  cam.set_angles(90.0f, 0.0f);  // eye on +x looking along -x: world -z is to the right
  Camera::State s = cam.state();
  s.distance = 5.0f;
  cam.set_state(s);
  r.render(cam, style);
  const Image& img = r.color();
  // -z at depth 5, one unit right: x_ndc = (1/5) / tan(22.5 deg).
  const float ndc = 0.2f / std::tan(glm::radians(22.5f));
  const int gx = int((ndc + 1.0f) * 0.5f * W);
  EXPECT_TRUE(near_color(img.at(gx, 32), kGreen)) << gx;
  EXPECT_TRUE(near_color(img.at(32, 64 - gx), kBlue));  // +y: up, same distance
  // Red (+x, depth 4) and grey (origin, depth 5) share the centre pixel: red wins
  // although grey is drawn later.
  EXPECT_TRUE(near_color(img.at(32, 32), kRed));
  // From the other side (-x) the origin is nearer and green moves to the left.
  cam.set_angles(270.0f, 0.0f);
  r.render(cam, style);
  EXPECT_TRUE(near_color(r.color().at(32, 32), kGrey));
  EXPECT_TRUE(near_color(r.color().at(W - 1 - gx, 32), kGreen));
  // Elevation 90 looks straight down: +y (blue) is now at the centre, in front.
  cam.set_angles(0.0f, 90.0f);
  r.render(cam, style);
  EXPECT_TRUE(near_color(r.color().at(32, 32), kBlue));
}

TEST(Renderer, PickingReturnsTheDrawnPoint) {
  const int W = 96, H = 72;
  OffscreenRenderer r(W, H);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.2f, 1.2f), v(-0.9f, 0.9f);
  const int n = 40;
  Matrix y(n, 2);
  for (int i = 0; i < n; ++i) y(i, 0) = u(rng), y(i, 1) = v(rng);
  r.set_positions(y);
  PointStyle style;
  style.point_size = 3;
  const Camera cam = unit_ortho(W, H);
  r.render(cam, style);
  const auto px = project_points(y, cam);
  int checked = 0;
  for (int i = 0; i < n; ++i) {
    const int x = int(px[i * 2]), yy = int(px[i * 2 + 1]);
    // Points drawn later may cover earlier ones; check those no later point covers.
    bool covered = false;
    for (int j = i + 1; j < n; ++j)
      if (std::abs(px[j * 2] - px[i * 2]) < 4 && std::abs(px[j * 2 + 1] - px[i * 2 + 1]) < 4) covered = true;
    if (covered) continue;
    EXPECT_EQ(r.pick(x, yy), i);
    ++checked;
  }
  EXPECT_GT(checked, n / 2);
  // Nowhere near a point: nothing, unless the search radius reaches one.
  Matrix one(1, 2, 0.0f);
  r.set_positions(one);
  r.render(cam, style);
  EXPECT_EQ(r.pick(48, 36), 0);
  EXPECT_EQ(r.pick(60, 36), -1);
  EXPECT_EQ(r.pick(55, 36, 6), -1);
  EXPECT_EQ(r.pick(51, 36, 3), 0);  // the 3 px sprite covers x 46..48
}

TEST(Renderer, HighlightsAreDistinctAndOnTop) {
  const int W = 64, H = 64;
  OffscreenRenderer r(W, H);
  Matrix y(3, 2, 0.0f);
  y(2, 0) = 0.5f;  // a third point elsewhere
  r.set_positions(y);
  const std::vector<uint32_t> colors = {kRed.packed(), kGreen.packed(), kBlue.packed()};
  r.set_colors(colors);
  PointStyle style;
  style.point_size = 8;
  const Camera cam = unit_ortho(W, H);
  // Two points on the same pixel: the later (green) wins when neither is highlighted...
  r.render(cam, style);
  EXPECT_TRUE(near_color(r.color().at(32, 32), kGreen));
  EXPECT_EQ(r.pick(32, 32), 1);
  // ...but a selected point comes to the front and gets a ring.
  std::vector<uint8_t> states = {kSelected, kNone, kNone};
  r.set_states(states);
  r.render(cam, style);
  EXPECT_TRUE(near_color(r.color().at(32, 32), kRed));
  EXPECT_EQ(r.pick(32, 32), 0);
  // Selected size is 8 * 1.5 + 4 = 16 px: its rim (orange) is 7 px right of the centre.
  const Rgba8 rim = r.color().at(39, 32);
  EXPECT_TRUE(near_color(rim, {255, 64, 0, 255}, 3)) << int(rim.r) << "," << int(rim.g) << "," << int(rim.b);
  // Each state has its own ring colour.
  const Rgba8 expected_rim[] = {{0, 0, 0, 255}, {255, 204, 0, 255}, {0, 140, 255, 255}};
  const uint8_t which[] = {kHovered, kMatch, kNeighbor};
  for (int k = 0; k < 3; ++k) {
    states = {which[k], kNone, kNone};
    r.set_states(states);
    r.render(cam, style);
    const float size = k == 0 ? 8 * 1.8f + 6 : 8 * 1.3f + 3;
    const int rim_x = 32 + int(size / 2) - 1;
    EXPECT_TRUE(near_color(r.color().at(rim_x, 32), expected_rim[k], 3)) << k;
  }
  // Isolating the selection dims the others towards the background and makes them unpickable.
  states = {kSelected, kNone, kNone};
  r.set_states(states);
  style.isolate = true;
  r.render(cam, style);
  const glm::vec2 p2 = hand_pixel(0.5f, 0.0f, W, H);
  const Rgba8 dim = r.color().at(int(p2.x), int(p2.y));
  EXPECT_GT(dim.r, 200);
  EXPECT_GT(dim.g, 200);
  EXPECT_GT(dim.b, 230);
  EXPECT_LT(dim.r, 255);
  EXPECT_EQ(r.pick(int(p2.x), int(p2.y)), -1);
  EXPECT_EQ(r.pick(32, 32), 0);
}

TEST(Renderer, BuffersUpdateInPlace) {
  const int W = 40, H = 40;
  OffscreenRenderer r(W, H);
  Matrix y(2, 2, 0.0f);
  y(1, 0) = 0.5f;
  r.set_positions(y);
  const Camera cam = unit_ortho(W, H);
  PointStyle style;
  r.render(cam, style);
  EXPECT_EQ(r.pick(20, 20), 0);
  // A live iteration moves the points; colours and ids follow the new positions.
  y(0, 0) = -0.5f;
  y(1, 0) = 0.0f;
  r.set_positions(y);
  r.render(cam, style);
  EXPECT_EQ(r.pick(20, 20), 1);
  EXPECT_EQ(r.pick(10, 20), 0);
  EXPECT_EQ(r.size(), 2);
  EXPECT_THROW(r.set_colors(std::vector<uint32_t>(3)), InputError);
}

TEST(Selection, BoxMatchesHandProjection) {
  const int W = 200, H = 100;
  const Camera cam = unit_ortho(W, H);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f), v(-1.0f, 1.0f);
  const int n = 3000;
  Matrix y(n, 2);
  for (int i = 0; i < n; ++i) y(i, 0) = u(rng), y(i, 1) = v(rng);
  const glm::vec2 a(130.0f, 80.0f), b(40.0f, 20.0f);  // corners in any order
  const auto got = select_box(y, cam, a, b);
  std::vector<int64_t> want;
  for (int i = 0; i < n; ++i) {
    const glm::vec2 p = hand_pixel(y(i, 0), y(i, 1), W, H);
    if (p.x >= 40 && p.x <= 130 && p.y >= 20 && p.y <= 80) want.push_back(i);
  }
  EXPECT_GT(want.size(), 100u);
  EXPECT_EQ(got, want);
}

TEST(Selection, LassoTriangleAndThreeD) {
  const int W = 100, H = 100;
  const Camera cam = unit_ortho(W, H);
  Matrix y(4, 2);
  y(0, 0) = 0.0f, y(0, 1) = 0.0f;    // pixel (50, 50): inside
  y(1, 0) = 0.8f, y(1, 1) = 0.8f;    // (90, 10): outside
  y(2, 0) = -0.5f, y(2, 1) = -0.5f;  // (25, 75): inside
  y(3, 0) = 0.5f, y(3, 1) = -0.5f;   // (75, 75): outside the hypotenuse
  const std::vector<glm::vec2> tri = {{10, 10}, {10, 90}, {90, 90}};
  const auto got = select_lasso(y, cam, {{10, 10}, {10, 95}, {60, 95}, {60, 40}});
  EXPECT_EQ(got, (std::vector<int64_t>{0, 2}));
  EXPECT_TRUE(point_in_polygon({20, 80}, tri));
  EXPECT_FALSE(point_in_polygon({80, 20}, tri));
  EXPECT_TRUE(select_lasso(y, cam, {{0, 0}, {10, 10}}).empty());
  // 3D: points behind the eye are never selected.
  Camera p;
  p.set_viewport(W, H);
  Camera::State s;
  s.distance = 3.0f;
  p.set_state(s);
  Matrix z(2, 3, 0.0f);
  z(1, 2) = 10.0f;  // behind the eye (which is at z = 3)
  EXPECT_EQ(select_box(z, p, {0, 0}, {100, 100}), (std::vector<int64_t>{0}));
}

TEST(Camera, ZoomTowardsCursorPanFitAndTransitions) {
  Camera cam;
  cam.set_viewport(300, 200);
  cam.set_angles(30.0f, 20.0f);
  Bounds b;
  b.lo = {-2, -1, -3};
  b.hi = {4, 5, 1};
  cam.fit(b);
  // Every corner of the box is in view after fit.
  for (int c = 0; c < 8; ++c) {
    const glm::vec3 p((c & 1) ? b.hi.x : b.lo.x, (c & 2) ? b.hi.y : b.lo.y, (c & 4) ? b.hi.z : b.lo.z);
    glm::vec2 px;
    ASSERT_TRUE(cam.project(p, &px));
    EXPECT_GE(px.x, 0);
    EXPECT_LE(px.x, 300);
    EXPECT_GE(px.y, 0);
    EXPECT_LE(px.y, 200);
  }
  // Zooming keeps the world point under the cursor where it was.
  const glm::vec2 cursor(220, 60);
  const glm::vec3 w = cam.unproject_on_target_plane(cursor);
  const float d0 = cam.state().distance;
  cam.zoom_at(cursor, 0.5f);
  glm::vec2 px;
  ASSERT_TRUE(cam.project(w, &px));
  EXPECT_NEAR(px.x, cursor.x, 1e-2);
  EXPECT_NEAR(px.y, cursor.y, 1e-2);
  EXPECT_NEAR(cam.state().distance, 0.5f * d0, 1e-4);
  // Panning moves the scene with the cursor.
  glm::vec2 before, after;
  cam.project(w, &before);
  cam.pan({15, -10});
  cam.project(w, &after);
  EXPECT_NEAR(after.x - before.x, 15, 1e-2);
  EXPECT_NEAR(after.y - before.y, -10, 1e-2);
  // A transition ends exactly in the target state, smoothly.
  Camera::State goal = cam.state();
  goal.distance *= 4.0f;
  goal.target += glm::vec3(1, 2, 3);
  goal.rotation = glm::angleAxis(glm::radians(80.0f), glm::vec3(0, 1, 0));
  const Camera::State start = cam.state();
  cam.animate_to(goal, 1.0f);
  EXPECT_TRUE(cam.update(0.5f));
  EXPECT_GT(cam.state().distance, start.distance);
  EXPECT_LT(cam.state().distance, goal.distance);
  EXPECT_FALSE(cam.update(0.6f));
  EXPECT_FLOAT_EQ(cam.state().distance, goal.distance);
  EXPECT_FLOAT_EQ(cam.state().target.z, goal.target.z);
  // Arcball: dragging right turns the scene right, so the camera orbits left.
  Camera o;
  o.set_viewport(200, 200);
  Camera::State s;
  s.distance = 5.0f;
  o.set_state(s);
  glm::vec2 front0, front1;
  o.project({0, 0, 1}, &front0);
  o.orbit({100, 100}, {140, 100});
  o.project({0, 0, 1}, &front1);
  EXPECT_GT(front1.x, front0.x + 5);
}

TEST(Renderer, ComputeRasterizerAgreesWithSprites) {
  const int W = 120, H = 90;
  OffscreenRenderer r(W, H);
  if (!r.supports(Rasterizer::compute)) GTEST_SKIP() << r.device_name() << " lacks 64-bit buffer atomics";
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int n = 60;
  Matrix y(n, 3);
  std::vector<uint32_t> colors(n);
  for (int i = 0; i < n; ++i) {
    y(i, 0) = u(rng), y(i, 1) = u(rng), y(i, 2) = u(rng);
    colors[i] = categorical_color(i % 10).packed();
  }
  r.set_positions(y);
  r.set_colors(colors);
  Camera cam;
  cam.set_viewport(W, H);
  cam.set_angles(35.0f, 25.0f);
  cam.fit(compute_bounds(y));
  PointStyle style;
  style.point_size = 5;
  r.render(cam, style, true, Rasterizer::sprites);
  const std::vector<uint32_t> sprite_ids = r.ids();
  const Image sprite_img = r.color();
  r.render(cam, style, true, Rasterizer::compute);
  const auto px = project_points(y, cam);
  int agree = 0, checked = 0;
  for (int i = 0; i < n; ++i) {
    const int x = int(px[i * 2]), yy = int(px[i * 2 + 1]);
    if (x < 0 || yy < 0 || x >= W || yy >= H) continue;
    ++checked;
    const size_t k = size_t(yy) * W + x;
    // Both resolve overlaps by depth, so the visible point at each centre matches.
    if (r.ids()[k] == sprite_ids[k] && r.color().at(x, yy) == sprite_img.at(x, yy)) ++agree;
  }
  EXPECT_GT(checked, n / 2);
  EXPECT_GE(agree, checked - 2);  // rasterisation rules may differ on a pixel edge
  // Background and ids where nothing is drawn.
  EXPECT_EQ(r.pick(0, 0), -1);
  EXPECT_EQ(r.color().at(0, 0), kWhite);
  // A selected point comes to the front in its ring colour.
  std::vector<uint8_t> states(n, kNone);
  const int x3 = int(px[3 * 2]), y3 = int(px[3 * 2 + 1]);
  states[3] = kSelected;
  r.set_states(states);
  r.render(cam, style, true, Rasterizer::compute);
  EXPECT_EQ(r.pick(x3, y3), 3);
  EXPECT_TRUE(near_color(r.color().at(x3, y3), {255, 64, 0, 255}, 3));
  // Per-point sizes (--size-by): point 3 at 3x its size covers about 9x the
  // pixels, in both rasterisers.
  r.set_states(std::vector<uint8_t>(n, kNone));
  std::vector<uint8_t> sizes(n, kUnitSize);
  sizes[3] = 3 * kUnitSize;
  r.set_sizes(sizes);
  auto pixels_of_3 = [&](Rasterizer how) {
    r.render(cam, style, true, how);
    return int(std::count(r.ids().begin(), r.ids().end(), 4u));
  };
  const int sprite_px = pixels_of_3(Rasterizer::sprites), compute_px = pixels_of_3(Rasterizer::compute);
  EXPECT_GT(sprite_px, 100);
  EXPECT_NEAR(compute_px, sprite_px, sprite_px / 5);
}

TEST(Camera, FitPointsIsTightAndComplete) {
  std::mt19937 rng(8);
  std::normal_distribution<float> g(0.0f, 1.0f);
  Matrix y(2000, 3);
  for (int i = 0; i < 2000; ++i) y(i, 0) = 5 * g(rng) + 3, y(i, 1) = g(rng), y(i, 2) = 2 * g(rng);
  for (const Projection proj : {Projection::perspective, Projection::orthographic}) {
    Camera cam;
    cam.set_viewport(320, 200);
    cam.set_projection(proj);
    cam.set_angles(40.0f, 25.0f);
    cam.fit_points(y);
    float reach = 0;  // how far the farthest point gets towards the edge, 0..1
    for (int i = 0; i < 2000; ++i) {
      glm::vec2 px;
      ASSERT_TRUE(cam.project({y(i, 0), y(i, 1), y(i, 2)}, &px));
      EXPECT_GE(px.x, 0);
      EXPECT_LE(px.x, 320);
      EXPECT_GE(px.y, 0);
      EXPECT_LE(px.y, 200);
      reach = std::max({reach, std::abs(px.x - 160) / 160, std::abs(px.y - 100) / 100});
    }
    EXPECT_GT(reach, 0.8f) << int(proj);  // no wasted margin beyond the 5% and the centring
  }
}
