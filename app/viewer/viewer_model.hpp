#pragma once
// What `prism view` shows and does, apart from the window: the data, the
// current projection, colours, search, selection, neighbours in the original
// space and the CSV export. Kept free of GLFW/ImGui so scripts and tests can
// drive it.
#include <cstdint>
#include <string>
#include <vector>

#include "prism/dataset.hpp"
#include "prism/knn.hpp"
#include "prism/matrix.hpp"
#include "prism/render/colors.hpp"
#include "prism/render/renderer.hpp"

namespace prism::app::viewer {

enum class SelectMode { replace, add, toggle };

struct Neighbor {
  int64_t row = -1;
  float distance = 0;  ///< L2, or 1 - cosine similarity
};

class ViewerModel {
 public:
  /// `data` holds the original vectors (n x D) and metadata; `y` the projection (n x 2|3).
  ViewerModel(Dataset data, Matrix y);

  const Dataset& data() const { return data_; }
  const Metadata& meta() const { return data_.meta; }
  int64_t rows() const { return data_.rows(); }
  const Matrix& y() const { return y_; }
  /// Replaces the projection (same row count; 2 or 3 columns).
  void set_projection(Matrix y);

  /// Colour by a metadata column ("" = label column, uniform without one).
  void color_by(const std::string& column);
  /// One colour for every point.
  void color_uniform() { colors_ = render::uniform_colors(rows()); }
  const render::PointColors& colors() const { return colors_; }
  /// Column whose values name points in labels, tooltips and exports (-1: row ids).
  void label_by(const std::string& column);
  int label_column() const { return label_column_; }
  std::string label_of(int64_t row) const;

  /// Marks rows whose `column` value contains `text` (case-insensitive), or
  /// matches it as an ECMAScript regex; "" column = the label column, or every
  /// column when there is none. Empty text clears. InputError on a bad regex.
  void search(const std::string& text, const std::string& column = "", bool regex = false);
  const std::vector<int64_t>& matches() const { return matches_; }
  const std::string& search_text() const { return search_text_; }
  void select_matches(SelectMode mode = SelectMode::replace);

  void select(const std::vector<int64_t>& rows, SelectMode mode = SelectMode::replace);
  void clear_selection();
  const std::vector<int64_t>& selection() const { return selection_; }
  bool is_selected(int64_t row) const { return selected_[row] != 0; }

  /// The k nearest rows of `row` in the original high-dimensional space (itself excluded).
  void find_neighbors(int64_t row, int k, Metric metric);
  void clear_neighbors();
  const std::vector<Neighbor>& neighbors() const { return neighbors_; }
  int64_t neighbors_of() const { return neighbors_of_; }

  void set_hovered(int64_t row) { hovered_ = row; }
  int64_t hovered() const { return hovered_; }

  /// One render::PointState bit set per row.
  std::vector<uint8_t> point_states() const;

  /// Writes the selection as CSV (row, label, x, y[, z]) atomically.
  void export_selection(const std::string& path) const;

 private:
  Dataset data_;
  Matrix y_;
  render::PointColors colors_;
  int label_column_ = -1;
  std::vector<int64_t> matches_;
  std::string search_text_;
  std::vector<int64_t> selection_;  // ascending
  std::vector<uint8_t> selected_;   // per row
  std::vector<Neighbor> neighbors_;
  int64_t neighbors_of_ = -1;
  int64_t hovered_ = -1;
};

}  // namespace prism::app::viewer
