#include "viewer_script.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "prism/io.hpp"
#include "prism/render/selection.hpp"
#include "viewer_app.hpp"

namespace prism::app::viewer {

namespace {

using S = ScriptSession;
using L = ScriptLine;

bool on_off(const L& l, size_t i, bool fallback) {
  const std::string w = l.word(i, fallback ? "on" : "off");
  PRISM_EXPECTS(w == "on" || w == "off", l.where(), ": expected on or off, got '", w, "'");
  return w == "on";
}

// Waits `frames` frames (the first call starts the count).
Step wait_for(S& s, int frames) {
  if (s.wait_frames < 0) s.wait_frames = frames;
  if (s.wait_frames-- > 0) return Step::again;
  s.wait_frames = -1;
  return Step::done;
}

// Picks through the GPU id buffer at (x, y) like the mouse: the pick pixel is
// read back two frames later (two frames in flight). Returns the row or -2 while waiting.
int64_t pick_at(S& s, const L& l) {
  if (s.wait_frames < 0) {
    s.app.window().set_pick_pixel(int(l.number(1)), int(l.number(2)));
    s.wait_frames = 3;
    return -2;
  }
  if (s.wait_frames-- > 0) return -2;
  s.wait_frames = -1;
  return s.app.window().picked();
}

Step do_wait(S& s, const L& l) { return wait_for(s, int(l.number(1, 1))); }

Step do_run(S& s, const L&) {
  s.app.run_reduction();
  return Step::done;
}

Step do_wait_run(S& s, const L& l) {
  if (s.app.live().running()) return Step::again;
  const auto st = s.app.live().status();
  PRISM_EXPECTS(st.stage != "error", l.where(), ": reduction failed: ", st.error);
  return Step::done;
}

Step do_stop(S& s, const L&) {
  s.app.stop_reduction();
  return Step::done;
}

Step do_rotate(S& s, const L& l) {
  s.app.camera().rotate(float(l.number(1)), float(l.number(2, 0)));
  return Step::done;
}

Step do_zoom(S& s, const L& l) {
  const double f = l.number(1);
  PRISM_EXPECTS(f > 0, l.where(), ": zoom factor must be positive");
  s.app.camera().zoom_at({s.app.window().width() * 0.5f, s.app.window().height() * 0.5f}, float(1.0 / f));
  return Step::done;
}

Step do_pan(S& s, const L& l) {
  s.app.camera().pan({float(l.number(1)), float(l.number(2))});
  return Step::done;
}

Step do_fit(S& s, const L&) {
  s.app.fit(false);
  return Step::done;
}

Step do_view(S& s, const L& l) {
  PRISM_EXPECTS(l.word(1) == "2d" || l.word(1) == "3d", l.where(), ": view 2d|3d");
  s.app.set_view_2d(l.word(1) == "2d");
  return Step::done;
}

Step do_look_at(S& s, const L& l) {
  s.app.look_at(int64_t(l.number(1)), float(l.number(2, 1)));
  return Step::done;
}

Step do_color_by(S& s, const L& l) {
  if (l.word(1) == "-") s.app.set_color_by(std::nullopt);
  else s.app.set_color_by(l.word(1));
  return Step::done;
}

Step do_label_by(S& s, const L& l) {
  s.app.set_label_by(l.word(1));
  return Step::done;
}

Step do_size_by(S& s, const L& l) {
  s.app.set_size_by(l.word(1));
  return Step::done;
}

Step do_point_size(S& s, const L& l) {
  s.app.style().point_size = float(l.number(1));
  return Step::done;
}

Step do_labels(S& s, const L& l) {
  s.app.display().point_labels = on_off(l, 1, true);
  if (l.args() > 1) s.app.display().label_limit = std::max(0, int(l.number(2)));
  return Step::done;
}

Step do_images(S& s, const L& l) {
  PRISM_EXPECTS(s.app.has_images(), l.where(), ": no images (IDX input, --sprite or --image-column)");
  s.app.display().images = on_off(l, 1, true);
  if (l.args() > 1) s.app.display().image_scale = float(l.number(2));
  return Step::done;
}

Step do_search(S& s, const L& l) {
  const auto& v = l.words;
  const std::string column = v.size() > 2 && v[2] != "regex" ? v[2] : "";
  const bool regex = std::find(v.begin() + 2, v.end(), "regex") != v.end();
  s.app.search(v[1], column, regex);
  s.app.note(cat("search '", v[1], "': ", s.app.model().matches().size(), " matches"));
  return Step::done;
}

Step do_select_matches(S& s, const L&) {
  s.app.select_matches();
  return Step::done;
}

std::vector<int64_t> row_args(const L& l) {
  std::vector<int64_t> ids;
  for (size_t i = 1; i < l.words.size(); ++i) ids.push_back(int64_t(l.number(i)));
  return ids;
}

Step do_select(S& s, const L& l) {
  s.app.select(row_args(l), SelectMode::replace);
  return Step::done;
}

Step do_add(S& s, const L& l) {
  s.app.select(row_args(l), SelectMode::add);
  return Step::done;
}

Step do_select_box(S& s, const L& l) {
  s.app.select(render::select_box(s.app.model().y(), s.app.camera(), {float(l.number(1)), float(l.number(2))},
                                  {float(l.number(3)), float(l.number(4))}));
  s.app.note(cat("select-box: ", s.app.model().selection().size(), " points"));
  return Step::done;
}

Step do_select_lasso(S& s, const L& l) {
  PRISM_EXPECTS(l.args() % 2 == 0, l.where(), ": select-lasso takes X Y pairs");
  std::vector<glm::vec2> poly;
  for (size_t i = 1; i + 1 < l.words.size(); i += 2) poly.push_back({float(l.number(i)), float(l.number(i + 1))});
  s.app.select(render::select_lasso(s.app.model().y(), s.app.camera(), poly));
  return Step::done;
}

Step do_click(S& s, const L& l) {
  const int64_t id = pick_at(s, l);
  if (id == -2) return Step::again;
  s.app.set_hovered(id);
  s.app.select(id >= 0 ? std::vector<int64_t>{id} : std::vector<int64_t>{});
  s.app.note(cat("click: row ", id));
  return Step::done;
}

Step do_hover(S& s, const L& l) {
  const int64_t id = pick_at(s, l);
  if (id == -2) return Step::again;
  s.app.set_hovered(id);
  s.app.note(cat("hover: row ", id));
  return Step::done;
}

Step do_neighbours(S& s, const L& l) {
  PRISM_EXPECTS(!s.app.model().selection().empty(), l.where(), ": neighbours needs a selected point");
  ViewerModel& m = s.app.model();
  const int k = int(l.number(1, 10));
  s.app.find_neighbours(k, l.args() > 1 ? std::optional<Metric>(parse_metric(l.word(2))) : std::nullopt);
  s.app.note(cat("neighbours of row ", m.neighbors_of(), ": ", m.neighbors().size(), " by ",
                 to_string(m.neighbors_metric()),
                 l.args() > 1 ? std::string(" (given)") : cat(" (", m.neighbor_metric_reason(), ")")));
  return Step::done;
}

Step do_metric(S& s, const L& l) {
  s.app.set_metric(parse_metric(l.word(1)), "set by the script");
  return Step::done;
}

Step do_select_neighbours(S& s, const L&) {
  s.app.select_neighbours();
  return Step::done;
}

Step do_legend(S& s, const L& l) {
  if (l.word(1) == "off") s.app.clear_focus();
  else s.app.focus_class(l.word(1), l.word(2) == "add");
  return Step::done;
}

Step do_isolate(S& s, const L& l) {
  s.app.display().isolate = on_off(l, 1, true);
  return Step::done;
}

Step do_clear(S& s, const L&) {
  s.app.clear_selection();
  return Step::done;
}

Step do_export(S& s, const L& l) {
  s.app.model().export_selection(l.word(1));
  return Step::done;
}

Step do_export_neighbours(S& s, const L& l) {
  s.app.model().export_neighbors(l.word(1));
  return Step::done;
}

Step do_export_labels(S& s, const L& l) {
  AtomicFile f(l.word(1));
  // kind: point (an on-screen point label, with its depth), class (a class
  // name at its centre) or marked (hovered, selected, neighbour, near the cursor).
  std::string out = "row,text,x0,y0,x1,y1,anchor_x,anchor_y,kind,depth\n";
  char buf[160];
  for (const ShownLabel& sl : s.app.shown_labels()) {
    std::snprintf(buf, sizeof(buf), ",%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%s,%.6g\n", sl.box_min.x, sl.box_min.y,
                  sl.box_max.x, sl.box_max.y, sl.anchor.x, sl.anchor.y,
                  sl.point ? "point" : sl.row < 0 ? "class" : "marked", sl.depth);
    out += cat(sl.row, ",", delimited_field(sl.text, ','), buf);
  }
  f.write(out);
  f.commit();
  return Step::done;
}

// The script's mouse: ImGui (panels, legend) and the viewer's input see it
// as a person's pointer; it stays until "mouse off".
Step do_mouse(S& s, const L& l) {
  if (s.wait_frames < 0) {
    if (l.word(1) == "off") {
      s.app.window().clear_scripted_mouse();
      return Step::done;
    }
    bool down = false, shift = false;
    for (size_t i = 3; i < l.words.size(); ++i) {
      const std::string& w = l.words[i];
      PRISM_EXPECTS(w == "down" || w == "up" || w == "shift", l.where(), ": expected down, up or shift, got '", w, "'");
      down |= w == "down";
      shift |= w == "shift";
    }
    s.app.window().set_scripted_mouse(float(l.number(1)), float(l.number(2)), down, shift);
  }
  return wait_for(s, 3);  // ImGui and the pick readback (two frames in flight) catch up
}

// Clicks a legend entry with the script's mouse: move there, press, release.
Step do_legend_click(S& s, const L& l) {
  ViewerApp& a = s.app;
  if (s.wait_frames < 0) {
    const auto& cl = a.model().colors().classes;
    const auto it = std::find(cl.begin(), cl.end(), l.word(1));
    PRISM_EXPECTS(it != cl.end(), l.where(), ": no class '", l.word(1), "' in the legend");
    const int32_t c = int32_t(it - cl.begin());
    glm::vec2 at(-1.0f);
    for (const OverlayBox& b : a.legend_entries())
      if (b.index == c) at = 0.5f * (b.box_min + b.box_max);
    PRISM_EXPECTS(at.x >= 0, l.where(), ": the legend shows no entry '", l.word(1), "'");
    s.click_at = at;
    s.wait_frames = 4;
  }
  const bool shift = l.word(2) == "shift";
  switch (s.wait_frames--) {
    case 4: a.window().set_scripted_mouse(s.click_at.x, s.click_at.y, false, shift); break;
    case 3: a.window().set_scripted_mouse(s.click_at.x, s.click_at.y, true, shift); break;
    case 2: a.window().set_scripted_mouse(s.click_at.x, s.click_at.y, false, shift); break;
    case 1: break;
    default:
      s.wait_frames = -1;
      return Step::done;
  }
  return Step::again;
}

// What the viewer shows, as JSON: colours and legend, focus, neighbour
// metric, labels, the tooltip, selection, sizes (tests read it).
Step do_export_state(S& s, const L& l) {
  ViewerApp& a = s.app;
  ViewerModel& m = a.model();
  const render::PointColors& pc = m.colors();
  using nlohmann::json;
  json j;
  const char* kinds[] = {"uniform", "categorical", "continuous"};
  nlohmann::json colour = {{"asked", a.color_column()}, {"column", pc.column}, {"kind", kinds[int(pc.kind)]},
                           {"note", pc.note}};
  if (pc.kind == render::ColorKind::categorical) {
    colour["classes"] = pc.classes;
    colour["counts"] = pc.class_counts;
    std::vector<std::string> focused;
    for (size_t c = 0; c < pc.classes.size(); ++c)
      if (m.is_focused(int32_t(c))) focused.push_back(pc.classes[c]);
    colour["focused"] = focused;
  }
  if (pc.kind == render::ColorKind::continuous) colour["min"] = pc.min, colour["max"] = pc.max;
  j["colour"] = colour;
  nlohmann::json legend = nlohmann::json::array();
  for (const OverlayBox& b : a.legend_entries())
    legend.push_back({{"class", pc.classes[size_t(b.index)]}, {"box", {b.box_min.x, b.box_min.y, b.box_max.x, b.box_max.y}}});
  j["legend"] = legend;
  auto box_json = [](const OverlayBox& b) {
    return b.index < 0 ? json(nullptr) : json({b.box_min.x, b.box_min.y, b.box_max.x, b.box_max.y});
  };
  j["legend_box"] = box_json(a.legend_box());
  j["colour_bar"] = box_json(a.colour_bar_box());
  j["metric"] = {{"name", to_string(m.neighbor_metric())}, {"reason", m.neighbor_metric_reason()}};
  int point_labels = 0;
  for (const ShownLabel& sl : a.shown_labels()) point_labels += sl.point;
  j["labels"] = {{"on", a.display().point_labels}, {"limit", a.display().label_limit},
                 {"shown", a.shown_labels().size()}, {"points", point_labels}};
  j["hovered"] = m.hovered();
  const OverlayBox& t = a.tooltip_box();
  if (t.index >= 0) {
    nlohmann::json fields = nlohmann::json::object();
    for (const auto& [name, value] : m.fields(m.hovered())) fields[name] = value;
    j["tooltip"] = {{"row", m.hovered()}, {"fields", fields}, {"box", {t.box_min.x, t.box_min.y, t.box_max.x, t.box_max.y}}};
  }
  j["selection"] = m.selection().size();
  j["size_by"] = m.size_column();
  j["frame_points"] = a.frame_points();
  j["rows"] = m.rows();
  AtomicFile f(l.word(1));
  f.write(j.dump(2) + "\n");
  f.commit();
  return Step::done;
}

Step do_screenshot(S& s, const L& l) {
  if (!s.shot_requested) {
    if (s.app.moving()) return Step::again;  // the full set, not the moving sample
    s.app.screenshot(l.word(1));
    s.shot_requested = true;
    return Step::again;
  }
  if (s.app.window().screenshot_pending()) return Step::again;
  s.shot_requested = false;
  return Step::done;
}

// Turns the camera a little every frame, as a steady drag does.
Step do_spin(S& s, const L& l) {
  if (s.wait_frames < 0) s.wait_frames = int(l.number(2));
  if (s.wait_frames-- > 0) {
    s.app.camera().rotate(float(l.number(1)), float(l.number(3, 0)));
    return Step::again;
  }
  s.wait_frames = -1;
  return Step::done;
}

// Rested, and the frame with every point finished on the device (frame-stats'
// ms_since_change then says how long full detail took after the camera stopped).
Step do_wait_rest(S& s, const L&) {
  if (!s.app.rested()) return Step::again;
  s.app.window().wait_idle();
  return Step::done;
}

std::string stats_json(const std::vector<FrameRecord>& log, bool moving) {
  std::vector<double> ms;
  double points = 0;
  for (const FrameRecord& f : log)
    if (f.moving == moving && f.points > 0) ms.push_back(f.ms), points += double(f.points);
  if (ms.empty()) return "{\"frames\": 0}";
  const size_t n = ms.size();
  double sum = 0;
  for (double v : ms) sum += v;
  std::sort(ms.begin(), ms.end());
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "{\"frames\": %zu, \"mean_ms\": %.2f, \"median_ms\": %.2f, \"p90_ms\": %.2f, \"fps\": %.2f, "
                "\"mean_points\": %.0f}",
                n, sum / double(n), ms[n / 2], ms[std::min(n - 1, n * 9 / 10)], 1000.0 * double(n) / sum,
                points / double(n));
  return buf;
}

Step do_frame_stats(S& s, const L& l) {
  const auto& log = s.app.frame_log();
  AtomicFile f(l.word(1));
  f.write(cat("{\n  \"points\": ", s.app.model().rows(), ",\n  \"window\": \"", s.app.window().width(), "x",
              s.app.window().height(), "\",\n  \"moving\": ", stats_json(log, true), ",\n  \"rest\": ",
              stats_json(log, false), ",\n  \"budget\": ", s.app.budget().budget(), ",\n  \"per_point_ns\": ",
              s.app.budget().per_point_ns(), ",\n  \"fixed_ms\": ", s.app.budget().fixed_ms(), ",\n  \"ms_since_change\": ", s.app.ms_since_change(), ",\n  \"rasterizer\": \"",
              s.app.window().last_rasterizer() == render::Rasterizer::compute ? "compute" : "sprites", "\"\n}\n"));
  f.commit();
  s.app.clear_frame_log();
  return Step::done;
}

Step do_quit(S& s, const L&) {
  s.app.quit();
  return Step::done;
}

constexpr int kAny = -1;

const ScriptAction<S> kActions[] = {
    {"wait", "[N]", "let N frames pass (default 1)", 0, 1, do_wait},
    {"run", "", "start the reduction (--method and its parameters)", 0, 0, do_run},
    {"wait-run", "", "wait until the reduction has finished", 0, 0, do_wait_run},
    {"stop", "", "stop the reduction", 0, 0, do_stop},
    {"rotate", "YAW [PITCH]", "turn the camera, degrees", 1, 2, do_rotate},
    {"zoom", "FACTOR", "zoom in (> 1) or out about the window's centre", 1, 1, do_zoom},
    {"pan", "DX DY", "move the scene, pixels", 2, 2, do_pan},
    {"fit", "", "fit the data into the view", 0, 0, do_fit},
    {"view", "2d|3d", "flat or 3D view", 1, 1, do_view},
    {"look-at", "ROW [ZOOM]", "centre row ROW, ZOOM times closer", 1, 2, do_look_at},
    {"color-by", "[COLUMN|-]", "colour by a column (default the label column; - one colour)", 0, 1, do_color_by},
    {"label-by", "[COLUMN]", "name points by a column (default row ids)", 0, 1, do_label_by},
    {"size-by", "[COLUMN]", "size points by a numeric column (default one size)", 0, 1, do_size_by},
    {"point-size", "PX", "point diameter, pixels", 1, 1, do_point_size},
    {"labels", "on|off [MAX]", "label text of points that stand apart, at most MAX", 1, 2, do_labels},
    {"images", "on|off [SCALE]", "thumbnails in place of dots, SCALE times the automatic size", 1, 2, do_images},
    {"search", "\"TEXT\" [COLUMN] [regex]", "mark rows whose COLUMN contains TEXT", 1, 3, do_search},
    {"select-matches", "", "select the search matches", 0, 0, do_select_matches},
    {"select", "ROW...", "select these rows", 0, kAny, do_select},
    {"add", "ROW...", "add rows to the selection", 0, kAny, do_add},
    {"select-box", "X0 Y0 X1 Y1", "select the points in a box, pixels", 4, 4, do_select_box},
    {"select-lasso", "X Y X Y ...", "select the points in a polygon, pixels", 0, kAny, do_select_lasso},
    {"click", "X Y", "click at a pixel: select the point drawn there", 2, 2, do_click},
    {"hover", "X Y", "hover a pixel: the point there gets its tooltip", 2, 2, do_hover},
    {"neighbours", "[K] [euclidean|cosine]", "K nearest of the selected point in the original space", 0, 2,
     do_neighbours, "neighbors"},
    {"metric", "euclidean|cosine", "the neighbour search's distance", 1, 1, do_metric},
    {"select-neighbours", "", "select the neighbours", 0, 0, do_select_neighbours, "select-neighbors"},
    {"legend", "CLASS [add]|off", "isolate a class as a legend click does (add: Shift+click)", 1, 2, do_legend},
    {"isolate", "[on|off]", "dim everything but the selection", 0, 1, do_isolate},
    {"clear", "", "clear the selection and the neighbours", 0, 0, do_clear},
    {"export", "PATH.csv", "write the selection (row, label, x, y[, z])", 1, 1, do_export},
    {"export-neighbours", "PATH.csv", "write the neighbours (row, label, distance, metric)", 1, 1,
     do_export_neighbours, "export-neighbors"},
    {"export-labels", "PATH.csv", "write the labels of the last frame (row, text, box)", 1, 1, do_export_labels},
    {"export-state", "PATH.json", "write what is shown: colours, legend, focus, metric, labels, tooltip", 1, 1,
     do_export_state},
    {"mouse", "X Y [down|up] [shift] | off", "put the script's mouse at a pixel (panels and the view see it)", 1, 4,
     do_mouse},
    {"legend-click", "CLASS [shift]", "click a legend entry with the mouse (shift: add to the focus)", 1, 2,
     do_legend_click},
    {"screenshot", "PATH.png", "save the window (points and panels) once the camera rests", 1, 1, do_screenshot},
    {"spin", "YAW FRAMES [PITCH]", "turn the camera YAW degrees every frame for FRAMES frames", 2, 3, do_spin},
    {"wait-rest", "", "wait until the camera rests and all points are drawn", 0, 0, do_wait_rest},
    {"frame-stats", "PATH.json", "write frame times (moving, at rest) since the last frame-stats", 1, 1,
     do_frame_stats},
    {"quit", "", "end the session", 0, 0, do_quit},
};

}  // namespace

std::span<const ScriptAction<ScriptSession>> viewer_actions() { return kActions; }

}  // namespace prism::app::viewer
