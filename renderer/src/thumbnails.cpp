#include "prism/render/thumbnails.hpp"

#include <stb_image.h>
#include <stb_image_resize.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "prism/error.hpp"
#include "prism/io.hpp"

namespace prism::render {

namespace {

class PixelRows : public ThumbnailSource {
 public:
  PixelRows(ConstView x, int w, int h, std::shared_ptr<const void> keep, float max_value)
      : x_(x), w_(w), h_(h), keep_(std::move(keep)), scale_(max_value > 0 ? 255.0f / max_value : 1.0f) {}
  int64_t count() const override { return x_.rows; }
  int width() const override { return w_; }
  int height() const override { return h_; }
  int channels() const override { return 1; }
  void load(int64_t row, uint8_t* out) const override {
    const float* r = x_.row(row);
    for (int i = 0; i < w_ * h_; ++i) out[i] = uint8_t(std::clamp(std::lround(r[i] * scale_), 0L, 255L));
  }
  std::string describe() const override { return cat("pixels of the vectors, ", w_, "x", h_); }

 private:
  ConstView x_;
  int w_, h_;
  std::shared_ptr<const void> keep_;
  float scale_;
};

// A decoded sheet; a tile is copied out of it on load().
class SpriteSheet : public ThumbnailSource {
 public:
  SpriteSheet(std::string path, std::vector<uint8_t> pixels, int sheet_w, int tile_w, int tile_h, int64_t rows)
      : path_(std::move(path)), px_(std::move(pixels)), sheet_w_(sheet_w), w_(tile_w), h_(tile_h), rows_(rows) {}
  int64_t count() const override { return rows_; }
  int width() const override { return w_; }
  int height() const override { return h_; }
  int channels() const override { return 4; }
  void load(int64_t row, uint8_t* out) const override {
    const int64_t per_row = sheet_w_ / w_;
    const int64_t x0 = (row % per_row) * w_, y0 = (row / per_row) * h_;
    for (int y = 0; y < h_; ++y)
      std::memcpy(out + size_t(y) * w_ * 4, &px_[(size_t(y0 + y) * sheet_w_ + size_t(x0)) * 4], size_t(w_) * 4);
  }
  std::string describe() const override { return cat("sprite sheet ", path_, ", ", w_, "x", h_, " tiles"); }

 private:
  std::string path_;
  std::vector<uint8_t> px_;
  int sheet_w_, w_, h_;
  int64_t rows_;
};

// A grey cross on a light square: "this row's image could not be read".
void placeholder(uint8_t* out, int tile) {
  for (int y = 0; y < tile; ++y)
    for (int x = 0; x < tile; ++x) {
      uint8_t* p = out + (size_t(y) * tile + x) * 4;
      const bool line = std::abs(x - y) <= tile / 24 || std::abs(x + y - tile + 1) <= tile / 24;
      const uint8_t v = line ? 150 : 225;
      p[0] = p[1] = p[2] = v;
      p[3] = 255;
    }
}

class ImageFiles : public ThumbnailSource {
 public:
  ImageFiles(std::vector<std::string> paths, std::string base, int tile)
      : paths_(std::move(paths)), base_(std::move(base)), tile_(tile) {}
  int64_t count() const override { return int64_t(paths_.size()); }
  int width() const override { return tile_; }
  int height() const override { return tile_; }
  int channels() const override { return 4; }
  bool slow() const override { return true; }
  std::string describe() const override { return cat("image files, fitted into ", tile_, "x", tile_); }
  void load(int64_t row, uint8_t* out) const override {
    std::filesystem::path p(paths_[size_t(row)]);
    if (p.is_relative() && !base_.empty()) p = std::filesystem::path(base_) / p;
    int w = 0, h = 0, comp = 0;
    unsigned char* img = stbi_load(p.string().c_str(), &w, &h, &comp, 4);
    if (!img || w <= 0 || h <= 0) {
      if (img) stbi_image_free(img);
      placeholder(out, tile_);
      return;
    }
    // Fit inside the tile, aspect kept, centred on a transparent margin.
    const float s = std::min(float(tile_) / w, float(tile_) / h);
    const int fw = std::clamp(int(std::lround(w * s)), 1, tile_), fh = std::clamp(int(std::lround(h * s)), 1, tile_);
    std::memset(out, 0, size_t(tile_) * tile_ * 4);
    const int ox = (tile_ - fw) / 2, oy = (tile_ - fh) / 2;
    stbir_resize_uint8(img, w, h, 0, out + (size_t(oy) * tile_ + ox) * 4, fw, fh, tile_ * 4, 4);
    stbi_image_free(img);
  }

 private:
  std::vector<std::string> paths_;
  std::string base_;
  int tile_;
};

int perfect_square_side(int64_t d) {
  const auto s = int64_t(std::lround(std::sqrt(double(d))));
  return s * s == d ? int(s) : 0;
}

void parse_tile_size(const std::string& s, int* w, int* h) {
  char x = 0, extra = 0;
  const int got = std::sscanf(s.c_str(), "%d%c%d%c", w, &x, h, &extra);
  PRISM_EXPECTS(got == 3 && (x == 'x' || x == 'X') && *w > 0 && *h > 0 && *w <= 1024 && *h <= 1024,
                "bad --sprite-size '", s, "': expected WIDTHxHEIGHT of one thumbnail, e.g. 28x28 (1..1024)");
}

}  // namespace

std::shared_ptr<ThumbnailSource> thumbnails_from_pixels(ConstView x, int width, int height,
                                                        std::shared_ptr<const void> keep_alive, float max_value) {
  PRISM_EXPECTS(width > 0 && height > 0 && x.cols == int64_t(width) * height, "images of ", width, "x", height,
                " need ", int64_t(width) * height, " values per row, the vectors have ", x.cols);
  return std::make_shared<PixelRows>(x, width, height, std::move(keep_alive), max_value);
}

std::shared_ptr<ThumbnailSource> dataset_thumbnails(const Dataset& ds) {
  if (ds.format != "idx" || ds.rows() == 0) return nullptr;
  const int side = perfect_square_side(ds.cols());
  if (side == 0) return nullptr;
  return thumbnails_from_pixels(ds.x, side, side, ds.storage, 255.0f);
}

std::shared_ptr<ThumbnailSource> sprite_sheet(const std::string& path, int tile_w, int tile_h, int64_t rows) {
  std::error_code ec;
  const bool folder = std::filesystem::is_directory(path, ec);
  PRISM_EXPECTS(folder || std::filesystem::is_regular_file(path, ec), "--sprite ", path, ": no such file");
  Format f = Format::automatic;
  try {
    f = folder ? Format::idx : detect_format(path);
  } catch (const InputError&) {  // not a data file: an image, read below
  }
  if (f == Format::idx) {  // an IDX images file, or an MNIST-style folder of them
    Dataset d = read_dataset(path, ReadOptions{.format = folder ? Format::automatic : Format::idx});
    PRISM_EXPECTS(d.rows() >= rows, "--sprite ", path, " holds ", d.rows(), " images, the data has ", rows, " rows");
    auto src = dataset_thumbnails(d);
    PRISM_EXPECTS(src, "--sprite ", path, ": the IDX images are not square");
    return src;
  }
  PRISM_EXPECTS(tile_w > 0 && tile_h > 0, "--sprite ", path, " is a sheet: give the size of one thumbnail "
                "with --sprite-size WIDTHxHEIGHT");
  int w = 0, h = 0, comp = 0;
  unsigned char* img = stbi_load(path.c_str(), &w, &h, &comp, 4);
  PRISM_EXPECTS(img, "--sprite ", path, ": cannot read the image (", stbi_failure_reason(), ")");
  std::vector<uint8_t> px(img, img + size_t(w) * size_t(h) * 4);
  stbi_image_free(img);
  PRISM_EXPECTS(w >= tile_w && h >= tile_h, "--sprite ", path, " is ", w, "x", h,
                ", smaller than one ", tile_w, "x", tile_h, " thumbnail");
  const int64_t tiles = int64_t(w / tile_w) * (h / tile_h);
  PRISM_EXPECTS(tiles >= rows, "--sprite ", path, " (", w, "x", h, ") holds ", tiles, " thumbnails of ", tile_w,
                "x", tile_h, " but the data has ", rows, " rows");
  return std::make_shared<SpriteSheet>(path, std::move(px), w, tile_w, tile_h, rows);
}

std::shared_ptr<ThumbnailSource> image_files(std::vector<std::string> paths, std::string base_dir, int tile) {
  PRISM_EXPECTS(tile >= 4 && tile <= 512, "thumbnail size ", tile, " is out of range (4..512)");
  return std::make_shared<ImageFiles>(std::move(paths), std::move(base_dir), tile);
}

std::shared_ptr<ThumbnailSource> thumbnails_for(const Dataset& ds, const std::string& sprite,
                                                const std::string& sprite_size, const std::string& image_column,
                                                const std::string& base_dir) {
  PRISM_EXPECTS(sprite.empty() || image_column.empty(), "give --sprite or --image-column, not both");
  if (!sprite.empty()) {
    int w = 0, h = 0;
    if (!sprite_size.empty()) parse_tile_size(sprite_size, &w, &h);
    return sprite_sheet(sprite, w, h, ds.rows());
  }
  PRISM_EXPECTS(sprite_size.empty(), "--sprite-size needs --sprite SHEET.png");
  if (!image_column.empty()) {
    const int c = ds.meta.find(image_column);
    PRISM_EXPECTS(c >= 0, "--image-column ", image_column, ": no such metadata column",
                  ds.meta.empty() ? " (no --metadata given)" : "");
    return image_files(ds.meta.columns[size_t(c)], base_dir);
  }
  return dataset_thumbnails(ds);
}

ThumbnailCache::ThumbnailCache(int64_t rows, int64_t capacity)
    : slot_of_row_(size_t(std::max<int64_t>(rows, 0)), -1),
      row_of_slot_(size_t(std::clamp<int64_t>(capacity, 0, std::min<int64_t>(rows, INT32_MAX))), -1),
      last_wanted_(row_of_slot_.size(), 0) {}

std::vector<ThumbnailCache::Assignment> ThumbnailCache::assign(std::span<const int64_t> wanted, int64_t max_new) {
  ++tick_;
  evicted_.clear();
  for (int64_t r : wanted) {
    const int32_t s = slot_of_row_[size_t(r)];
    if (s >= 0) last_wanted_[size_t(s)] = tick_;
  }
  std::vector<Assignment> out;
  const int64_t cap = capacity();
  pending_ = 0;
  for (int64_t r : wanted) {
    if (slot_of_row_[size_t(r)] >= 0) continue;
    if (int64_t(out.size()) >= max_new || cap == 0) {
      ++pending_;
      continue;
    }
    int64_t s = -1;
    if (used_ < cap) {
      s = used_++;
    } else {
      // Clock sweep for a slot not wanted in this call; at most one lap.
      for (int64_t step = 0; step < cap; ++step) {
        const int64_t c = hand_;
        hand_ = (hand_ + 1) % cap;
        if (last_wanted_[size_t(c)] != tick_) {
          s = c;
          break;
        }
      }
      if (s < 0) {  // every slot holds a row wanted now: the rest must wait
        ++pending_;
        continue;
      }
      const int64_t old = row_of_slot_[size_t(s)];
      if (old >= 0) {
        slot_of_row_[size_t(old)] = -1;
        evicted_.push_back(old);
      }
    }
    row_of_slot_[size_t(s)] = r;
    slot_of_row_[size_t(r)] = int32_t(s);
    last_wanted_[size_t(s)] = tick_;
    out.push_back({r, int32_t(s)});
  }
  return out;
}

}  // namespace prism::render
