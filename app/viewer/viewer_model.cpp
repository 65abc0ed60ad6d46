#include "viewer_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cctype>
#include <regex>

#include "prism/io.hpp"

namespace prism::app::viewer {

ViewerModel::ViewerModel(Dataset data, Matrix y) : data_(std::move(data)) {
  set_projection(std::move(y));
  selected_.assign(size_t(rows()), 0);
  sizes_.assign(size_t(rows()), render::kUnitSize);
  label_column_ = data_.meta.label_column;
  color_by("");
}

void ViewerModel::set_projection(Matrix y) {
  PRISM_EXPECTS(y.rows() == rows(), "the projection has ", y.rows(), " rows but the data has ", rows());
  PRISM_EXPECTS(y.cols() == 2 || y.cols() == 3, "the projection must have 2 or 3 columns, got ", y.cols());
  y_ = std::move(y);
}

void ViewerModel::color_by(const std::string& column) {
  PRISM_EXPECTS(column.empty() || !data_.meta.empty(), "no metadata column '", column, "' (no --metadata given)");
  colors_ = data_.meta.empty() ? render::uniform_colors(rows()) : render::colors_by_column(data_.meta, column, rows());
  clear_focus();
}

void ViewerModel::color_uniform() {
  colors_ = render::uniform_colors(rows());
  clear_focus();
}

void ViewerModel::toggle_focus(int32_t c, bool add) {
  PRISM_EXPECTS(c >= 0 && size_t(c) < colors_.classes.size(), "class ", c, " is out of range");
  focus_.resize(colors_.classes.size(), 0);
  const bool was = focus_[size_t(c)] != 0;
  if (!add) {
    const bool only = was && focus_count_ == 1;
    std::fill(focus_.begin(), focus_.end(), 0);
    focus_[size_t(c)] = only ? 0 : 1;
  } else {
    focus_[size_t(c)] = !was;
  }
  focus_count_ = int(std::count(focus_.begin(), focus_.end(), uint8_t(1)));
}

void ViewerModel::focus_class(const std::string& name, bool add) {
  const auto& cl = colors_.classes;
  const auto it = std::find(cl.begin(), cl.end(), name);
  if (it == cl.end()) {
    std::string names;
    for (size_t i = 0; i < std::min<size_t>(cl.size(), 25); ++i) names += cat(names.empty() ? "" : ", ", cl[i]);
    throw InputError(cat("no class '", name, "' in the legend",
                         cl.empty() ? std::string(" (the colours are not by classes)") : cat(": ", names)));
  }
  toggle_focus(int32_t(it - cl.begin()), add);
}

void ViewerModel::clear_focus() {
  focus_.assign(colors_.classes.size(), 0);
  focus_count_ = 0;
}

bool ViewerModel::is_focused(int32_t c) const { return c >= 0 && size_t(c) < focus_.size() && focus_[size_t(c)]; }

void ViewerModel::size_by(const std::string& column) {
  if (column.empty()) {
    sizes_.assign(size_t(rows()), render::kUnitSize);
    size_column_.clear();
    return;
  }
  const std::vector<double> v = render::numeric_column(data_.meta, column);
  double lo = INFINITY, hi = -INFINITY;
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  const double span = hi > lo ? hi - lo : 1.0;
  sizes_.resize(size_t(rows()));
  for (size_t i = 0; i < v.size(); ++i) {
    // Area follows the value: diameter from 0.5x to 2x of the point size.
    const double t = std::isfinite(v[i]) ? (v[i] - lo) / span : 0.0;
    sizes_[i] = uint8_t(std::lround(render::kUnitSize * std::sqrt(0.25 + 3.75 * t)));
  }
  size_column_ = column;
}

void ViewerModel::set_neighbor_metric(Metric metric, std::string reason) {
  metric_ = metric;
  metric_reason_ = std::move(reason);
}

bool ViewerModel::rows_unit_normalised(ConstView x) {
  if (x.rows == 0 || x.cols == 0) return false;
  const int64_t step = std::max<int64_t>(1, x.rows / 2000);
  for (int64_t i = 0; i < x.rows; i += step) {
    const float* r = x.row(i);
    double s = 0;
    for (int64_t j = 0; j < x.cols; ++j) s += double(r[j]) * r[j];
    if (std::abs(std::sqrt(s) - 1.0) > 1e-3) return false;
  }
  return true;
}

void ViewerModel::label_by(const std::string& column) {
  if (column.empty()) {
    label_column_ = -1;
    return;
  }
  const int c = data_.meta.find(column);
  PRISM_EXPECTS(c >= 0, "no metadata column '", column, "'");
  label_column_ = c;
}

std::string ViewerModel::label_of(int64_t row) const {
  if (label_column_ >= 0) return data_.meta.columns[label_column_][row];
  return cat("#", row);
}

namespace {
std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

void ViewerModel::search(const std::string& text, const std::string& column, bool regex) {
  matches_.clear();
  search_text_ = text;
  if (text.empty()) return;
  std::vector<int> cols;
  if (!column.empty()) {
    const int c = data_.meta.find(column);
    PRISM_EXPECTS(c >= 0, "no metadata column '", column, "' to search");
    cols.push_back(c);
  } else if (data_.meta.label_column >= 0) {
    cols.push_back(data_.meta.label_column);
  } else {
    for (int c = 0; c < int(data_.meta.columns.size()); ++c) cols.push_back(c);
  }
  std::regex re;
  if (regex) {
    try {
      re = std::regex(text, std::regex::ECMAScript | std::regex::icase);
    } catch (const std::regex_error& e) {
      throw InputError(cat("bad regular expression '", text, "': ", e.what()));
    }
  }
  const std::string needle = lower(text);
  for (int64_t i = 0; i < rows(); ++i) {
    for (int c : cols) {
      const std::string& v = data_.meta.columns[c][i];
      const bool hit = regex ? std::regex_search(v, re) : lower(v).find(needle) != std::string::npos;
      if (hit) {
        matches_.push_back(i);
        break;
      }
    }
  }
}

void ViewerModel::select_matches(SelectMode mode) { select(matches_, mode); }

void ViewerModel::select(const std::vector<int64_t>& ids, SelectMode mode) {
  if (mode == SelectMode::replace) std::fill(selected_.begin(), selected_.end(), 0);
  for (int64_t r : ids) {
    PRISM_EXPECTS(r >= 0 && r < rows(), "row ", r, " is out of range (0..", rows() - 1, ")");
    selected_[r] = mode == SelectMode::toggle ? !selected_[r] : 1;
  }
  selection_.clear();
  for (int64_t i = 0; i < rows(); ++i)
    if (selected_[i]) selection_.push_back(i);
}

void ViewerModel::clear_selection() { select({}, SelectMode::replace); }

void ViewerModel::find_neighbors(int64_t row, int k) { find_neighbors(row, k, metric_); }

void ViewerModel::find_neighbors(int64_t row, int k, Metric metric) {
  PRISM_EXPECTS(row >= 0 && row < rows(), "row ", row, " is out of range");
  PRISM_EXPECTS(k >= 1 && k <= 1000, "k must be in 1..1000, got ", k);
  k = int(std::min<int64_t>(k, rows() - 1));
  neighbors_.clear();
  neighbors_of_ = row;
  neighbors_metric_ = metric;
  if (k <= 0) return;
  const ConstView query(data_.x.row(row), 1, data_.x.cols, data_.x.stride);
  const std::vector<int64_t> ids = {row};
  const KnnGraph g = knn_query(data_.x, query, k, metric, &ids);
  for (int j = 0; j < g.k; ++j)
    if (g.indices[j] >= 0) neighbors_.push_back({g.indices[j], g.distances[j]});
}

void ViewerModel::clear_neighbors() {
  neighbors_.clear();
  neighbors_of_ = -1;
}

std::vector<uint8_t> ViewerModel::point_states() const {
  std::vector<uint8_t> s(size_t(rows()), 0);
  if (has_focus() && !colors_.class_of.empty())
    for (int64_t i = 0; i < rows(); ++i)
      if (focus_[size_t(colors_.class_of[size_t(i)])]) s[size_t(i)] = render::kFocus;
  for (int64_t r : matches_) s[r] |= render::kMatch;
  for (const Neighbor& n : neighbors_) s[n.row] |= render::kNeighbor;
  for (int64_t r : selection_) s[r] |= render::kSelected;
  if (hovered_ >= 0 && hovered_ < rows()) s[hovered_] |= render::kHovered;
  return s;
}

void ViewerModel::export_selection(const std::string& path) const {
  AtomicFile f(path);
  std::string out = y_.cols() == 3 ? "row,label,x,y,z\n" : "row,label,x,y\n";
  char buf[64];
  for (int64_t r : selection_) {
    out += cat(r, ",", delimited_field(label_of(r), ','));
    for (int64_t d = 0; d < y_.cols(); ++d) {
      std::snprintf(buf, sizeof(buf), ",%.9g", y_(r, d));
      out += buf;
    }
    out += '\n';
  }
  f.write(out);
  f.commit();
}

}  // namespace prism::app::viewer

namespace prism::app::viewer {

void ViewerModel::export_neighbors(const std::string& path) const {
  AtomicFile f(path);
  std::string out = "row,label,distance,metric\n";
  char buf[64];
  for (const Neighbor& n : neighbors_) {
    std::snprintf(buf, sizeof(buf), ",%.9g,", n.distance);
    out += cat(n.row, ",", delimited_field(label_of(n.row), ','), buf, to_string(neighbors_metric_), "\n");
  }
  f.write(out);
  f.commit();
}

std::vector<std::pair<std::string, std::string>> ViewerModel::fields(int64_t row) const {
  std::vector<std::pair<std::string, std::string>> out;
  const Metadata& m = data_.meta;
  for (size_t c = 0; c < m.columns.size(); ++c) out.emplace_back(m.names[c], m.columns[c][size_t(row)]);
  return out;
}

}  // namespace prism::app::viewer
