#pragma once
// Shared by `prism bench` and `prism batch`: per-run measurements, peak
// memory, and the faithfulness metrics of a finished projection.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "prism/dataset.hpp"
#include "prism/metrics.hpp"
#include "prism/pipeline.hpp"

namespace prism::app {

/// Resets the process's peak resident memory (Linux /proc/self/clear_refs), so
/// that peak_rss_mib() reports the peak since this call.
void reset_peak_rss();
/// Peak resident memory in MiB since the last reset (VmHWM).
double peak_rss_mib();

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
