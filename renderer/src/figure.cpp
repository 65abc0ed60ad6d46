#include "prism/render/figure.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "prism/render/camera.hpp"
#include "prism/render/colors.hpp"
#include "prism/render/renderer.hpp"
#include "prism/render/text.hpp"

namespace prism::render {

namespace {

struct Legend {
  std::vector<std::string> lines;  // class names (categorical) or min/max (continuous)
  std::vector<Rgba8> colors;
  std::string title;
  int width = 0;  // pixels reserved at the right edge, 0 = none
};

// Per-class coordinate-wise median: lands inside the class's densest part more
// often than the mean does for curved or split clusters.
std::vector<glm::vec3> class_centers(ConstView y, const PointColors& pc) {
  const size_t k = pc.classes.size();
  std::vector<std::vector<float>> coords[3];
  for (auto& c : coords) c.resize(k);
  for (int64_t i = 0; i < y.rows; ++i) {
    const int32_t c = pc.class_of[i];
    for (int d = 0; d < int(y.cols); ++d) coords[d][c].push_back(y(i, d));
  }
  std::vector<glm::vec3> out(k, glm::vec3(0.0f));
  for (size_t c = 0; c < k; ++c)
    for (int d = 0; d < int(y.cols); ++d) {
      auto& v = coords[d][c];
      if (v.empty()) continue;
      std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
      out[c][d] = v[v.size() / 2];
    }
  return out;
}

void draw_text_halo(Image& img, const Font& font, float x, float y, const std::string& s, Rgba8 fg, Rgba8 halo) {
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx)
      if (dx || dy) font.draw(img, x + dx, y + dy, s, halo);
  font.draw(img, x, y, s, fg);
}

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

}  // namespace

void parse_size(const std::string& s, int* width, int* height) {
  int w = 0, h = 0;
  char x = 0, extra = 0;
  const int got = std::sscanf(s.c_str(), "%d%c%d%c", &w, &x, &h, &extra);
  PRISM_EXPECTS(got == 3 && (x == 'x' || x == 'X') && w > 0 && h > 0 && w <= 16384 && h <= 16384,
                "bad --size '", s, "': expected WIDTHxHEIGHT, e.g. 1920x1080 (1..16384 per side)");
  *width = w;
  *height = h;
}

Image render_figure_image(ConstView y, const Metadata* meta, const FigureOptions& o) {
  PRISM_EXPECTS(y.cols == 2 || y.cols == 3, "a figure needs a projection with 2 or 3 columns, got ", y.cols);
  PRISM_EXPECTS(y.rows > 0, "the projection has no rows");
  PRISM_EXPECTS(o.width > 0 && o.height > 0, "figure size must be positive");
  PRISM_EXPECTS(o.zoom > 0, "zoom must be positive, got ", o.zoom);
  PRISM_EXPECTS(o.point_size >= 0 && o.point_size <= 255, "point size must be in [0, 255] pixels, got ",
                o.point_size);
  PRISM_EXPECTS(o.alpha >= 0 && o.alpha <= 1, "alpha must be in [0, 1], got ", o.alpha);
  const int64_t n = y.rows;
  const bool has_meta = meta && !meta->empty();
  if (has_meta)
    PRISM_EXPECTS(meta->rows() == n, "metadata has ", meta->rows(), " rows but the projection has ", n);
  PRISM_EXPECTS(o.color_by.empty() || has_meta, "--color-by ", o.color_by, " needs metadata (--metadata)");
  const PointColors colors = has_meta ? colors_by_column(*meta, o.color_by, n) : uniform_colors(n);

  const int W = o.width, H = o.height;
  const Font font(std::clamp(H / 60.0f, 10.0f, 40.0f));
  const float line = font.line_height();
  const int margin = int(std::round(line));

  // Legend contents and the width it takes from the plot.
  Legend legend;
  if (o.legend && colors.kind == ColorKind::categorical) {
    const int max_lines = std::max(1, int((H - 3 * margin) / (line * 1.2f)) - 1);
    const size_t k = colors.classes.size();
    const size_t shown = k > size_t(max_lines) ? size_t(max_lines - 1) : k;
    for (size_t c = 0; c < shown; ++c) {
      legend.lines.push_back(colors.classes[c].empty() ? "(empty)" : colors.classes[c]);
      legend.colors.push_back(colors.class_colors[c]);
    }
    if (shown < k) {
      legend.lines.push_back(cat("... ", k - shown, " more"));
      legend.colors.push_back({0, 0, 0, 0});
    }
  } else if (o.legend && colors.kind == ColorKind::continuous) {
    legend.lines = {format_number(colors.max), format_number(colors.min)};
  }
  if (!legend.lines.empty()) {
    legend.title = colors.column;
    float w = font.measure(legend.title).x;
    for (const auto& s : legend.lines) w = std::max(w, font.measure(s).x);
    legend.width = std::min(int(w + line * 1.5f + 3 * margin), W / 3);
  }

  OffscreenRenderer renderer(W, H);
  PointStyle style;
  style.background = o.background;
  const float area_per_point = float(W) * H / float(n);
  style.point_size = o.point_size > 0 ? o.point_size
                                      : std::clamp(0.6f * std::sqrt(area_per_point), 2.0f, 10.0f);
  style.alpha = o.alpha > 0 ? o.alpha : (n <= 20000 ? 1.0f : n <= 200000 ? 0.8f : 0.5f);

  // Camera: fit the data into the area left of the legend, inset by a point
  // radius so edge points stay whole, then widen the viewport to the whole
  // image and shift the data into that area.
  Camera cam;
  const bool two_d = o.view == ViewMode::two_d || (o.view == ViewMode::automatic && y.cols == 2);
  cam.set_projection(two_d ? Projection::orthographic : Projection::perspective);
  if (!two_d) cam.set_angles(o.azimuth, o.elevation);
  const int inset = std::min(int(std::ceil(style.point_size)), H / 4);
  cam.set_viewport(std::max(W - legend.width - 2 * inset, 1), H - 2 * inset);
  // The scale follows the viewport height, so the inset becomes a zoom-out.
  cam.fit_points(y, o.zoom * float(H - 2 * inset) / float(H), two_d);
  cam.set_viewport(W, H);
  cam.pan({-0.5f * legend.width, 0.0f});

  if (two_d) {
    // Drop z so a 3-column projection viewed in 2D is drawn flat.
    Matrix flat(n, 2);
    for (int64_t i = 0; i < n; ++i) flat(i, 0) = y(i, 0), flat(i, 1) = y(i, 1);
    renderer.set_positions(flat);
  } else {
    renderer.set_positions(y);
  }
  renderer.set_colors(colors.packed);
  if (o.images) {
    PRISM_EXPECTS(o.rasterizer == Rasterizer::sprites, "thumbnails need the sprite rasteriser, not --compute");
    renderer.set_thumbnails(o.images);
    // The first `capacity` rows when not all fit (a device memory budget).
    std::vector<int64_t> rows(size_t(std::min(n, renderer.thumbnail_stats().capacity)));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = int64_t(i);
    renderer.request_thumbnails(rows);
    const float px = o.image_px > 0 ? o.image_px : std::clamp(1.5f * std::sqrt(area_per_point), 12.0f, 96.0f);
    style.image_size = px * cam.world_per_pixel();
    style.image_min_px = 1.0f;
    // Each frame uploads what one staging buffer holds: draw until all are in.
    for (int pass = 0; pass < 1000 && renderer.thumbnail_stats().loaded < int64_t(rows.size()); ++pass)
      renderer.render(cam, style, false, o.rasterizer);
  }
  renderer.render(cam, style, true, o.rasterizer);
  Image img = renderer.color();

  const Rgba8 ink{20, 20, 20, 255};
  const Rgba8 halo{o.background.r, o.background.g, o.background.b, 220};

  // Class names at their centres, never overlapping each other.
  if (o.class_labels && colors.kind == ColorKind::categorical && colors.classes.size() <= 50) {
    std::vector<glm::vec3> centers = class_centers(y, colors);
    std::vector<int64_t> counts(colors.classes.size(), 0);
    for (int32_t c : colors.class_of) ++counts[c];
    std::vector<LabelRequest> req;
    // "(other)" is no place: it has no centre worth a name.
    const size_t named = colors.classes.size() - (colors.has_other ? 1 : 0);
    for (size_t c = 0; c < named; ++c) {
      glm::vec3 p = centers[c];
      if (two_d) p.z = 0;
      glm::vec2 px;
      if (!cam.project(p, &px)) continue;
      req.push_back({px, font.measure(colors.classes[c]), float(counts[c]), int64_t(c), true});
    }
    for (const PlacedLabel& l : layout_labels(req, W - legend.width, H, 3.0f))
      draw_text_halo(img, font, l.box_min.x, l.box_min.y, colors.classes[req[l.request].id], ink, halo);
  }

  if (!legend.lines.empty()) {
    const int x0 = W - legend.width + margin;
    const int box_w = legend.width - 2 * margin;
    const float row = line * 1.2f;
    const int rows = colors.kind == ColorKind::continuous ? 8 : int(legend.lines.size());
    const int box_h = int(row * (rows + 1) + margin);
    img.fill_rect(x0, margin, x0 + box_w, margin + box_h, {255, 255, 255, 200});
    const float tx = x0 + margin * 0.5f;
    float ty = margin + margin * 0.5f;
    font.draw(img, tx, ty, legend.title, ink);
    ty += row;
    if (colors.kind == ColorKind::categorical) {
      for (size_t i = 0; i < legend.lines.size(); ++i, ty += row) {
        if (legend.colors[i].a) img.fill_disc(tx + line * 0.4f, ty + line * 0.5f, line * 0.32f, legend.colors[i]);
        font.draw(img, tx + line * 1.1f, ty, legend.lines[i], ink);
      }
    } else {
      // Colour bar, max at the top.
      const int bar_h = int(row * 7);
      for (int yy = 0; yy < bar_h; ++yy)
        img.fill_rect(int(tx), int(ty) + yy, int(tx + line * 0.8f), int(ty) + yy + 1,
                      viridis(1.0f - float(yy) / std::max(bar_h - 1, 1)));
      font.draw(img, tx + line * 1.1f, ty, legend.lines[0], ink);
      font.draw(img, tx + line * 1.1f, ty + bar_h - line, legend.lines[1], ink);
    }
  }
  if (!o.title.empty()) draw_text_halo(img, font, float(margin), float(margin), o.title, ink, halo);
  return img;
}

void render_figure(ConstView y, const Metadata* meta, const FigureOptions& options, const std::string& png_path) {
  write_png(png_path, render_figure_image(y, meta, options));
}

}  // namespace prism::render
