#include "prism/dataset.hpp"

#include <unordered_map>

namespace prism {

int Metadata::find(const std::string& name) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<int>(i);
  return -1;
}

void Metadata::add(std::string name, std::vector<std::string> values, bool is_label) {
  PRISM_CHECK(columns.empty() || static_cast<int64_t>(values.size()) == rows(),
              "metadata column '", name, "' has ", values.size(), " rows, expected ", rows());
  names.push_back(std::move(name));
  columns.push_back(std::move(values));
  if (is_label) label_column = static_cast<int>(columns.size()) - 1;
}

void Metadata::select_rows(const std::vector<int64_t>& rows) {
  for (auto& col : columns) {
    std::vector<std::string> kept;
    kept.reserve(rows.size());
    for (int64_t r : rows) kept.push_back(std::move(col[r]));
    col = std::move(kept);
  }
}

void Dataset::adopt(Matrix m) {
  auto owned = std::make_shared<Matrix>(std::move(m));
  x = owned->view();
  storage = owned;
  mapped = false;
}

LabelCodes encode_labels(const std::vector<std::string>& labels) {
  LabelCodes out;
  std::unordered_map<std::string, int32_t> ids;
  out.codes.reserve(labels.size());
  for (const auto& l : labels) {
    auto [it, inserted] = ids.emplace(l, static_cast<int32_t>(out.names.size()));
    if (inserted) out.names.push_back(l);
    out.codes.push_back(it->second);
  }
  return out;
}

}  // namespace prism
