#include "viewer_model.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include "prism/io.hpp"

namespace prism::app::viewer {

ViewerModel::ViewerModel(Dataset data, Matrix y) : data_(std::move(data)) {
  set_projection(std::move(y));
  selected_.assign(size_t(rows()), 0);
  label_column_ = data_.meta.label_column;
  color_by("");
}

void ViewerModel::set_projection(Matrix y) {
  PRISM_EXPECTS(y.rows() == rows(), "the projection has ", y.rows(), " rows but the data has ", rows());
  PRISM_EXPECTS(y.cols() == 2 || y.cols() == 3, "the projection must have 2 or 3 columns, got ", y.cols());
  y_ = std::move(y);
}

void ViewerModel::color_by(const std::string& column) {
  colors_ = data_.meta.empty() ? render::uniform_colors(rows()) : render::colors_by_column(data_.meta, column, rows());
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

void ViewerModel::find_neighbors(int64_t row, int k, Metric metric) {
  PRISM_EXPECTS(row >= 0 && row < rows(), "row ", row, " is out of range");
  PRISM_EXPECTS(k >= 1 && k <= 1000, "k must be in 1..1000, got ", k);
  k = int(std::min<int64_t>(k, rows() - 1));
  neighbors_.clear();
  neighbors_of_ = row;
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
  for (int64_t r : matches_) s[r] |= render::kMatch;
  for (const Neighbor& n : neighbors_) s[n.row] |= render::kNeighbor;
  for (int64_t r : selection_) s[r] |= render::kSelected;
  if (hovered_ >= 0 && hovered_ < rows()) s[hovered_] |= render::kHovered;
  return s;
}

namespace {
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
}  // namespace

void ViewerModel::export_selection(const std::string& path) const {
  AtomicFile f(path);
  std::string out = y_.cols() == 3 ? "row,label,x,y,z\n" : "row,label,x,y\n";
  char buf[64];
  for (int64_t r : selection_) {
    out += cat(r, ",", csv_field(label_of(r)));
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
