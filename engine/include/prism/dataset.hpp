#pragma once
// A data set: N rows x D float32 columns, plus a metadata table.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prism/matrix.hpp"

namespace prism {

/// Named string columns, one value per row. One column may be the label column.
struct Metadata {
  std::vector<std::string> names;                 ///< column names
  std::vector<std::vector<std::string>> columns;  ///< columns[c][row]
  int label_column = -1;                          ///< index into columns, -1 if none
  /// What the reader decided on the user's behalf ("line 1 'label' taken as the
  /// column's name"): commands print these as notes.
  std::vector<std::string> notes;

  int64_t rows() const { return columns.empty() ? 0 : static_cast<int64_t>(columns[0].size()); }
  bool empty() const { return columns.empty(); }
  /// Column index by name, -1 if absent.
  int find(const std::string& name) const;
  /// The label column, or nullptr.
  const std::vector<std::string>* labels() const {
    return label_column >= 0 ? &columns[label_column] : nullptr;
  }
  /// Adds a column (all columns must have the same row count).
  void add(std::string name, std::vector<std::string> values, bool is_label = false);
  /// Keeps only the given rows (in order).
  void select_rows(const std::vector<int64_t>& rows);
};

struct Dataset {
  std::string source;  ///< path it was read from
  std::string format;  ///< reader that produced it ("npy", "glove", ...)
  std::string dtype;   ///< element type on disk ("float32", "uint8", ...)
  /// The vectors; points into `storage` (a heap buffer or a memory map).
  ConstView x;
  std::shared_ptr<const void> storage;
  Metadata meta;
  int64_t dropped_invalid = 0;  ///< rows skipped by --drop-invalid
  /// x points straight into a memory map of the file (float32 little-endian,
  /// aligned, not gzip'd): pages are read on demand and nothing was copied.
  bool mapped = false;

  int64_t rows() const { return x.rows; }
  int64_t cols() const { return x.cols; }
  /// Takes ownership of `m` and points x at it (mapped becomes false).
  void adopt(Matrix m);
};

/// Integer class ids for the label column (in order of first appearance) and the class names.
struct LabelCodes {
  std::vector<int32_t> codes;
  std::vector<std::string> names;
};
LabelCodes encode_labels(const std::vector<std::string>& labels);

}  // namespace prism
