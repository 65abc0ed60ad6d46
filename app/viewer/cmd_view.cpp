// prism view: the interactive viewer (GLFW window, Vulkan points, Dear ImGui
// panels), and its scripted mode for tests (--script actions.txt). The
// controller is ViewerApp; this file is the command line and the frame loop.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "command.hpp"
#include "common.hpp"
#include "prism/io.hpp"
#include "prism/render/colors.hpp"
#include "prism/render/figure.hpp"
#include "prism/render/thumbnails.hpp"
#include "prism/render/window.hpp"
#include "reduce_options.hpp"
#include "viewer_app.hpp"
#include "viewer_model.hpp"
#include "viewer_script.hpp"

namespace prism::app::viewer {
namespace {

struct ViewOptions {
  InputOptions input;
  std::string projection;
  ReduceOptions reduce;  ///< --method, --dims and every reduction parameter, as `prism reduce`
  SeedOption seed;
  std::string script;
  std::string window_size = "1280x800";
  std::string color_by, label_by, size_by;
  float point_size = 0;
  std::string sprite, sprite_size, image_column;
  bool no_images = false;
  bool sprites_at_rest = false;
  int64_t rest_chunk = 1000000;
  double frame_ms = 50;
};

// The metric a projection was made with, from the run summary `prism reduce
// --summary` writes beside it (P.json for P.npy, or P.npy.json).
std::optional<Metric> projection_metric(const std::string& projection, std::string* source) {
  namespace fs = std::filesystem;
  const fs::path p(projection);
  for (const fs::path& candidate : {fs::path(p).replace_extension(".json"), fs::path(projection + ".json")}) {
    std::error_code ec;
    if (!fs::is_regular_file(candidate, ec)) continue;
    std::ifstream in(candidate);
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("params") || !j["params"].contains("metric") ||
        !j["params"]["metric"].is_string())
      continue;
    try {
      const Metric m = parse_metric(j["params"]["metric"].get<std::string>());
      *source = candidate.string();
      return m;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

int run_view(ViewOptions& o) {
  PRISM_EXPECTS(o.reduce.dims == 2 || o.reduce.dims == 3, "--dims must be 2 or 3");
  PRISM_EXPECTS(o.frame_ms >= 5 && o.frame_ms <= 1000, "--frame-ms must be in [5, 1000]");
  const uint64_t seed = o.seed.resolve();
  ReduceParams params = o.reduce.resolve(seed);  // bad parameters fail before any window opens
  int ww = 0, wh = 0;
  render::parse_size(o.window_size, &ww, &wh);
  std::vector<ScriptLine> script;
  if (!o.script.empty()) script = read_script(o.script, viewer_actions());  // fail before opening a window
  Dataset ds = o.input.read();
  PRISM_EXPECTS(ds.rows() > 0, o.input.path, " has no rows");
  for (const auto& n : ds.meta.notes) note(n);
  // Columns named on the command line exist (and --size-by is numeric) before a window opens.
  for (const auto& [flag, column] : {std::pair{"--color-by", &o.color_by}, {"--label-by", &o.label_by},
                                     {"--size-by", &o.size_by}}) {
    if (column->empty() || ds.meta.find(*column) >= 0) continue;
    std::string names;
    for (const auto& n : ds.meta.names) names += cat(names.empty() ? "" : ", ", n);
    throw InputError(cat(flag, " ", *column, ": no such metadata column; available: ",
                         names.empty() ? std::string("(none: no --metadata given)") : names));
  }
  if (!o.size_by.empty()) render::numeric_column(ds.meta, o.size_by);
  Matrix y;
  bool need_run = false;
  if (!o.projection.empty()) {
    Dataset p = read_dataset(o.projection);
    PRISM_EXPECTS(p.rows() == ds.rows(), o.projection, " has ", p.rows(), " rows but ", o.input.path, " has ",
                  ds.rows());
    PRISM_EXPECTS(p.cols() == 2 || p.cols() == 3, o.projection, " must have 2 or 3 columns, has ", p.cols());
    y = to_matrix(p.x);
    params.dims = int(y.cols());
  } else if (ds.cols() == 2 || ds.cols() == 3) {
    y = to_matrix(ds.x);  // already a projection
  } else {
    y = Matrix(ds.rows(), params.dims, 0.0f);  // replaced by the first live iteration
    need_run = true;
  }
  ViewerConfig config;
  config.params = params;
  config.metric_given = o.reduce.given.count("metric") > 0;
  if (!o.projection.empty())
    config.projection_metric = projection_metric(o.projection, &config.projection_metric_source);
  config.color_by = o.color_by;
  config.label_by = o.label_by;
  config.size_by = o.size_by;
  config.point_size = o.point_size;
  config.seed = seed;
  config.frame_ms = o.frame_ms;
  if (!o.no_images) {
    const std::string base = std::filesystem::path(o.input.metadata).parent_path().string();
    config.images = render::thumbnails_for(ds, o.sprite, o.sprite_size, o.image_column, base);
  }
  ViewerModel model(std::move(ds), std::move(y));
  render::WindowOptions wo;
  wo.width = ww;
  wo.height = wh;
  wo.title = cat("prism view - ", o.input.path);
  wo.compute_rest = !o.sprites_at_rest;
  wo.rest_chunk = o.rest_chunk;
  render::Window window(wo);
  ViewerApp app(model, window, config);
  ScriptSession session{app};
  ScriptRunner<ScriptSession> runner(viewer_actions(), std::move(script));
  if (!o.script.empty()) app.set_scripted();
  if (need_run) app.run_reduction();
  auto last = std::chrono::steady_clock::now();
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    const float dt = std::chrono::duration<float>(now - last).count();
    last = now;
    if (!app.frame(dt)) break;
    if (app.scripted() && !runner.step(session)) break;  // a script ends the session when it runs out
  }
  app.finish();
  return 0;
}

std::function<int()> setup(CLI::App& sub) {
  auto o = std::make_shared<ViewOptions>();
  sub.footer(cat(
      "Examples:\n"
      "  prism view vectors.npy --metadata meta.tsv --method umap\n"
      "  prism view vectors.npy --metadata meta.tsv --projection umap3d.npy --color-by kind\n"
      "  prism view /usr/share/datasets/fashion-mnist --method tsne --perplexity 50 --dims 3\n"
      "  prism view vectors.tsv --metadata meta.tsv --sprite sprite.png --sprite-size 28x28\n"
      "  xvfb-run -a prism view vectors.npy --projection y.npy --script actions.txt\n\n"
      "Script actions (one per line, # comments, \"quotes\" group words; pixels are window pixels from the "
      "top left):\n",
      script_help(viewer_actions())));
  o->input.add_to(sub);
  sub.add_option("--projection", o->projection, "A projection to show (n x 2 or n x 3 .npy/.csv/...)");
  o->reduce.add_to(sub);  // the reduction Run starts (at once when there is no projection)
  o->seed.add_to(sub);
  sub.add_option("--color-by", o->color_by,
                 "Metadata column to colour by (default: the label column). Few values: a palette and a legend; "
                 "numbers: viridis and a colour bar; words or ids: one colour");
  sub.add_option("--label-by", o->label_by, "Metadata column naming points (default: the label column)");
  sub.add_option("--size-by", o->size_by, "Numeric metadata column for the point sizes (area follows the value)");
  sub.add_option("--point-size", o->point_size, "Point diameter in pixels (default: from the point count)");
  sub.add_option("--sprite", o->sprite,
                 "Thumbnails: a TensorBoard-style sprite sheet (PNG/JPEG, with --sprite-size), or IDX images "
                 "(IDX inputs show their own images without it)");
  sub.add_option("--sprite-size", o->sprite_size, "One thumbnail of the sprite sheet, WIDTHxHEIGHT");
  sub.add_option("--image-column", o->image_column,
                 "Thumbnails: a metadata column of image file paths (relative to the metadata file's folder)");
  sub.add_flag("--no-images", o->no_images, "Dots only, even for image data");
  sub.add_flag("--sprites-at-rest", o->sprites_at_rest,
               "Draw the resting camera's full frames as point sprites too (default: the compute rasteriser, "
               "where the device has 64-bit atomics and no thumbnails show)");
  sub.add_option("--rest-chunk", o->rest_chunk,
                 "Points the compute rasteriser adds per frame while a resting frame fills in (0: all at once)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--frame-ms", o->frame_ms,
                 "Frame time a moving camera aims at: it draws a uniform sample that fits, all points at rest")
      ->capture_default_str();
  sub.add_option("--window", o->window_size, "Window size WIDTHxHEIGHT")->capture_default_str();
  sub.add_option("--script", o->script, "Replay actions from a file without a person, then exit");
  return [o] { return run_view(*o); };
}

PRISM_COMMAND("view", "Interactive viewer: explore, search, select, neighbours, live t-SNE/UMAP", 70, setup);

}  // namespace
}  // namespace prism::app::viewer
