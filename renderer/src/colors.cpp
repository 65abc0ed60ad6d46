#include "prism/render/colors.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_map>
#include <string_view>

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

namespace {
bool is_missing(const std::string& v) { return v.empty() || v == "nan" || v == "NaN" || v == "NA"; }

// Distinct values with their counts and first rows, counted up to `cap` values.
struct Tally {
  std::vector<std::string_view> values;  // in order of first appearance
  std::vector<int64_t> counts;
  bool capped = false;
};
Tally tally(const std::vector<std::string>& v, size_t cap) {
  Tally t;
  std::unordered_map<std::string_view, size_t> index;
  for (const std::string& s : v) {
    auto it = index.find(s);
    if (it == index.end()) {
      if (t.values.size() >= cap) {
        t.capped = true;
        continue;
      }
      it = index.emplace(s, t.values.size()).first;
      t.values.push_back(s);
      t.counts.push_back(0);
    }
    ++t.counts[it->second];
  }
  return t;
}

// The first `keep` classes by count (ties: first appearance).
std::vector<size_t> most_frequent(const Tally& t, size_t keep) {
  std::vector<size_t> order(t.values.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return t.counts[a] > t.counts[b]; });
  if (order.size() > keep) order.resize(keep);
  return order;
}
}  // namespace

ColumnProfile profile_column(const std::vector<std::string>& values, int max_classes) {
  ColumnProfile p;
  max_classes = std::max(max_classes, 2);
  p.numeric = !values.empty();
  bool any = false;
  for (const std::string& v : values) {
    double x;
    if (is_missing(v)) continue;
    any = true;
    if (!parse_number(v, &x)) {
      p.numeric = false;
      break;
    }
  }
  p.numeric = p.numeric && any;
  // A column of a million ids need not be counted to the end.
  const Tally t = tally(values, 100000);
  p.distinct = int64_t(t.values.size());
  p.distinct_capped = t.capped;
  if (p.distinct <= max_classes) {
    p.role = ColumnRole::categorical;
  } else if (p.numeric) {
    p.role = ColumnRole::continuous;
  } else {
    int64_t covered = 0;
    for (size_t c : most_frequent(t, size_t(max_classes - 1))) covered += t.counts[c];
    p.role = 2 * covered >= int64_t(values.size()) ? ColumnRole::categorical : ColumnRole::identifier;
  }
  return p;
}

PointColors categorical_colors(const std::vector<std::string>& values, std::string column, int max_classes) {
  PointColors pc;
  pc.kind = ColorKind::categorical;
  pc.column = std::move(column);
  const Tally t = tally(values, SIZE_MAX);
  std::vector<size_t> order;
  if (max_classes > 0 && t.values.size() > size_t(max_classes)) {
    order = most_frequent(t, size_t(max_classes - 1));
    pc.has_other = true;
  } else {
    order.resize(t.values.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  }
  // Numbers read best in their order (0, 1, 2, ... or 1.5, 2, 10).
  std::vector<double> num(t.values.size());
  bool numeric = true;
  for (size_t i = 0; i < t.values.size() && numeric; ++i) numeric = parse_number(std::string(t.values[i]), &num[i]);
  if (numeric && !pc.has_other) std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return num[a] < num[b]; });
  // Words by frequency (ties: first seen), so the legend reads largest class first.
  if (!numeric) std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return t.counts[a] > t.counts[b]; });
  std::vector<int32_t> class_of_value(t.values.size(), -1);
  for (size_t k = 0; k < order.size(); ++k) {
    class_of_value[order[k]] = int32_t(k);
    pc.classes.emplace_back(t.values[order[k]]);
    pc.class_colors.push_back(categorical_color(int64_t(k)));
    pc.class_counts.push_back(t.counts[order[k]]);
  }
  const int32_t other = int32_t(order.size());
  if (pc.has_other) {
    int64_t rest = 0;
    for (size_t i = 0; i < t.values.size(); ++i)
      if (class_of_value[i] < 0) rest += t.counts[i];
    pc.classes.push_back(cat("(other: ", t.values.size() - order.size(), " values)"));
    pc.class_colors.push_back(categorical_color(-1));
    pc.class_counts.push_back(rest);
  }
  std::unordered_map<std::string_view, int32_t> index;
  for (size_t i = 0; i < t.values.size(); ++i) index.emplace(t.values[i], class_of_value[i] < 0 ? other : class_of_value[i]);
  pc.class_of.resize(values.size());
  pc.packed.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const int32_t c = index.at(values[i]);
    pc.class_of[i] = c;
    pc.packed[i] = pc.class_colors[size_t(c)].packed();
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

namespace {
int column_index(const Metadata& meta, const std::string& column) {
  const int c = meta.find(column);
  if (c < 0) {
    std::string names;
    for (const auto& s : meta.names) names += (names.empty() ? "" : ", ") + s;
    throw InputError(cat("no metadata column '", column, "'; available: ",
                         names.empty() ? std::string("(none)") : names));
  }
  return c;
}
}  // namespace

std::vector<double> numeric_column(const Metadata& meta, const std::string& column) {
  const auto& values = meta.columns[size_t(column_index(meta, column))];
  std::vector<double> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (is_missing(values[i])) {
      out[i] = NAN;
      continue;
    }
    PRISM_EXPECTS(parse_number(values[i], &out[i]), "column '", column, "' is not numeric: row ", i, " is '",
                  values[i], "'");
  }
  return out;
}

PointColors colors_by_column(const Metadata& meta, const std::string& column, int64_t n, int max_classes) {
  int c = -1;
  if (column.empty()) {
    c = meta.label_column;
    if (c < 0) return uniform_colors(n);
  } else {
    c = column_index(meta, column);
  }
  const auto& values = meta.columns[size_t(c)];
  const std::string& name = meta.names[size_t(c)];
  PRISM_EXPECTS(int64_t(values.size()) == n, "metadata has ", values.size(), " rows but the projection has ", n);
  const ColumnProfile p = profile_column(values, max_classes);
  switch (p.role) {
    case ColumnRole::categorical: return categorical_colors(values, name, max_classes);
    case ColumnRole::continuous: return continuous_colors(numeric_column(meta, name), name);
    case ColumnRole::identifier: break;
  }
  PointColors pc = uniform_colors(n);
  pc.note = cat("'", name, "' has ", p.distinct_capped ? "over " : "", p.distinct, " distinct values in ", n,
                " rows (words or ids): one colour, since ", max_classes,
                " colours cannot tell them apart; colour by a column with few values");
  return pc;
}

}  // namespace prism::render
