#include "figure.hpp"

#ifdef PRISM_HAVE_VIEWER
#include "prism/render/figure.hpp"
#endif

namespace prism::app {

void render_projection_png(const std::string& path, ConstView y, const Metadata& meta, const std::string& title) {
#ifdef PRISM_HAVE_VIEWER
  render::FigureOptions o;
  o.title = title;
  render::render_figure(y, meta.empty() ? nullptr : &meta, o, path);
#else
  throw InputError(cat("--png ", path, ": this prism was built without the renderer (PRISM_WITH_VIEWER=OFF)"));
#endif
}

}  // namespace prism::app
