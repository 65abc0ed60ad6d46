#pragma once
// A finished figure of a projection: points coloured by a column, class
// labels at their centroids, a legend, written as a PNG. What `prism render`,
// `prism reduce --png`, `prism bench` and `prism batch` call.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "prism/dataset.hpp"
#include "prism/matrix.hpp"
#include "prism/render/image.hpp"
#include "prism/render/renderer.hpp"
#include "prism/render/thumbnails.hpp"

namespace prism::render {

enum class ViewMode { automatic, two_d, three_d };  ///< automatic: from y's column count

struct FigureOptions {
  int width = 1920;                     ///< pixels
  int height = 1080;                    ///< pixels
  ViewMode view = ViewMode::automatic;  ///< two_d on 3-column data looks down the z axis
  float azimuth = 30.0f;                ///< degrees about +y (3D only)
  float elevation = 20.0f;              ///< degrees above the x-z plane (3D only)
  float zoom = 1.0f;                    ///< > 1 magnifies about the data's centre
  float point_size = 0.0f;              ///< pixels; 0 picks one from the point count and size
  float alpha = 0.0f;                   ///< opacity; 0 picks one from the point count
  std::string color_by;                 ///< metadata column; "" = the label column
  bool legend = true;                   ///< class legend or colour bar
  bool class_labels = true;             ///< class names at their centroids (categorical, <= 50 classes)
  std::string title;                    ///< drawn top-left when not empty
  Rgba8 background{255, 255, 255, 255};
  /// sprites: round points with rings; compute: the 64-bit atomic path, faster
  /// for millions of points (RuntimeError when the device lacks it).
  Rasterizer rasterizer = Rasterizer::sprites;
  /// Thumbnails drawn in place of the points (sprites only), one per row.
  std::shared_ptr<const ThumbnailSource> images;
  float image_px = 0.0f;  ///< thumbnail edge in pixels; 0 picks one from the point count
};

/// Renders the figure offscreen. y is n x 2 or n x 3 (finite values); meta,
/// when given, has n rows. Throws InputError on bad shapes, unknown columns or
/// options out of range (zoom, point size, alpha),
/// RuntimeError when no Vulkan device is available.
Image render_figure_image(ConstView y, const Metadata* meta, const FigureOptions& options);

/// render_figure_image, then writes the PNG atomically to `png_path`.
void render_figure(ConstView y, const Metadata* meta, const FigureOptions& options,
                   const std::string& png_path);

/// Parses "1920x1080" into width and height (InputError otherwise).
void parse_size(const std::string& s, int* width, int* height);

}  // namespace prism::render
