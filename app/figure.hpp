#pragma once
// PNG pictures of a projection for reduce/bench/batch: the renderer when
// Prism was built with it, else a clear error.
#include <string>
#include <vector>

#include "prism/dataset.hpp"

namespace prism::app {

struct PngOptions {
  std::string title;
  int width = 1920, height = 1080;      ///< pixels
  float azimuth = 30, elevation = 20;   ///< degrees, 3D views only
};

/// Renders y (2 or 3 columns) coloured by the label column to a PNG with a legend.
void render_projection_png(const std::string& path, ConstView y, const Metadata& meta, const PngOptions& options);

/// One panel of a small-multiples picture.
struct Panel {
  ConstView y;
  const Metadata* meta = nullptr;
  std::string title;
};
/// Renders every panel (tile_w x tile_h pixels each) into one grid PNG.
void render_grid_png(const std::string& path, const std::vector<Panel>& panels, int tile_w = 520, int tile_h = 440);

}  // namespace prism::app
