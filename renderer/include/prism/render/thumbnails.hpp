#pragma once
// Images in place of points: where thumbnails come from (IDX image vectors,
// a TensorBoard-style sprite sheet, a metadata column of image files) and the
// CPU side of loading them lazily into a fixed number of device slots.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "prism/dataset.hpp"
#include "prism/matrix.hpp"

namespace prism::render {

/// One image per row, all of the same size. Thread-safe: load() may be called
/// from several threads at once.
class ThumbnailSource {
 public:
  virtual ~ThumbnailSource() = default;
  virtual int64_t count() const = 0;
  virtual int width() const = 0;   ///< pixels
  virtual int height() const = 0;  ///< pixels
  /// 1 (grey) or 4 (RGBA, straight alpha).
  virtual int channels() const = 0;
  /// Writes row `row`'s image, width() * height() * channels() bytes, row-major
  /// from the top. An image that cannot be read becomes a placeholder (never a throw).
  virtual void load(int64_t row, uint8_t* out) const = 0;
  /// True when load() decodes files (milliseconds each): the renderers load a
  /// few such images per frame instead of every requested one.
  virtual bool slow() const { return false; }
  /// Where the images come from, for messages ("IDX pixels 28x28").
  virtual std::string describe() const = 0;
};

/// Rows of `x` as width x height grey images (x has width * height columns;
/// values 0..max_value). `keep_alive` owns the memory x points into.
std::shared_ptr<ThumbnailSource> thumbnails_from_pixels(ConstView x, int width, int height,
                                                        std::shared_ptr<const void> keep_alive,
                                                        float max_value = 255.0f);

/// The images a data set carries by itself: IDX image sets (MNIST,
/// Fashion-MNIST: square uint8 images) give their pixels; others nullptr.
std::shared_ptr<ThumbnailSource> dataset_thumbnails(const Dataset& ds);

/// A TensorBoard-projector sprite sheet: one PNG/JPEG with tile_width x
/// tile_height thumbnails in row-major order from the top-left (row i at
/// column i % per_row, line i / per_row). Unlike TensorBoard the sheet may
/// exceed 8192 pixels. Also accepts an IDX images file or an MNIST-style
/// folder of them (their own tile size; tile_width/height 0). InputError when it cannot be read or holds fewer
/// than `rows` tiles.
std::shared_ptr<ThumbnailSource> sprite_sheet(const std::string& path, int tile_width, int tile_height,
                                              int64_t rows);

/// One image file per row (PNG, JPEG, BMP, GIF, TGA...), relative paths taken
/// from `base_dir`; each is fitted (aspect kept, transparent margins) into
/// tile x tile pixels when loaded. Files that cannot be read show a grey cross.
std::shared_ptr<ThumbnailSource> image_files(std::vector<std::string> paths, std::string base_dir,
                                             int tile = 64);

/// Thumbnails for a command line: `sprite` (a sheet or IDX file; "WxH" in
/// `sprite_size` for sheets), else the metadata column `image_column` of file
/// paths (relative to `base_dir`), else the data set's own images; nullptr
/// when none applies. InputError for a bad size, a missing column or file.
std::shared_ptr<ThumbnailSource> thumbnails_for(const Dataset& ds, const std::string& sprite,
                                                const std::string& sprite_size, const std::string& image_column,
                                                const std::string& base_dir);

struct ThumbnailStats {
  int64_t loaded = 0;    ///< images on the device now
  int64_t capacity = 0;  ///< images that fit at once
  int64_t pending = 0;   ///< requested in the last frame but not loaded yet
  int64_t hidden = 0;    ///< left out of the last frame: wholly behind nearer ones (PointStyle::cull_hidden)
};

/// Which row's image is in which of `capacity` device slots. Rows are given
/// slots when requested; when all are taken, the slots of the rows requested
/// longest ago are reused (a clock sweep), never one requested in the same call.
class ThumbnailCache {
 public:
  ThumbnailCache(int64_t rows, int64_t capacity);

  struct Assignment {
    int64_t row = -1;
    int32_t slot = -1;
  };
  /// Marks `wanted` as in use and gives a slot to at most `max_new` of those
  /// without one, in order. Returns those assignments (their images must be
  /// uploaded); rows that lost their slot are in evicted() until the next call.
  std::vector<Assignment> assign(std::span<const int64_t> wanted, int64_t max_new);
  const std::vector<int64_t>& evicted() const { return evicted_; }
  /// The row's slot, or -1.
  int32_t slot(int64_t row) const { return slot_of_row_[size_t(row)]; }
  int64_t capacity() const { return int64_t(row_of_slot_.size()); }
  int64_t loaded() const { return used_; }
  /// Wanted rows without a slot after the last assign().
  int64_t pending() const { return pending_; }

 private:
  std::vector<int32_t> slot_of_row_;
  std::vector<int64_t> row_of_slot_;
  std::vector<uint64_t> last_wanted_;  // per slot: the call that last wanted its row
  uint64_t tick_ = 0;
  int64_t used_ = 0, hand_ = 0, pending_ = 0;
  std::vector<int64_t> evicted_;
};

}  // namespace prism::render
