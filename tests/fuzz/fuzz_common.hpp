#pragma once
// Shared by the fuzz targets: what a reader may do with hostile bytes is
// return a data set that keeps its promises or throw an InputError. Anything
// else (a crash, a sanitizer report, another exception, a leak, a hang) is a
// finding: an uncaught exception ends in std::terminate, which libFuzzer and
// the replay driver report as a crash.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "prism/dataset.hpp"
#include "prism/error.hpp"

namespace prism::fuzz {

/// Aborts (a finding) unless `cond`.
inline void require(bool cond) {
  if (!cond) std::abort();
}

/// Checks a metadata table: one value per row in every column, a valid label column.
inline void check_metadata(const Metadata& m, int64_t rows) {
  require(m.names.size() == m.columns.size());
  for (const auto& c : m.columns) require(static_cast<int64_t>(c.size()) == rows);
  require(m.label_column >= -1 && m.label_column < static_cast<int>(m.columns.size()));
  require(m.empty() || m.label_column >= 0);
}

/// Reads every value (so that the sanitizers see any out-of-bounds view) and
/// checks what a successful read promises: N >= 2, D >= 1, finite values and
/// the metadata's shape.
inline void check_dataset(const Dataset& ds) {
  require(ds.rows() >= 2 && ds.cols() >= 1);
  for (int64_t i = 0; i < ds.rows(); ++i)
    for (int64_t j = 0; j < ds.cols(); ++j) require(std::isfinite(ds.x(i, j)));
  check_metadata(ds.meta, ds.rows());
}

/// Runs `f`, letting only InputError through.
template <class F>
void input_errors_only(F&& f) {
  try {
    f();
  } catch (const InputError&) {
  }
}

}  // namespace prism::fuzz
