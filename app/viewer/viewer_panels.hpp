#pragma once
// The viewer's side panel (data, projection and its parameters, display,
// search, selection, neighbours, screenshot) and the help window, in Dear
// ImGui 1.86. Only widget state lives here; every change goes through ViewerApp.
#include <string>
#include <vector>

#include "viewer_model.hpp"

namespace prism::app::viewer {

class ViewerApp;

class ViewerPanels {
 public:
  /// Where the panel opens; the first fit (before any frame) assumes it.
  static constexpr float kPanelX = 8, kPanelWidth = 340;

  explicit ViewerPanels(ViewerApp& app);
  void draw();
  int k() const { return k_; }
  const std::string& screenshot_path() const { return screenshot_path_; }

 private:
  void data_section();
  void projection_section();
  void parameter_widgets();
  void display_section();
  void search_section();
  void selection_section();
  void neighbours_section();
  void help_window();
  /// A combo over the metadata columns (`none_label` for none); true when changed.
  bool column_combo(const char* label, std::string* column, const char* none_label, bool numeric_only = false);
  void row_list(const char* id, const std::vector<int64_t>& rows, const std::vector<Neighbor>* neighbours);

  ViewerApp& app_;
  int k_ = 10;
  std::string search_text_, search_column_;
  bool search_regex_ = false;
  std::string export_path_ = "selection.csv", screenshot_path_ = "prism-screenshot.png";
  std::vector<uint8_t> numeric_;  // per metadata column: usable for sizes
};

}  // namespace prism::app::viewer
