#include "viewer_overlay.hpp"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include "prism/render/colors.hpp"
#include "prism/render/text.hpp"
#include "viewer_app.hpp"

namespace prism::app::viewer {

namespace {
ImU32 im_color(render::Rgba8 c) { return IM_COL32(c.r, c.g, c.b, c.a); }

std::string short_text(const std::string& s, size_t max) {
  return s.size() <= max ? s : s.substr(0, max - 3) + "...";
}
}  // namespace

void ViewerOverlay::draw() {
  legend();
  labels();
  tooltip();
  drag_shapes();
}

// Labels in ImGui's display coordinates (framebuffer pixels times 1/scale).
void ViewerOverlay::labels() {
  ViewerApp& a = app_;
  ViewerModel& m = a.model();
  const Display& d = a.display();
  ImDrawList* dl = ImGui::GetBackgroundDrawList();
  const ImGuiIO& io = ImGui::GetIO();
  const glm::vec2 to_ui(1.0f / io.DisplayFramebufferScale.x, 1.0f / io.DisplayFramebufferScale.y);
  const glm::vec2 to_fb(io.DisplayFramebufferScale.x, io.DisplayFramebufferScale.y);
  render::LabelLayout layout(int(io.DisplaySize.x), int(io.DisplaySize.y), 2.0f);
  // Nothing under the panel or the legend, where no one could read it.
  if (a.panel_right() > 0) layout.block({0, 0}, {a.panel_right() * to_ui.x, io.DisplaySize.y});
  if (legend_max_.x > legend_min_.x) layout.block(legend_min_, legend_max_);
  auto& shown = a.shown_labels_mut();
  shown.clear();
  const float line = ImGui::GetTextLineHeight();

  std::unordered_set<int64_t> labelled;
  enum class Look { dark, light, plain };
  auto place = [&](glm::vec2 anchor_ui, const std::string& text, int64_t row, bool centred, Look look,
                   float depth = 0.0f) {
    if (row >= 0 && labelled.count(row)) return false;  // one label per point
    const ImVec2 ts = ImGui::CalcTextSize(text.c_str());
    const glm::vec2 pad = look == Look::light ? glm::vec2(6, 4) : glm::vec2(4, 2);
    render::PlacedLabel p;
    if (!layout.place({anchor_ui, glm::vec2(ts.x, ts.y) + pad, 0.0f, row, centred}, &p)) return false;
    const ImVec2 lo(p.box_min.x, p.box_min.y), hi(p.box_max.x, p.box_max.y);
    switch (look) {
      case Look::dark:
        dl->AddRectFilled(lo, hi, IM_COL32(30, 30, 30, 210), 3.0f);
        dl->AddText(ImVec2(lo.x + 2, lo.y + 1), IM_COL32(255, 255, 255, 255), text.c_str());
        break;
      case Look::light:
        dl->AddRectFilled(lo, hi, IM_COL32(255, 255, 255, 200), 3.0f);
        dl->AddText(ImVec2(lo.x + 3, lo.y + 2), IM_COL32(20, 20, 20, 255), text.c_str());
        break;
      case Look::plain:  // a faint box keeps dense points from hiding the text
        dl->AddRectFilled(lo, hi, IM_COL32(250, 250, 250, 170), 2.0f);
        dl->AddText(ImVec2(lo.x + 2, lo.y + 1), IM_COL32(40, 40, 40, 255), text.c_str());
        break;
    }
    if (row >= 0) labelled.insert(row);
    shown.push_back({row, text, p.box_min * to_fb, p.box_max * to_fb, anchor_ui * to_fb, depth, depth > 0.0f});
    return true;
  };
  auto place_row = [&](int64_t r, Look look) {
    glm::vec2 px;
    if (!a.project_row(r, &px)) return false;
    return place(px * to_ui, m.label_of(r), r, false, look);
  };

  // A point drawn as its thumbnail shows what it is: no label over the images.
  const render::PointStyle& style = a.style();
  const float image_px = style.image_size * std::abs(a.camera().proj()[1][1]) * 0.5f * float(a.window().height());
  auto shows_image = [&](const render::ScreenPoint& p) { return image_px > 0 && image_px / p.w >= style.image_min_px; };

  // Highlighted points first: the hovered one (unless its tooltip names it),
  // the selection, the neighbours.
  if (m.hovered() >= 0 && !d.tooltip) place_row(m.hovered(), Look::dark);
  const auto& sel = m.selection();
  for (size_t i = 0; i < std::min<size_t>(sel.size(), 100); ++i) place_row(sel[i], Look::dark);
  for (size_t i = 0; i < std::min<size_t>(m.neighbors().size(), 30); ++i) place_row(m.neighbors()[i].row, Look::dark);
  // Then the points near the cursor (or the hovered point), nearest first:
  // reading what is under the pointer matters more than the rest.
  if (d.point_labels) {
    glm::vec2 cursor(-1.0f);
    // A script's session has no pointer but the script's own (Xvfb's is not one).
    const bool real_mouse = !a.scripted() || a.window().has_scripted_mouse();
    if (real_mouse && ImGui::IsMousePosValid() && !io.WantCaptureMouse)
      cursor = glm::vec2(io.MousePos.x, io.MousePos.y) * to_fb;
    else if (m.hovered() >= 0 && !a.project_row(m.hovered(), &cursor))
      cursor = glm::vec2(-1.0f);
    if (cursor.x >= 0.0f) {
      a.visible();  // recomputed first when the camera moved (a new version)
      if (cursor != near_cursor_at_ || near_version_ != a.visible_version()) {
        near_cursor_at_ = cursor;
        near_version_ = a.visible_version();
        const float r2 = kNearCursorPx * kNearCursorPx * to_fb.y * to_fb.y;
        std::vector<std::pair<float, size_t>> near;
        const auto& visible = a.visible();
        for (size_t i = 0; i < visible.size(); ++i) {
          const glm::vec2 dv = visible[i].px - cursor;
          const float d2 = glm::dot(dv, dv);
          if (d2 <= r2) near.emplace_back(d2, i);
        }
        const size_t keep = std::min<size_t>(near.size(), kNearCursorLabels * 4);
        std::partial_sort(near.begin(), near.begin() + ptrdiff_t(keep), near.end());
        near_cursor_.clear();
        for (size_t i = 0; i < keep; ++i) near_cursor_.push_back(visible[near[i].second]);
      }
      int placed_near = 0;
      for (const render::ScreenPoint& p : near_cursor_) {
        const int64_t r = p.row;
        if (placed_near >= kNearCursorLabels) break;
        if (r == m.hovered() && d.tooltip) continue;
        if (shows_image(p)) continue;  // a thumbnail shows what it is
        placed_near += place_row(r, Look::plain);
      }
    }
  }
  if (d.class_labels) {
    update_centers();
    std::vector<size_t> order(centers_.size());
    for (size_t c = 0; c < order.size(); ++c) order[c] = c;
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return center_counts_[x] > center_counts_[y]; });
    for (size_t c : order) {
      glm::vec2 px;
      if (a.camera().project(centers_[c], &px)) place(px * to_ui, center_names_[c], -1, true, Look::light);
    }
  }
  if (!d.point_labels) return;
  // Every other point that stands apart on screen, nearest the camera first,
  // as many as fit (collision culling) up to the panel's limit.
  // visible() first: it recomputes for a camera that moved and bumps the version.
  const auto& visible = a.visible();
  if (separated_version_ != a.visible_version()) {
    separated_ = render::separated_points(visible, a.window().width(), a.window().height(),
                                          0.6f * (line + 4.0f) * to_fb.y, 1);
    separated_version_ = a.visible_version();
  }
  const int64_t hovered = m.hovered();
  // The candidates' dots are kept free first, so no label hides a labelled point.
  const size_t candidates = std::min(separated_.size(), size_t(d.label_limit) * 4 + 64);
  const float dot = std::min(0.5f * style.point_size, 3.0f);
  for (size_t i = 0; i < candidates; ++i) {
    const glm::vec2 c = separated_[i].px * to_ui;
    layout.block(c - dot, c + dot);
  }
  int placed = 0;
  size_t tried = 0;
  for (const render::ScreenPoint& p : separated_) {
    if (placed >= d.label_limit || tried > size_t(d.label_limit) * 4 + 64) break;
    if (p.row == hovered || m.is_selected(p.row)) continue;
    if (shows_image(p)) continue;
    ++tried;
    placed += place(p.px * to_ui, m.label_of(p.row), p.row, false, Look::plain, std::max(p.w, 1e-6f));
  }
}

void ViewerOverlay::tooltip() {
  ViewerApp& a = app_;
  ViewerModel& m = a.model();
  const int64_t row = m.hovered();
  a.tooltip_box_mut() = {};
  if (row < 0 || !a.display().tooltip) return;
  glm::vec2 px;
  if (!a.project_row(row, &px)) return;
  const ImGuiIO& io = ImGui::GetIO();
  const ImVec2 at(px.x / io.DisplayFramebufferScale.x, px.y / io.DisplayFramebufferScale.y);
  // Beside the point, on the side with room.
  const ImVec2 pivot(at.x > 0.65f * io.DisplaySize.x ? 1.0f : 0.0f, at.y > 0.6f * io.DisplaySize.y ? 1.0f : 0.0f);
  ImGui::SetNextWindowPos(ImVec2(at.x + (pivot.x > 0 ? -16.0f : 16.0f), at.y + (pivot.y > 0 ? -16.0f : 16.0f)),
                          ImGuiCond_Always, pivot);
  ImGui::SetNextWindowBgAlpha(0.94f);
  ImGui::Begin("##tooltip", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings |
                   ImGuiWindowFlags_NoFocusOnAppearing | ImGuiWindowFlags_NoNav | ImGuiWindowFlags_NoInputs);
  ImGui::Text("%s", short_text(m.label_of(row), 80).c_str());
  ImGui::TextDisabled("row %lld", (long long)row);
  const auto fields = m.fields(row);
  if (!fields.empty()) ImGui::Separator();
  float name_w = 0;
  for (size_t i = 0; i < std::min<size_t>(fields.size(), 40); ++i)
    name_w = std::max(name_w, ImGui::CalcTextSize(fields[i].first.c_str()).x);
  for (size_t i = 0; i < std::min<size_t>(fields.size(), 40); ++i) {
    ImGui::TextDisabled("%s", fields[i].first.c_str());
    ImGui::SameLine(name_w + 16);
    ImGui::Text("%s", short_text(fields[i].second, 80).c_str());
  }
  if (fields.size() > 40) ImGui::TextDisabled("... %zu more columns", fields.size() - 40);
  const ImVec2 pos = ImGui::GetWindowPos(), size = ImGui::GetWindowSize();
  const glm::vec2 fb(io.DisplayFramebufferScale.x, io.DisplayFramebufferScale.y);
  a.tooltip_box_mut() = {int32_t(fields.size()), glm::vec2(pos.x, pos.y) * fb,
                         glm::vec2(pos.x + size.x, pos.y + size.y) * fb};
  ImGui::End();
}

void ViewerOverlay::legend() {
  ViewerApp& a = app_;
  ViewerModel& m = a.model();
  const render::PointColors& pc = m.colors();
  legend_min_ = legend_max_ = glm::vec2(0.0f);
  auto& entries = a.legend_entries_mut();
  entries.clear();
  a.legend_box_mut() = {};
  a.colour_bar_box_mut() = {};
  if (pc.kind == render::ColorKind::uniform) return;
  const ImGuiIO& io = ImGui::GetIO();
  const glm::vec2 fb(io.DisplayFramebufferScale.x, io.DisplayFramebufferScale.y);
  ImGui::SetNextWindowPos(ImVec2(io.DisplaySize.x - 8, 8), ImGuiCond_Always, ImVec2(1, 0));
  ImGui::SetNextWindowBgAlpha(0.85f);
  ImGui::Begin(cat(pc.column, "###legend").c_str(), nullptr,
               ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings |
                   ImGuiWindowFlags_NoFocusOnAppearing | ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove);
  if (pc.kind == render::ColorKind::categorical) {
    for (size_t c = 0; c < pc.classes.size(); ++c) {
      const render::Rgba8 k = pc.class_colors[c];
      ImGui::ColorButton(cat("##swatch", c).c_str(), ImVec4(k.r / 255.0f, k.g / 255.0f, k.b / 255.0f, 1.0f),
                         ImGuiColorEditFlags_NoTooltip | ImGuiColorEditFlags_NoPicker | ImGuiColorEditFlags_NoDragDrop,
                         ImVec2(13, 13));
      ImGui::SameLine();
      const std::string name = pc.classes[c].empty() ? std::string("(empty)") : short_text(pc.classes[c], 40);
      if (ImGui::Selectable(cat(name, "  ", pc.class_counts[c], "##class", c).c_str(), m.is_focused(int32_t(c))))
        a.toggle_focus(int32_t(c), io.KeyShift);
      const ImVec2 lo = ImGui::GetItemRectMin(), hi = ImGui::GetItemRectMax();
      entries.push_back({int32_t(c), glm::vec2(lo.x, lo.y) * fb, glm::vec2(hi.x, hi.y) * fb});
    }
    if (m.has_focus()) {
      if (ImGui::Button("show all")) a.clear_focus();
    } else {
      ImGui::TextDisabled("click: isolate a class");
    }
  } else {
    // A colour bar, the maximum at the top.
    const float bar_w = 16, bar_h = 180;
    const ImVec2 p = ImGui::GetCursorScreenPos();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    constexpr int kSteps = 24;
    for (int i = 0; i < kSteps; ++i) {
      const float t0 = 1.0f - float(i) / kSteps, t1 = 1.0f - float(i + 1) / kSteps;
      const ImU32 top = im_color(render::viridis(t0)), bottom = im_color(render::viridis(t1));
      dl->AddRectFilledMultiColor(ImVec2(p.x, p.y + bar_h * i / kSteps), ImVec2(p.x + bar_w, p.y + bar_h * (i + 1) / kSteps),
                                  top, top, bottom, bottom);
    }
    char buf[3][32];
    std::snprintf(buf[0], sizeof(buf[0]), "%.4g", pc.max);
    std::snprintf(buf[1], sizeof(buf[1]), "%.4g", 0.5 * (pc.min + pc.max));
    std::snprintf(buf[2], sizeof(buf[2]), "%.4g", pc.min);
    const float th = ImGui::GetTextLineHeight();
    const ImU32 ink = ImGui::GetColorU32(ImGuiCol_Text);
    dl->AddText(ImVec2(p.x + bar_w + 6, p.y), ink, buf[0]);
    dl->AddText(ImVec2(p.x + bar_w + 6, p.y + 0.5f * (bar_h - th)), ink, buf[1]);
    dl->AddText(ImVec2(p.x + bar_w + 6, p.y + bar_h - th), ink, buf[2]);
    float text_w = 0;
    for (const auto* b : buf) text_w = std::max(text_w, ImGui::CalcTextSize(b).x);
    ImGui::Dummy(ImVec2(bar_w + 6 + text_w, bar_h));
    a.colour_bar_box_mut() = {0, glm::vec2(p.x, p.y) * fb, glm::vec2(p.x + bar_w, p.y + bar_h) * fb};
  }
  const ImVec2 pos = ImGui::GetWindowPos(), size = ImGui::GetWindowSize();
  legend_min_ = {pos.x, pos.y};
  legend_max_ = {pos.x + size.x, pos.y + size.y};
  a.legend_box_mut() = {0, legend_min_ * fb, legend_max_ * fb};
  ImGui::End();
}

void ViewerOverlay::drag_shapes() {
  const InputHandler& in = app_.input();
  ImDrawList* dl = ImGui::GetBackgroundDrawList();
  const ImGuiIO& io = ImGui::GetIO();
  const float sx = 1.0f / io.DisplayFramebufferScale.x, sy = 1.0f / io.DisplayFramebufferScale.y;
  if (in.drag() == InputHandler::Drag::box) {
    const ImVec2 a(in.drag_start().x * sx, in.drag_start().y * sy), b(in.last_mouse().x * sx, in.last_mouse().y * sy);
    dl->AddRectFilled(a, b, IM_COL32(255, 120, 0, 40));
    dl->AddRect(a, b, IM_COL32(255, 120, 0, 255));
  } else if (in.drag() == InputHandler::Drag::lasso && in.lasso().size() > 1) {
    std::vector<ImVec2> pts;
    for (auto p : in.lasso()) pts.emplace_back(p.x * sx, p.y * sy);
    dl->AddPolyline(pts.data(), int(pts.size()), IM_COL32(255, 120, 0, 255), ImDrawFlags_Closed, 2.0f);
  }
}

// Class centres (per-class coordinate medians) of the label-by column, when
// it has few enough distinct values; recomputed at most 4 times a second.
void ViewerOverlay::update_centers() {
  const double now = ImGui::GetTime();
  if (!centers_dirty_ || now - centers_time_ < 0.25) return;
  centers_dirty_ = false;
  centers_time_ = now;
  centers_.clear();
  center_names_.clear();
  center_counts_.clear();
  ViewerModel& m = app_.model();
  const int c = m.label_column();
  if (c < 0) return;
  const auto& values = m.meta().columns[size_t(c)];
  std::unordered_map<std::string, int> index;
  std::vector<std::vector<int64_t>> members;
  for (int64_t i = 0; i < m.rows(); ++i) {
    auto [it, fresh] = index.try_emplace(values[size_t(i)], int(members.size()));
    if (fresh) {
      if (members.size() >= 50) {  // too many classes to label
        center_names_.clear();
        return;
      }
      members.emplace_back();
      center_names_.push_back(values[size_t(i)]);
    }
    members[size_t(it->second)].push_back(i);
  }
  const int dims = app_.is_2d() ? 2 : int(m.y().cols());
  for (const auto& rows : members) {
    glm::vec3 p(0.0f);
    std::vector<float> v(rows.size());
    for (int dim = 0; dim < dims; ++dim) {
      for (size_t j = 0; j < rows.size(); ++j) v[j] = m.y()(rows[j], dim);
      std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
      p[dim] = v[v.size() / 2];
    }
    centers_.push_back(p);
    center_counts_.push_back(int64_t(rows.size()));
  }
}

}  // namespace prism::app::viewer
