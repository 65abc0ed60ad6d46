// Offscreen frame times at 1920x1080 on whatever Vulkan device is present
// (lavapipe on the CPU machine): 100k, 1M and 10M points in 3D with the
// sprite pipeline (rasterizer 0) and the compute rasteriser (1); the viewer's
// moving-camera frames under the adaptive budget; thumbnails in place of
// dots; CPU box selection. Wall time per frame includes waiting for the GPU;
// gpu_ms is the device's own timestamp difference.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include "bench_data.hpp"
#include "prism/render/camera.hpp"
#include "prism/render/colors.hpp"
#include "prism/render/renderer.hpp"
#include "prism/render/screen.hpp"
#include "prism/render/thumbnails.hpp"
#include "prism/render/selection.hpp"

using namespace prism;
using namespace prism::render;

namespace {

constexpr int kWidth = 1920, kHeight = 1080;

// Point sets are expensive at 10M: build each once.
const Matrix& points(int64_t n) {
  static std::map<int64_t, Matrix> cache;
  auto it = cache.find(n);
  if (it == cache.end()) it = cache.emplace(n, bench::gaussian_mixture(n, 3, 10, 42, nullptr, 3.0f)).first;
  return it->second;
}

Camera camera_for(const Matrix& y) {
  Camera cam;
  cam.set_viewport(kWidth, kHeight);
  cam.set_angles(30.0f, 20.0f);
  cam.fit_points(y);
  return cam;
}

void BM_RenderFrame(benchmark::State& state) {
  const int64_t n = state.range(0);
  const bool readback = state.range(1) != 0;
  const Rasterizer rasterizer = state.range(2) ? Rasterizer::compute : Rasterizer::sprites;
  const Matrix& y = points(n);
  static std::unique_ptr<OffscreenRenderer> renderer;
  if (!renderer) renderer = std::make_unique<OffscreenRenderer>(kWidth, kHeight);
  if (!renderer->supports(rasterizer)) {
    state.SkipWithError("the device lacks 64-bit buffer atomics");
    return;
  }
  renderer->set_positions(y);
  std::vector<uint32_t> colors(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) colors[i] = categorical_color(i % 10).packed();
  renderer->set_colors(colors);
  const Camera cam = camera_for(y);
  PointStyle style;
  style.point_size = 3.0f;
  style.alpha = 0.8f;
  renderer->render(cam, style, readback, rasterizer);  // warm-up (pipeline, caches)
  double gpu_ms = 0;
  for (auto _ : state) {
    renderer->render(cam, style, readback, rasterizer);
    gpu_ms += renderer->last_gpu_ms();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["fps"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["gpu_ms"] = gpu_ms / double(state.iterations());
  state.SetLabel(renderer->device_name());
}
BENCHMARK(BM_RenderFrame)
    ->ArgNames({"points", "readback", "compute"})
    ->Args({1, 0, 0})
    ->Args({10000, 0, 0})
    ->Args({100000, 0, 0})
    ->Args({100000, 1, 0})
    ->Args({1000000, 0, 0})
    ->Args({100000, 0, 1})
    ->Args({1000000, 0, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// 10M points take seconds per frame on lavapipe: a few iterations only.
BENCHMARK(BM_RenderFrame)
    ->ArgNames({"points", "readback", "compute"})
    ->Args({10000000, 0, 0})
    ->Args({10000000, 0, 1})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The viewer's moving camera: 3D points in a shuffled draw order, the camera
// turning 2 degrees per frame, and a FrameBudget choosing how many points the
// next frame draws so frames take `target_ms` (66 ms: 15 fps). Counters: the
// frame rate reached, the points drawn per frame, and the frame time once
// the camera rests (every point). Frames read nothing back, as the window's.
void BM_MovingFrames(benchmark::State& state) {
  const int64_t n = state.range(0);
  const double target_ms = double(state.range(1));
  const Matrix& y = points(n);
  OffscreenRenderer r(kWidth, kHeight);
  r.set_draw_order(DrawOrder::shuffled, 1);
  r.set_positions(y);
  std::vector<uint32_t> colors(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) colors[i] = categorical_color(i % 10).packed();
  r.set_colors(colors);
  Camera cam = camera_for(y);
  PointStyle style;
  style.point_size = 3.0f;
  FrameBudget budget(target_ms);
  r.render(cam, style, false);  // warm-up
  double drawn = 0;
  int64_t frames = 0;
  for (auto _ : state) {
    cam.rotate(2.0f, 0.0f);
    const int64_t m = budget.points(n, true);
    style.max_points = m < n ? m : 0;
    const auto t0 = std::chrono::steady_clock::now();
    r.render(cam, style, false);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    budget.record(ms, m, true);
    drawn += double(m);
    ++frames;
  }
  // The camera stops: one frame of every point.
  style.max_points = 0;
  const auto t0 = std::chrono::steady_clock::now();
  r.render(cam, style, false);
  const double rest_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  state.counters["fps"] = benchmark::Counter(double(frames), benchmark::Counter::kIsRate);
  state.counters["points_per_frame"] = drawn / double(std::max<int64_t>(frames, 1));
  state.counters["rest_ms"] = rest_ms;
  state.SetLabel(r.device_name());
}
BENCHMARK(BM_MovingFrames)
    ->ArgNames({"points", "target_ms"})
    ->Args({70000, 66})
    ->Args({1000000, 66})
    ->Args({10000000, 66})
    ->Iterations(60)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// A frame of thumbnails: n points of Fashion-MNIST-sized 28 x 28 grey images,
// all drawn as 12-pixel thumbnails (after they are uploaded once), beside
// the same points as dots; cull: 0 draws the thumbnails that nearer ones hide
// too (PointStyle::cull_hidden).
class Tiles : public ThumbnailSource {
 public:
  explicit Tiles(int64_t n) : n_(n) {}
  int64_t count() const override { return n_; }
  int width() const override { return 28; }
  int height() const override { return 28; }
  int channels() const override { return 1; }
  std::string describe() const override { return "synthetic 28x28"; }
  void load(int64_t row, uint8_t* out) const override {
    for (int i = 0; i < 28 * 28; ++i) out[i] = uint8_t((row * 37 + i * 11) & 255);
  }

 private:
  int64_t n_;
};

void BM_ThumbnailFrame(benchmark::State& state) {
  const int64_t n = state.range(0);
  const bool images = state.range(1) != 0;
  Matrix y = bench::gaussian_mixture(n, 2, 10, 7, nullptr, 3.0f);
  OffscreenRenderer r(kWidth, kHeight);
  r.set_positions(y);
  Camera cam;
  cam.set_viewport(kWidth, kHeight);
  cam.set_projection(Projection::orthographic);
  cam.fit_points(y, 1.0f, true);
  PointStyle style;
  style.point_size = 3.0f;
  if (images) {
    r.set_thumbnails(std::make_shared<Tiles>(n));
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) rows[size_t(i)] = i;
    r.request_thumbnails(rows);
    style.image_size = 12.0f * cam.world_per_pixel();
    while (r.thumbnail_stats().loaded < n) r.render(cam, style, false);
  }
  style.cull_hidden = state.range(2) != 0;
  r.render(cam, style, false);
  for (auto _ : state) r.render(cam, style, false);
  state.counters["fps"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["hidden"] = double(r.thumbnail_stats().hidden);
  state.SetLabel(r.device_name());
}
BENCHMARK(BM_ThumbnailFrame)
    ->ArgNames({"points", "images", "cull"})
    ->Args({70000, 0, 1})
    ->Args({70000, 1, 0})
    ->Args({70000, 1, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_SelectBox(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Matrix& y = points(n);
  const Camera cam = camera_for(y);
  size_t selected = 0;
  for (auto _ : state) {
    auto s = select_box(y, cam, {600, 300}, {1300, 800});
    selected = s.size();
    benchmark::DoNotOptimize(s.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["selected"] = double(selected);
}
BENCHMARK(BM_SelectBox)->ArgName("points")->Arg(1000000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
