#include "prism/render/image.hpp"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <system_error>

#include "prism/error.hpp"

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
void write_to_file(void* context, void* data, int size) {
  // A short write sets the stream's error flag, checked after the encoder returns.
  std::fwrite(data, 1, size_t(size), static_cast<std::FILE*>(context));
}
}  // namespace

void write_png(const std::string& path, const Image& img) {
  PRISM_EXPECTS(img.width > 0 && img.height > 0, "cannot write an empty image to ", path);
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  PRISM_EXPECTS(fs::is_directory(dir, ec), "cannot write ", path, ": folder ", dir.string(), " does not exist");
  // Same folder, so rename() is atomic; a random suffix avoids clashes between processes.
  std::random_device rd;
  const std::string tmp = cat(path, ".tmp-", std::hex, rd());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  PRISM_EXPECTS(f, "cannot create ", tmp, ": check that the folder is writable");
  const int ok = stbi_write_png_to_func(write_to_file, f, img.width, img.height, 4, img.pixels.data(),
                                        img.width * 4);
  const bool io_ok = !std::ferror(f);
  const bool closed = std::fclose(f) == 0;
  if (!ok || !io_ok || !closed) {
    fs::remove(tmp, ec);
    throw InputError(cat("cannot write ", path, " (disk full or not writable?)"));
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw InputError(cat("cannot rename ", tmp, " to ", path, ": ", ec.message()));
  }
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
