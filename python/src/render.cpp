// prism.render: the command's figure (points coloured by a column, class
// labels, legend) rendered offscreen, as an RGBA array and PNG bytes.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "binding.hpp"

#ifdef PRISM_HAVE_RENDERER
#include <stb_image_write.h>

#include "prism/render/figure.hpp"
#endif

namespace prism::py {
namespace {

using Rgba = nb::ndarray<const uint8_t, nb::shape<-1, -1, 4>, nb::c_contig, nb::device::cpu>;

#ifdef PRISM_HAVE_RENDERER
nb::ndarray<nb::numpy, uint8_t> render(InMatrix yin, const std::vector<std::string>& names,
                                       std::vector<std::vector<std::string>> columns, int label_column, int width,
                                       int height, const std::string& view, float azimuth, float elevation,
                                       float zoom, float point_size, float alpha, const std::string& color_by,
                                       bool legend, bool class_labels, const std::string& title,
                                       std::vector<int> background, const std::string& rasterizer) {
  const ConstView y = view_of(yin);
  PRISM_EXPECTS(y.cols == 2 || y.cols == 3, "Y has ", y.cols,
                " columns: a figure needs a projection with 2 or 3 (reduce it first)");
  PRISM_EXPECTS(width > 0 && height > 0 && width <= 16384 && height <= 16384,
                "size must be between 1 and 16384 pixels each way, got ", width, " x ", height);
  PRISM_EXPECTS(zoom > 0, "zoom must be positive, got ", zoom);
  PRISM_EXPECTS(point_size >= 0 && point_size <= 255, "point_size must be in [0, 255] pixels, got ", point_size);
  PRISM_EXPECTS(alpha >= 0 && alpha <= 1, "alpha must be in [0, 1], got ", alpha);
  PRISM_EXPECTS(background.size() == 4, "background must be (r, g, b, a)");
  const Metadata meta = make_metadata(names, std::move(columns), label_column, y.rows);
  render::FigureOptions o;
  o.width = width;
  o.height = height;
  if (view == "2d") o.view = render::ViewMode::two_d;
  else if (view == "3d") o.view = render::ViewMode::three_d;
  else PRISM_EXPECTS(view == "auto", "view must be 'auto', '2d' or '3d', got '", view, "'");
  PRISM_EXPECTS(o.view != render::ViewMode::three_d || y.cols == 3, "view='3d' needs a projection with 3 columns");
  o.azimuth = azimuth;
  o.elevation = elevation;
  o.zoom = zoom;
  o.point_size = point_size;
  o.alpha = alpha;
  o.color_by = color_by;
  o.legend = legend;
  o.class_labels = class_labels;
  o.title = title;
  for (int c : background) PRISM_EXPECTS(c >= 0 && c <= 255, "background values must be in [0, 255]");
  o.background = {static_cast<uint8_t>(background[0]), static_cast<uint8_t>(background[1]),
                  static_cast<uint8_t>(background[2]), static_cast<uint8_t>(background[3])};
  if (rasterizer == "compute") o.rasterizer = render::Rasterizer::compute;
  else PRISM_EXPECTS(rasterizer == "sprites", "rasterizer must be 'sprites' or 'compute', got '", rasterizer, "'");
  render::Image img = run_job(false, 0, [yin, meta, o](PyProgress&) {
    const ConstView y = view_of(yin);
    check_finite(y, "Y");
    return render::render_figure_image(y, meta.empty() ? nullptr : &meta, o);
  });
  const auto h = static_cast<size_t>(img.height), w = static_cast<size_t>(img.width);
  return owned_array(std::move(img.pixels), {h, w, 4});
}

nb::bytes encode_png(Rgba rgba) {
  std::string out;
  const int h = static_cast<int>(rgba.shape(0)), w = static_cast<int>(rgba.shape(1));
  const int ok = stbi_write_png_to_func(
      [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append(static_cast<char*>(data), size); },
      &out, w, h, 4, rgba.data(), w * 4);
  PRISM_CHECK(ok, "PNG encoding of a ", w, " x ", h, " image failed");
  return nb::bytes(out.data(), out.size());
}

void save_png(const std::string& path, Rgba rgba) {
  render::Image img;
  img.height = static_cast<int>(rgba.shape(0));
  img.width = static_cast<int>(rgba.shape(1));
  img.pixels.assign(rgba.data(), rgba.data() + rgba.size());
  render::write_png(path, img);
}
#endif

}  // namespace

void bind_render(nb::module_& m) {
#ifdef PRISM_HAVE_RENDERER
  using namespace nb::literals;
  m.def("render", &render, "y"_a, "names"_a, "columns"_a, "label_column"_a, "width"_a, "height"_a, "view"_a,
        "azimuth"_a, "elevation"_a, "zoom"_a, "point_size"_a, "alpha"_a, "color_by"_a, "legend"_a,
        "class_labels"_a, "title"_a, "background"_a, "rasterizer"_a);
  m.def("encode_png", &encode_png, "rgba"_a);
  m.def("save_png", &save_png, "path"_a, "rgba"_a);
#else
  (void)m;
#endif
}

}  // namespace prism::py
