#pragma once
// Point colours that mean something: a categorical palette (with a legend)
// for columns of few values, a continuous colour map (viridis, with a colour
// bar) for numeric columns, and one colour, with the reason, for columns of
// words or ids, where a rainbow would mean nothing.
#include <cstdint>
#include <string>
#include <vector>

#include "prism/dataset.hpp"
#include "prism/render/image.hpp"

namespace prism::render {

/// Colour of class `i`: Tableau-10 for the first ten, then golden-angle hues.
Rgba8 categorical_color(int64_t i);
/// Viridis at t in [0, 1] (clamped); NaN maps to grey.
Rgba8 viridis(float t);

enum class ColorKind { uniform, categorical, continuous };

/// One colour per point plus what a legend needs to explain them.
struct PointColors {
  ColorKind kind = ColorKind::uniform;
  std::vector<uint32_t> packed;      ///< n colours, Rgba8::packed()
  std::vector<int32_t> class_of;     ///< categorical: class index per point, else empty
  std::vector<std::string> classes;  ///< categorical: class names (numbers ascending; strings most frequent first)
  std::vector<Rgba8> class_colors;   ///< categorical: colour per class
  std::vector<int64_t> class_counts; ///< categorical: points per class
  bool has_other = false;            ///< categorical: the last class lumps the rarer values ("(other)", grey)
  std::string column;                ///< the column coloured by ("" for uniform)
  double min = 0, max = 0;           ///< continuous: the value range mapped to [0, 1]
  /// Why the points have one colour although a column was asked for (a
  /// column of words or ids); empty otherwise. Panels and notes show it.
  std::string note;
};

/// What a metadata column can mean as colour.
enum class ColumnRole {
  categorical,  ///< few distinct values (or a few that cover most rows, the rest lumped as "(other)")
  continuous,   ///< numbers with many distinct values: a colour map
  identifier,   ///< strings with many distinct values (words, ids): no colour means anything
};

struct ColumnProfile {
  ColumnRole role = ColumnRole::identifier;
  bool numeric = false;      ///< every non-empty value parses as a number ("", nan are missing)
  int64_t distinct = 0;      ///< distinct values, counted up to a cap (distinct_capped tells)
  bool distinct_capped = false;
};

/// Classifies a column: numbers with at most `max_classes` distinct values and
/// strings with at most that many are categorical; more numbers are
/// continuous; more strings are categorical when the `max_classes` - 1 most
/// frequent cover at least half the rows, else identifiers.
ColumnProfile profile_column(const std::vector<std::string>& values, int max_classes = 20);

/// One colour for all n points.
PointColors uniform_colors(int64_t n, Rgba8 c = {31, 119, 180, 255});
/// Categorical colours from string values (one per point): the `max_classes`
/// - 1 most frequent values get palette colours and the rest share grey
/// "(other)" when there are more than `max_classes`; numeric values are
/// ordered ascending. max_classes <= 0: every value is a class.
PointColors categorical_colors(const std::vector<std::string>& values, std::string column = {},
                               int max_classes = 0);
/// Continuous colours from numeric values; NaN maps to grey.
PointColors continuous_colors(const std::vector<double>& values, std::string column = {});

/// Colours points by a metadata column as profile_column() classifies it:
/// palette, colour map, or (identifiers) one colour with PointColors::note
/// saying why. An empty `column` means the label column (uniform when there
/// is none). Throws InputError naming the available columns when `column` is
/// unknown, or when the column's row count is not n.
PointColors colors_by_column(const Metadata& meta, const std::string& column, int64_t n, int max_classes = 20);

/// A numeric column's values (NaN for empty or unparsable ones), or an
/// InputError naming the column when it is not numeric.
std::vector<double> numeric_column(const Metadata& meta, const std::string& column);

}  // namespace prism::render
