#pragma once
// Point colours: a categorical palette for label columns and a continuous
// colour map (viridis) for numeric columns.
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
  std::vector<std::string> classes;  ///< categorical: class names in order of first appearance
  std::vector<Rgba8> class_colors;   ///< categorical: colour per class
  std::string column;                ///< the column coloured by ("" for uniform)
  double min = 0, max = 0;           ///< continuous: the value range mapped to [0, 1]
};

/// One colour for all n points.
PointColors uniform_colors(int64_t n, Rgba8 c = {31, 119, 180, 255});
/// Categorical colours from string values (one per point).
PointColors categorical_colors(const std::vector<std::string>& values, std::string column = {});
/// Continuous colours from numeric values; NaN maps to grey.
PointColors continuous_colors(const std::vector<double>& values, std::string column = {});

/// Colours points by a metadata column: numeric columns with more than
/// `max_classes` distinct values get the colour map, others the palette.
/// An empty `column` means the label column (uniform when there is none).
/// Throws InputError naming the available columns when `column` is unknown.
PointColors colors_by_column(const Metadata& meta, const std::string& column, int64_t n,
                             int max_classes = 64);

}  // namespace prism::render
