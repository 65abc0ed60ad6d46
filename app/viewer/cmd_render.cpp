// prism render: a projection (n x 2 or n x 3) to a PNG figure with a legend.
#include <chrono>
#include <filesystem>

#include "command.hpp"
#include "common.hpp"
#include "prism/render/figure.hpp"
#include "prism/render/thumbnails.hpp"

namespace prism::app {
namespace {

struct RenderCommand {
  InputOptions input;
  std::string labels;
  std::string color_by;
  std::string out;
  std::string size = "1920x1080";
  std::string view = "auto";
  std::string title;
  float azimuth = 30.0f, elevation = 20.0f, zoom = 1.0f;
  float point_size = 0.0f, alpha = 0.0f, image_size = 0.0f;
  std::string images, sprite_size, image_column;
  bool no_legend = false, no_class_labels = false, compute = false;

  int run() {
    const auto t0 = std::chrono::steady_clock::now();
    Dataset ds = input.read();
    PRISM_EXPECTS(ds.cols() == 2 || ds.cols() == 3, input.path, " has ", ds.cols(),
                  " columns: render needs a projection with 2 or 3 (run 'prism reduce' first)");
    if (!labels.empty()) {
      Metadata l = read_metadata_tsv(labels, ds.rows());
      // A one-column file is the labels; with a header, take the first column.
      ds.meta.add(ds.meta.find("label") < 0 ? "label" : "labels", l.columns[0], true);
    }
    render::FigureOptions o;
    render::parse_size(size, &o.width, &o.height);
    if (view == "2d") o.view = render::ViewMode::two_d;
    else if (view == "3d") o.view = render::ViewMode::three_d;
    else PRISM_EXPECTS(view == "auto", "bad --view '", view, "': expected 2d, 3d or auto");
    PRISM_EXPECTS(o.view != render::ViewMode::three_d || ds.cols() == 3,
                  "--view 3d needs a projection with 3 columns; ", input.path, " has 2");
    o.azimuth = azimuth;
    o.elevation = elevation;
    o.zoom = zoom;
    o.point_size = point_size;
    o.alpha = alpha;
    o.color_by = color_by;
    o.legend = !no_legend;
    o.class_labels = !no_class_labels;
    o.title = title;
    if (compute) o.rasterizer = render::Rasterizer::compute;
    if (!images.empty() || !image_column.empty()) {
      PRISM_EXPECTS(!compute, "--images draws textured quads: not with --compute");
      PRISM_EXPECTS(image_size >= 0 && image_size <= 512, "--image-size must be in [0, 512] pixels");
      const std::string base = std::filesystem::path(input.metadata).parent_path().string();
      o.images = render::thumbnails_for(ds, images, sprite_size, image_column, base);
      PRISM_EXPECTS(o.images != nullptr, "--images: no images found");
      PRISM_EXPECTS(o.images->count() >= ds.rows(), o.images->describe(), " has ", o.images->count(),
                    " images but the projection has ", ds.rows(), " rows");
      o.image_px = image_size;
      // A projection without labels takes an IDX set's own (Fashion-MNIST's class names).
      std::error_code ec;
      if (ds.meta.empty() && !images.empty() && sprite_size.empty() &&
          (std::filesystem::is_directory(images, ec) || detect_format(images) == Format::idx)) {
        Dataset idx = read_dataset(images, ReadOptions{.format = std::filesystem::is_directory(images, ec)
                                                                     ? Format::automatic
                                                                     : Format::idx});
        if (idx.rows() == ds.rows() && !idx.meta.empty()) ds.meta = std::move(idx.meta);
      }
    }
    render::render_figure(ds.x, ds.meta.empty() ? nullptr : &ds.meta, o, out);
    note(cat("wrote ", out, " (", o.width, "x", o.height, ", ", ds.rows(), " points) in ", seconds_since(t0), " s"));
    return 0;
  }
};

std::function<int()> setup(CLI::App& sub) {
  auto cmd = std::make_shared<RenderCommand>();
  sub.footer(
      "Examples:\n"
      "  prism render umap.npy --labels labels.tsv --out umap.png\n"
      "  prism render umap3d.npy --metadata meta.tsv --color-by genre --azimuth 45 --elevation 30 --out fig.png\n"
      "  prism render tsne.npy --metadata meta.tsv --color-by score --size 3840x2160 --point-size 3 --out big.png\n"
      "  prism render fmnist_tsne.npy --images /usr/share/datasets/fashion-mnist --out thumbs.png");
  cmd->input.add_to(sub);
  sub.add_option("--labels", cmd->labels, "Labels, one per line (or a TSV whose first column is used)");
  sub.add_option("--color-by", cmd->color_by,
                 "Metadata column to colour by (default: the label column); numeric columns with many values "
                 "get a colour map");
  sub.add_option("-o,--out", cmd->out, "Output PNG (written atomically)")->required();
  sub.add_option("--size", cmd->size, "Image size WIDTHxHEIGHT")->capture_default_str();
  sub.add_option("--view", cmd->view, "2d, 3d or auto (by column count)")->capture_default_str();
  sub.add_option("--azimuth", cmd->azimuth, "3D: degrees about the vertical axis")->capture_default_str();
  sub.add_option("--elevation", cmd->elevation, "3D: degrees above the horizontal plane")->capture_default_str();
  sub.add_option("--zoom", cmd->zoom, "Magnification about the data's centre")->capture_default_str();
  sub.add_option("--point-size", cmd->point_size, "Point diameter in pixels (0: from the point count)");
  sub.add_option("--alpha", cmd->alpha, "Point opacity in (0, 1] (0: from the point count)");
  sub.add_option("--title", cmd->title, "Title drawn at the top left");
  sub.add_flag("--no-legend", cmd->no_legend, "No legend or colour bar");
  sub.add_flag("--no-class-labels", cmd->no_class_labels, "No class names at the class centres");
  sub.add_option("--images", cmd->images,
                 "Thumbnails in place of the points: IDX images (a file or an MNIST-style folder) or a "
                 "TensorBoard-style sprite sheet (with --sprite-size), one per row")
      ->group("Images");
  sub.add_option("--sprite-size", cmd->sprite_size, "One thumbnail of the --images sprite sheet, WIDTHxHEIGHT")
      ->group("Images");
  sub.add_option("--image-column", cmd->image_column,
                 "Thumbnails from a metadata column of image file paths (relative to the metadata file)")
      ->group("Images");
  sub.add_option("--image-size", cmd->image_size, "Thumbnail edge in pixels (0: from the point count)")
      ->group("Images");
  sub.add_flag("--compute", cmd->compute,
               "Rasterise with compute shaders (64-bit atomics): faster for millions of points, no rings");
  return [cmd] { return cmd->run(); };
}

PRISM_COMMAND("render", "Draw a 2D/3D projection to a PNG with a legend (Vulkan, offscreen)", 60, setup);

}  // namespace
}  // namespace prism::app
