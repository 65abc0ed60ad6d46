#include "prism/render/image.hpp"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "prism/error.hpp"
#include "prism/io.hpp"

namespace prism::render {

Image::Image(int w, int h, Rgba8 fill) : width(w), height(h), pixels(size_t(w) * size_t(h) * 4) {
  for (size_t i = 0; i < size_t(w) * size_t(h); ++i) {
    pixels[i * 4 + 0] = fill.r;
    pixels[i * 4 + 1] = fill.g;
    pixels[i * 4 + 2] = fill.b;
    pixels[i * 4 + 3] = fill.a;
  }
}

Rgba8 Image::at(int x, int y) const {
  const uint8_t* p = &pixels[(size_t(y) * width + x) * 4];
  return {p[0], p[1], p[2], p[3]};
}

void Image::set(int x, int y, Rgba8 c) {
  if (x < 0 || y < 0 || x >= width || y >= height) return;
  uint8_t* p = &pixels[(size_t(y) * width + x) * 4];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
  p[3] = c.a;
}

void Image::blend(int x, int y, Rgba8 c, float coverage) {
  if (x < 0 || y < 0 || x >= width || y >= height) return;
  const float a = std::clamp(coverage, 0.0f, 1.0f) * (c.a / 255.0f);
  if (a <= 0.0f) return;
  uint8_t* p = &pixels[(size_t(y) * width + x) * 4];
  auto mix = [a](uint8_t dst, uint8_t src) { return uint8_t(std::lround(dst + (src - dst) * a)); };
  p[0] = mix(p[0], c.r);
  p[1] = mix(p[1], c.g);
  p[2] = mix(p[2], c.b);
  p[3] = uint8_t(std::lround(p[3] + (255 - p[3]) * a));
}

void Image::fill_rect(int x0, int y0, int x1, int y1, Rgba8 c) {
  x0 = std::max(x0, 0);
  y0 = std::max(y0, 0);
  x1 = std::min(x1, width);
  y1 = std::min(y1, height);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) blend(x, y, c);
}

void Image::fill_disc(float cx, float cy, float radius, Rgba8 c) {
  const int x0 = int(std::floor(cx - radius - 1)), x1 = int(std::ceil(cx + radius + 1));
  const int y0 = int(std::floor(cy - radius - 1)), y1 = int(std::ceil(cy + radius + 1));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const float d = std::hypot(x + 0.5f - cx, y + 0.5f - cy);
      blend(x, y, c, std::clamp(radius + 0.5f - d, 0.0f, 1.0f));
    }
}

namespace {
void append_to_string(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}
}  // namespace

void write_png(const std::string& path, const Image& img) {
  PRISM_EXPECTS(img.width > 0 && img.height > 0, "cannot write an empty image to ", path);
  // Encoded in memory first, so that the C encoder never sees an exception;
  // AtomicFile then writes it as every other output (exit 3, no partial file).
  std::string png;
  png.reserve(size_t(img.width) * size_t(img.height));
  PRISM_CHECK(stbi_write_png_to_func(append_to_string, &png, img.width, img.height, 4, img.pixels.data(),
                                     img.width * 4) != 0,
              "PNG encoding of ", path, " failed");
  AtomicFile f(path);
  f.write(png);
  f.commit();
}

Image read_png(const std::string& path) {
  int w = 0, h = 0, comp = 0;
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &comp, 4);
  PRISM_EXPECTS(data, "cannot read image ", path, ": ", stbi_failure_reason());
  Image img;
  img.width = w;
  img.height = h;
  img.pixels.assign(data, data + size_t(w) * h * 4);
  stbi_image_free(data);
  return img;
}

}  // namespace prism::render
