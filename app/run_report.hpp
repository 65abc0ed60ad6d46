#pragma once
// Shared by `prism bench` and `prism batch`: the faithfulness metrics of a finished projection.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "prism/dataset.hpp"
#include "prism/metrics.hpp"
#include "prism/pipeline.hpp"

namespace prism::app {

/// Metrics with the standard settings (k = 15, 10-NN classifier, 10k sample).
Faithfulness measure(const Dataset& ds, ConstView y, Metric metric, uint64_t seed, int k = 15,
                     int64_t sample = 10000);

nlohmann::json to_json(const Faithfulness& f);
/// NaN as JSON null.
inline nlohmann::json number_or_null(double v) {
  return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}

/// Writes JSON atomically.
void write_json_file(const std::string& path, const nlohmann::json& j);

}  // namespace prism::app
