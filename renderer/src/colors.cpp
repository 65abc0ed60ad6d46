#include "prism/render/colors.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "prism/error.hpp"

namespace prism::render {

namespace {
// Tableau 10: distinct, colour-blind friendlier than the HSV wheel.
constexpr Rgba8 kTableau10[10] = {{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255},
                                  {214, 39, 40, 255},  {148, 103, 189, 255}, {140, 86, 75, 255},
                                  {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255},
                                  {23, 190, 207, 255}};

// Viridis (matplotlib's _viridis_data) at t = 0, 0.1, ..., 1.
constexpr float kViridis[11][3] = {{0.267, 0.005, 0.329}, {0.283, 0.141, 0.458}, {0.254, 0.265, 0.530},
                                   {0.207, 0.372, 0.553}, {0.164, 0.471, 0.558}, {0.128, 0.567, 0.551},
                                   {0.135, 0.659, 0.518}, {0.267, 0.749, 0.441}, {0.478, 0.821, 0.318},
                                   {0.741, 0.873, 0.150}, {0.993, 0.906, 0.144}};

Rgba8 from_hsv(float h, float s, float v) {
  const float c = v * s, x = c * (1 - std::abs(std::fmod(h / 60.0f, 2.0f) - 1)), m = v - c;
  float r = 0, g = 0, b = 0;
  if (h < 60) r = c, g = x;
  else if (h < 120) r = x, g = c;
  else if (h < 180) g = c, b = x;
  else if (h < 240) g = x, b = c;
  else if (h < 300) r = x, b = c;
  else r = c, b = x;
  return {uint8_t(std::lround((r + m) * 255)), uint8_t(std::lround((g + m) * 255)),
          uint8_t(std::lround((b + m) * 255)), 255};
}

bool parse_number(const std::string& s, double* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  while (b < e && *b == ' ') ++b;
  if (b < e && *b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, *out);
  return ec == std::errc() && p == e;
}
}  // namespace

Rgba8 categorical_color(int64_t i) {
  if (i < 0) return {160, 160, 160, 255};
  if (i < 10) return kTableau10[i];
  // Golden-angle hue steps keep later classes apart; alternate value for contrast.
  const float h = std::fmod(float(i - 10) * 137.508f + 20.0f, 360.0f);
  return from_hsv(h, 0.65f, (i % 2) ? 0.75f : 0.9f);
}

Rgba8 viridis(float t) {
  if (std::isnan(t)) return {180, 180, 180, 255};
  t = std::clamp(t, 0.0f, 1.0f) * 10.0f;
  const int i = std::min(int(t), 9);
  const float f = t - i;
  const float* a = kViridis[i];
  const float* b = kViridis[i + 1];
  Rgba8 c;
  c.r = uint8_t(std::lround((a[0] + (b[0] - a[0]) * f) * 255));
  c.g = uint8_t(std::lround((a[1] + (b[1] - a[1]) * f) * 255));
  c.b = uint8_t(std::lround((a[2] + (b[2] - a[2]) * f) * 255));
  c.a = 255;
  return c;
}

PointColors uniform_colors(int64_t n, Rgba8 c) {
  PointColors pc;
  pc.packed.assign(size_t(n), c.packed());
  return pc;
}

PointColors categorical_colors(const std::vector<std::string>& values, std::string column) {
  PointColors pc;
  pc.kind = ColorKind::categorical;
  pc.column = std::move(column);
  pc.class_of.resize(values.size());
  pc.packed.resize(values.size());
  std::unordered_map<std::string, int32_t> index;
  for (size_t i = 0; i < values.size(); ++i) {
    auto [it, fresh] = index.try_emplace(values[i], int32_t(pc.classes.size()));
    if (fresh) {
      pc.classes.push_back(values[i]);
      pc.class_colors.push_back(categorical_color(it->second));
    }
    pc.class_of[i] = it->second;
    pc.packed[i] = pc.class_colors[it->second].packed();
  }
  return pc;
}

PointColors continuous_colors(const std::vector<double>& values, std::string column) {
  PointColors pc;
  pc.kind = ColorKind::continuous;
  pc.column = std::move(column);
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (lo > hi) lo = hi = 0;
  pc.min = lo;
  pc.max = hi;
  const double span = hi > lo ? hi - lo : 1.0;
  pc.packed.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    pc.packed[i] = viridis(std::isfinite(values[i]) ? float((values[i] - lo) / span) : NAN).packed();
  return pc;
}

PointColors colors_by_column(const Metadata& meta, const std::string& column, int64_t n, int max_classes) {
  int c = -1;
  if (column.empty()) {
    c = meta.label_column;
    if (c < 0) return uniform_colors(n);
  } else {
    c = meta.find(column);
    if (c < 0) {
      std::string names;
      for (const auto& s : meta.names) names += (names.empty() ? "" : ", ") + s;
      throw InputError(cat("no metadata column '", column, "'; available: ",
                           names.empty() ? std::string("(none)") : names));
    }
  }
  const auto& values = meta.columns[c];
  PRISM_EXPECTS(int64_t(values.size()) == n, "metadata has ", values.size(), " rows but the projection has ", n);
  std::vector<double> numbers(values.size());
  bool numeric = !values.empty();
  std::unordered_set<std::string_view> distinct;
  for (size_t i = 0; i < values.size(); ++i) {
    if (numeric && !parse_number(values[i], &numbers[i])) {
      if (values[i].empty() || values[i] == "nan" || values[i] == "NaN") numbers[i] = NAN;
      else numeric = false;
    }
    if (int(distinct.size()) <= max_classes) distinct.insert(values[i]);
  }
  if (numeric && int(distinct.size()) > max_classes) return continuous_colors(numbers, meta.names[c]);
  return categorical_colors(values, meta.names[c]);
}

}  // namespace prism::render
