#pragma once
// CPU-side RGBA8 images: what offscreen rendering returns and what figures,
// screenshots and tests inspect.
#include <cstdint>
#include <string>
#include <vector>

namespace prism::render {

/// 8-bit RGBA colour, straight (not premultiplied) alpha.
struct Rgba8 {
  uint8_t r = 0, g = 0, b = 0, a = 255;
  bool operator==(const Rgba8&) const = default;
  /// Packed as the GPU reads R8G8B8A8 from memory (r in the lowest byte).
  uint32_t packed() const { return uint32_t(r) | uint32_t(g) << 8 | uint32_t(b) << 16 | uint32_t(a) << 24; }
};

/// Row-major RGBA8 image: pixel (x, y) is pixels[(y * width + x) * 4 + c], y = 0 at the top.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;

  Image() = default;
  Image(int w, int h, Rgba8 fill = {0, 0, 0, 0});
  Rgba8 at(int x, int y) const;
  void set(int x, int y, Rgba8 c);
  /// Alpha-blends `c` (its alpha times `coverage` in [0, 1]) over pixel (x, y); clipped.
  void blend(int x, int y, Rgba8 c, float coverage = 1.0f);
  /// Fills the rectangle [x0, x1) x [y0, y1), blended, clipped.
  void fill_rect(int x0, int y0, int x1, int y1, Rgba8 c);
  /// A filled disc of `radius` pixels centred at (cx, cy), blended with antialiased edges.
  void fill_disc(float cx, float cy, float radius, Rgba8 c);
};

/// Writes `img` as PNG atomically (temporary file in the same folder, then
/// rename). Throws InputError when the folder is not writable.
void write_png(const std::string& path, const Image& img);

/// Reads a PNG (tests, golden comparisons). Throws InputError on failure.
Image read_png(const std::string& path);

}  // namespace prism::render
