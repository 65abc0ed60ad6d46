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

  /// Colour by a metadata column ("" = label column, uniform without one), as
  /// render::colors_by_column decides: palette, colour map, or one colour with
  /// colors().note saying why (words, ids). Clears the class focus.
  void color_by(const std::string& column);
  /// One colour for every point.
  void color_uniform();
  const render::PointColors& colors() const { return colors_; }

  /// The legend's isolation: points of focused classes stay bright, the
  /// others dim (kFocus). `add` keeps the other focused classes (Shift+click);
  /// otherwise a class becomes the only one, or clears when it already was.
  void toggle_focus(int32_t class_index, bool add = false);
  /// Focuses the class named `name` (InputError when the colours have none).
  void focus_class(const std::string& name, bool add = false);
  void clear_focus();
  bool has_focus() const { return focus_count_ > 0; }
  bool is_focused(int32_t class_index) const;

  /// Point sizes from a numeric column: area proportional to the value
  /// (smallest 0.5x, largest 2x). "" = every point the same size.
  void size_by(const std::string& column);
  const std::string& size_column() const { return size_column_; }
  /// One render::kUnitSize-based multiplier per row.
  const std::vector<uint8_t>& sizes() const { return sizes_; }
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

  /// The distance the neighbour search uses and why ("--metric cosine", "the
  /// rows are unit-normalised", ...).
  void set_neighbor_metric(Metric metric, std::string reason);
  Metric neighbor_metric() const { return metric_; }
  const std::string& neighbor_metric_reason() const { return metric_reason_; }
  /// True when every row (of a sample of up to 2000 spread over x) has
  /// length 1 within 1e-3: text-embedding vectors, compared by cosine.
  static bool rows_unit_normalised(ConstView x);

  /// The k nearest rows of `row` in the original high-dimensional space
  /// (itself excluded), by neighbor_metric() or by `metric`.
  void find_neighbors(int64_t row, int k);
  void find_neighbors(int64_t row, int k, Metric metric);
  Metric neighbors_metric() const { return neighbors_metric_; }
  void clear_neighbors();
  const std::vector<Neighbor>& neighbors() const { return neighbors_; }
  int64_t neighbors_of() const { return neighbors_of_; }

  void set_hovered(int64_t row) { hovered_ = row; }
  int64_t hovered() const { return hovered_; }

  /// One render::PointState bit set per row.
  std::vector<uint8_t> point_states() const;

  /// Writes the selection as CSV (row, label, x, y[, z]) atomically.
  void export_selection(const std::string& path) const;
  /// Writes the neighbours as CSV (row, label, distance, metric) atomically.
  void export_neighbors(const std::string& path) const;

  /// Every metadata column of a row as (name, value), for the tooltip.
  std::vector<std::pair<std::string, std::string>> fields(int64_t row) const;

 private:
  Dataset data_;
  Matrix y_;
  render::PointColors colors_;
  std::vector<uint8_t> focus_;  // per class of colors_
  int focus_count_ = 0;
  std::vector<uint8_t> sizes_;
  std::string size_column_;
  Metric metric_ = Metric::euclidean, neighbors_metric_ = Metric::euclidean;
  std::string metric_reason_ = "default";
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
