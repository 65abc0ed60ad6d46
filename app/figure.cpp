#include "figure.hpp"

#include <cmath>

#ifdef PRISM_HAVE_VIEWER
#include "prism/render/figure.hpp"
#endif

namespace prism::app {

void render_projection_png(const std::string& path, ConstView y, const Metadata& meta, const PngOptions& options) {
#ifdef PRISM_HAVE_VIEWER
  render::FigureOptions o;
  o.title = options.title;
  o.width = options.width;
  o.height = options.height;
  o.azimuth = options.azimuth;
  o.elevation = options.elevation;
  render::render_figure(y, meta.empty() ? nullptr : &meta, o, path);
#else
  throw InputError(cat("--png ", path, ": this prism was built without the renderer (PRISM_WITH_VIEWER=OFF)"));
#endif
}

void render_grid_png(const std::string& path, const std::vector<Panel>& panels, int tile_w, int tile_h) {
#ifdef PRISM_HAVE_VIEWER
  PRISM_EXPECTS(!panels.empty(), "nothing to render into ", path);
  const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(panels.size()))));
  const int rows = static_cast<int>((panels.size() + cols - 1) / cols);
  render::Image grid(cols * tile_w, rows * tile_h, render::Rgba8{255, 255, 255, 255});
  for (size_t i = 0; i < panels.size(); ++i) {
    render::FigureOptions o;
    o.width = tile_w;
    o.height = tile_h;
    o.title = panels[i].title;
    o.class_labels = false;
    const render::Image tile = render::render_figure_image(panels[i].y, panels[i].meta, o);
    const int x0 = static_cast<int>(i % cols) * tile_w, y0 = static_cast<int>(i / cols) * tile_h;
    for (int y = 0; y < tile_h; ++y)
      for (int x = 0; x < tile_w; ++x) grid.set(x0 + x, y0 + y, tile.at(x, y));
  }
  render::write_png(path, grid);
#else
  throw InputError(cat("--png ", path, ": this prism was built without the renderer (PRISM_WITH_VIEWER=OFF)"));
#endif
}

}  // namespace prism::app
