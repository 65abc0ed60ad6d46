// Offscreen frame times at 1920x1080 on whatever Vulkan device is present
// (lavapipe on the CPU machine): 100k, 1M and 10M points in 3D with the
// sprite pipeline (rasterizer 0) and the compute rasteriser (1), plus CPU box
// selection. Wall time per frame includes waiting for the GPU; gpu_ms is the
// device's own timestamp difference.
#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <memory>

#include "bench_data.hpp"
#include "prism/render/camera.hpp"
#include "prism/render/colors.hpp"
#include "prism/render/renderer.hpp"
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
