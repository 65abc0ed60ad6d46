#include "viewer_panels.hpp"

#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cmath>

#include "prism/params.hpp"
#include "prism/render/colors.hpp"
#include "viewer_app.hpp"

namespace prism::app::viewer {

namespace {
const char* const kMethods[] = {"pca", "tsne", "umap"};
const char* const kMetrics[] = {"euclidean", "cosine"};
const char* const kTools[] = {"navigate", "box select", "lasso"};
}  // namespace

ViewerPanels::ViewerPanels(ViewerApp& app) : app_(app) {
  const Metadata& m = app_.model().meta();
  for (const auto& values : m.columns) numeric_.push_back(render::profile_column(values).numeric);
}

void ViewerPanels::draw() {
  ViewerApp& a = app_;
  ImGui::SetNextWindowPos(ImVec2(kPanelX, 8), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize(ImVec2(kPanelWidth, float(std::max(200, a.window().height() - 16))),
                           ImGuiCond_FirstUseEver);
  ImGui::Begin("prism");
  data_section();
  projection_section();
  display_section();
  search_section();
  selection_section();
  neighbours_section();
  if (ImGui::CollapsingHeader("Screenshot")) {
    ImGui::InputText("PNG", &screenshot_path_);
    if (ImGui::Button("Save (P)")) a.screenshot(screenshot_path_);
  }
  if (ImGui::Button("Help (H)")) a.display().show_help = !a.display().show_help;
  if (!a.error().empty()) ImGui::TextColored(ImVec4(1, 0.3f, 0.3f, 1), "%s", a.error().c_str());
  a.set_panel_right(ImGui::IsWindowCollapsed()
                        ? 0.0f
                        : (ImGui::GetWindowPos().x + ImGui::GetWindowSize().x) * ImGui::GetIO().DisplayFramebufferScale.x);
  ImGui::End();
  help_window();
}

void ViewerPanels::data_section() {
  if (!ImGui::CollapsingHeader("Data", ImGuiTreeNodeFlags_DefaultOpen)) return;
  ViewerApp& a = app_;
  const Dataset& d = a.model().data();
  ImGui::TextWrapped("%s", d.source.c_str());
  ImGui::Text("%lld x %lld  %s %s", (long long)d.rows(), (long long)d.cols(), d.format.c_str(), d.dtype.c_str());
  ImGui::Text("metadata: %d columns", int(d.meta.names.size()));
  ImGui::Text("projection: %dD   %.0f fps", int(a.model().y().cols()), ImGui::GetIO().Framerate);
  const int64_t n = a.model().rows();
  if (a.frame_points() < n)
    ImGui::TextColored(ImVec4(0.9f, 0.7f, 0.2f, 1), "moving: %lld of %lld points (%.0f ms frames)",
                       (long long)a.frame_points(), (long long)n, a.frame_ms());
  else
    ImGui::Text("all %lld points drawn", (long long)n);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("While the camera moves a uniform sample is drawn so frames take about %.0f ms;\n"
                      "the full set once it rests. Measured: %.2f ns per point, %.1f ms per frame without points.",
                      a.budget().target_ms(), a.budget().per_point_ns(), a.budget().fixed_ms());
}

void ViewerPanels::projection_section() {
  if (!ImGui::CollapsingHeader("Projection", ImGuiTreeNodeFlags_DefaultOpen)) return;
  ViewerApp& a = app_;
  ReduceParams& p = a.params();
  int method = static_cast<int>(p.method);
  if (ImGui::Combo("method", &method, kMethods, 3)) p.method = static_cast<Method>(method);
  ImGui::SliderInt("dims", &p.dims, 2, 3);
  parameter_widgets();
  ImGui::Checkbox("follow (auto-fit)", &a.display().auto_fit);
  if (!a.live().running()) {
    if (ImGui::Button("Run")) a.run_reduction();
  } else if (ImGui::Button("Stop")) {
    a.stop_reduction();
  }
  const auto st = a.live().status();
  if (!st.stage.empty()) {
    ImGui::SameLine();
    ImGui::Text("%s %lld/%lld  %.1f s", st.stage.c_str(), (long long)st.done, (long long)st.total, st.seconds);
    if (st.total > 0) ImGui::ProgressBar(float(st.done) / float(st.total));
    if (!std::isnan(st.objective) && st.objective != 0) ImGui::Text("objective %.4f", st.objective);
    if (!st.error.empty()) ImGui::TextColored(ImVec4(1, 0.3f, 0.3f, 1), "%s", st.error.c_str());
  }
}

// The method's parameters, one widget each, from the engine's parameter table;
// a value out of range is refused with the table's message.
void ViewerPanels::parameter_widgets() {
  if (!ImGui::TreeNode("parameters")) return;
  ReduceParams& params = app_.params();
  for (const ParamSpec* spec : params_of(params.method)) {
    const std::string label(spec->name);
    ParamValue v = get_param(params, *spec);
    bool changed = false;
    if (std::holds_alternative<std::string>(v) && spec->type != ParamType::choice) {
      // An automatic value: edit it from its default once the box is ticked.
      bool manual = false;
      if (ImGui::Checkbox(cat(label, ": ", spec->automatic).c_str(), &manual) && manual) {
        v = spec->type == ParamType::integer ? ParamValue(int64_t(std::max(1.0, spec->min)))
                                             : ParamValue(std::max(1.0, spec->min));
        changed = true;
      }
    } else {
      switch (spec->type) {
        case ParamType::boolean: {
          bool b = std::get<bool>(v);
          if ((changed = ImGui::Checkbox(label.c_str(), &b))) v = b;
          break;
        }
        case ParamType::integer: {
          int i = int(std::get<int64_t>(v));
          if ((changed = ImGui::InputInt(label.c_str(), &i))) v = int64_t(i);
          break;
        }
        case ParamType::real: {
          double d = std::get<double>(v);
          if ((changed = ImGui::InputDouble(label.c_str(), &d, 0, 0, "%.4g"))) v = d;
          break;
        }
        case ParamType::choice: {
          const std::string current = std::get<std::string>(v);
          if (ImGui::BeginCombo(label.c_str(), current.c_str())) {
            std::string_view rest = spec->choices;
            while (!rest.empty()) {
              const size_t sp = std::min(rest.find(' '), rest.size());
              const std::string word(rest.substr(0, sp));
              if (ImGui::Selectable(word.c_str(), word == current)) v = word, changed = true;
              rest = sp < rest.size() ? rest.substr(sp + 1) : std::string_view();
            }
            ImGui::EndCombo();
          }
          break;
        }
      }
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%.*s", int(spec->help.size()), spec->help.data());
    if (changed) {
      try {
        set_param(params, *spec, v);
        app_.set_error({});
      } catch (const std::exception& e) {
        app_.set_error(e.what());
      }
    }
  }
  ImGui::TreePop();
}

void ViewerPanels::display_section() {
  if (!ImGui::CollapsingHeader("Display", ImGuiTreeNodeFlags_DefaultOpen)) return;
  ViewerApp& a = app_;
  Display& d = a.display();
  ViewerModel& m = a.model();
  std::string colour = a.color_column();
  if (column_combo("colour by", &colour, "(one colour)")) {
    try {
      a.set_color_by(colour.empty() ? std::nullopt : std::optional<std::string>(colour));
      a.set_error({});
    } catch (const std::exception& e) {
      a.set_error(e.what());
    }
  }
  if (!m.colors().note.empty()) ImGui::TextColored(ImVec4(0.9f, 0.7f, 0.2f, 1), "%s", m.colors().note.c_str());
  std::string label = m.label_column() >= 0 ? m.meta().names[size_t(m.label_column())] : std::string();
  if (column_combo("label by", &label, "(row id)")) a.set_label_by(label);
  std::string size = m.size_column();
  if (column_combo("size by", &size, "(same size)", true)) {
    try {
      a.set_size_by(size);
    } catch (const std::exception& e) {
      a.set_error(e.what());
    }
  }
  ImGui::SliderFloat("point size", &a.style().point_size, 1.0f, 32.0f, "%.1f px");
  ImGui::SliderFloat("opacity", &a.style().alpha, 0.05f, 1.0f);
  ImGui::Checkbox("point labels", &d.point_labels);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("The label text of points that stand apart on screen (zoom in), nearest first, never overlapping");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(110);
  ImGui::SliderInt("at most", &d.label_limit, 10, 10000, "%d", ImGuiSliderFlags_Logarithmic);
  ImGui::Checkbox("class labels", &d.class_labels);
  ImGui::SameLine();
  ImGui::Checkbox("tooltip", &d.tooltip);
  if (a.has_images()) {
    ImGui::Checkbox("images", &d.images);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(110);
    ImGui::SliderFloat("image size", &d.image_scale, 0.25f, 8.0f, "%.2fx", ImGuiSliderFlags_Logarithmic);
    const render::ThumbnailStats st = a.window().thumbnail_stats();
    ImGui::Text("thumbnails: %lld loaded of %lld slots", (long long)st.loaded, (long long)st.capacity);
    if (st.hidden > 0) {
      ImGui::TextDisabled("%lld hidden behind nearer ones", (long long)st.hidden);
      if (ImGui::IsItemHovered())
        ImGui::SetTooltip("Thumbnails wholly behind nearer ones are not drawn: the same picture, faster on a CPU device");
    }
  }
  ImGui::Checkbox("isolate selection", &d.isolate);
  if (a.model().y().cols() == 3) {
    ImGui::SameLine();
    bool two = d.view_2d;
    if (ImGui::Checkbox("2D view", &two)) a.set_view_2d(two);
  }
  if (ImGui::Button("Fit (F)")) a.fit(true);
  ImGui::SameLine();
  int tool = static_cast<int>(a.input().tool());
  ImGui::SetNextItemWidth(120);
  if (ImGui::Combo("tool", &tool, kTools, 3)) a.input().set_tool(static_cast<Tool>(tool));
}

void ViewerPanels::search_section() {
  if (!ImGui::CollapsingHeader("Search", ImGuiTreeNodeFlags_DefaultOpen)) return;
  ViewerApp& a = app_;
  bool changed = column_combo("column", &search_column_, "(labels)");
  changed |= ImGui::InputTextWithHint("##search", "substring or regex", &search_text_);
  ImGui::SameLine();
  changed |= ImGui::Checkbox("regex", &search_regex_);
  if (changed) {
    try {
      a.search(search_text_, search_column_, search_regex_);
      a.set_error({});
    } catch (const std::exception& e) {
      a.set_error(e.what());
    }
  }
  ImGui::Text("%zu matches", a.model().matches().size());
  ImGui::SameLine();
  if (ImGui::Button("Select all matches")) a.select_matches();
  if (!a.model().matches().empty()) row_list("matches", a.model().matches(), nullptr);
}

void ViewerPanels::selection_section() {
  if (!ImGui::CollapsingHeader("Selection", ImGuiTreeNodeFlags_DefaultOpen)) return;
  ViewerApp& a = app_;
  ImGui::Text("%zu selected", a.model().selection().size());
  if (ImGui::Button("Clear")) a.clear_selection();
  ImGui::SameLine();
  ImGui::Checkbox("Isolate (I)", &a.display().isolate);
  if (!a.model().selection().empty()) row_list("selection", a.model().selection(), nullptr);
  ImGui::InputText("CSV", &export_path_);
  ImGui::SameLine();
  if (ImGui::Button("Export")) {
    try {
      a.model().export_selection(export_path_);
      a.set_error({});
    } catch (const std::exception& e) {
      a.set_error(e.what());
    }
  }
}

void ViewerPanels::neighbours_section() {
  if (!ImGui::CollapsingHeader("Neighbours", ImGuiTreeNodeFlags_DefaultOpen)) return;
  ViewerApp& a = app_;
  ViewerModel& m = a.model();
  ImGui::TextWrapped("k nearest of the first selected point in the original %lld-D space",
                     (long long)m.data().cols());
  ImGui::SliderInt("k", &k_, 1, 1000, "%d", ImGuiSliderFlags_Logarithmic);
  int metric = static_cast<int>(m.neighbor_metric());
  if (ImGui::Combo("distance", &metric, kMetrics, 2)) a.set_metric(static_cast<Metric>(metric), "chosen in the panel");
  ImGui::TextDisabled("(%s)", m.neighbor_metric_reason().c_str());
  if (ImGui::Button("Find neighbours (N)") && !m.selection().empty()) {
    try {
      a.find_neighbours(k_);
      a.set_error({});
    } catch (const std::exception& e) {
      a.set_error(e.what());
    }
  }
  if (m.neighbors_of() >= 0) {
    ImGui::Text("of row %lld (%s), %s:", (long long)m.neighbors_of(), m.label_of(m.neighbors_of()).c_str(),
                to_string(m.neighbors_metric()));
    if (ImGui::Button("Select neighbours"))
      a.select_neighbours(ImGui::GetIO().KeyShift ? SelectMode::add : SelectMode::replace);
    row_list("neighbours", {}, &m.neighbors());
  }
}

void ViewerPanels::help_window() {
  Display& d = app_.display();
  if (!d.show_help) return;
  ImGui::SetNextWindowPos(ImVec2(float(app_.window().width()) - 380, 8), ImGuiCond_FirstUseEver);
  ImGui::Begin("Help", &d.show_help, ImGuiWindowFlags_AlwaysAutoResize);
  ImGui::Text(
      "Left drag        rotate (3D) / pan (2D)\n"
      "Shift+left drag  pan\n"
      "Right/middle drag pan\n"
      "Wheel            zoom towards the cursor\n"
      "Click            select the point (Shift: toggle)\n"
      "Ctrl+drag        box select (Shift: add)\n"
      "Alt+drag         lasso select (Shift: add)\n"
      "Legend entry     isolate that class (Shift: add)\n"
      "B / L            box / lasso tool\n"
      "F                fit to data\n"
      "2 / 3            2D / 3D view\n"
      "I                isolate the selection\n"
      "N                neighbours of the selected point\n"
      "Ctrl+A           select all search matches\n"
      "Esc              clear selection, neighbours, class focus\n"
      "Space            run / stop the reduction\n"
      "P                screenshot\n"
      "H / F1           this help\n"
      "Ctrl+Q           quit");
  ImGui::End();
}

bool ViewerPanels::column_combo(const char* label, std::string* column, const char* none_label, bool numeric_only) {
  const auto& names = app_.model().meta().names;
  bool changed = false;
  if (ImGui::BeginCombo(label, column->empty() ? none_label : column->c_str())) {
    if (ImGui::Selectable(none_label, column->empty())) column->clear(), changed = true;
    for (size_t c = 0; c < names.size(); ++c) {
      if (numeric_only && !numeric_[c]) continue;
      if (ImGui::Selectable(names[c].c_str(), *column == names[c])) *column = names[c], changed = true;
    }
    ImGui::EndCombo();
  }
  return changed;
}

void ViewerPanels::row_list(const char* id, const std::vector<int64_t>& rows, const std::vector<Neighbor>* nb) {
  ViewerModel& m = app_.model();
  const int count = int(nb ? nb->size() : rows.size());
  ImGui::BeginChild(id, ImVec2(0, std::min(160.0f, 20.0f + 18.0f * count)), true);
  ImGuiListClipper clip;
  clip.Begin(count);
  while (clip.Step())
    for (int i = clip.DisplayStart; i < clip.DisplayEnd; ++i) {
      const int64_t r = nb ? (*nb)[size_t(i)].row : rows[size_t(i)];
      const std::string text =
          nb ? cat(r, "  ", m.label_of(r), "  d=", (*nb)[size_t(i)].distance) : cat(r, "  ", m.label_of(r));
      if (ImGui::Selectable(text.c_str(), m.is_selected(r)))
        app_.select({r}, ImGui::GetIO().KeyShift ? SelectMode::toggle : SelectMode::replace);
    }
  ImGui::EndChild();
}

}  // namespace prism::app::viewer
