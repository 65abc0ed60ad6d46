#pragma once
// PNG pictures of a projection for reduce/bench/batch: the renderer when
// Prism was built with it, else a clear error.
#include <string>

#include "prism/dataset.hpp"

namespace prism::app {

/// Renders y (2 or 3 columns) coloured by the label column to a PNG with a legend.
void render_projection_png(const std::string& path, ConstView y, const Metadata& meta, const std::string& title);

}  // namespace prism::app
