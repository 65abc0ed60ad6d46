// The parameter table (prism/params.hpp). One row per parameter; the
// front ends (CLI, batch plans, reports, viewer, Python) are made from it.
#include "prism/params.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace prism {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kIntMax = 1e9;  // integer parameters are iteration counts, sizes, rates

// Field <-> ParamValue for the field types the table binds.
ParamValue to_value(bool v) { return v; }
ParamValue to_value(int v) { return static_cast<int64_t>(v); }
ParamValue to_value(double v) { return v; }
ParamValue to_value(Init v) { return std::string(to_string(v)); }
ParamValue to_value(Metric v) { return std::string(to_string(v)); }
ParamValue to_value(KnnMode v) { return std::string(to_string(v)); }
ParamValue to_value(PcaSolver v) { return std::string(to_string(v)); }
ParamValue to_value(TsneMethod v) { return std::string(to_string(v)); }

// set_param has checked the type and the range before these run.
void from_value(bool& f, const ParamValue& v) { f = std::get<bool>(v); }
void from_value(int& f, const ParamValue& v) { f = static_cast<int>(std::get<int64_t>(v)); }
void from_value(double& f, const ParamValue& v) { f = std::get<double>(v); }
void from_value(Init& f, const ParamValue& v) { f = parse_init(std::get<std::string>(v)); }
void from_value(Metric& f, const ParamValue& v) { f = parse_metric(std::get<std::string>(v)); }
void from_value(KnnMode& f, const ParamValue& v) { f = parse_knn_mode(std::get<std::string>(v)); }
void from_value(PcaSolver& f, const ParamValue& v) { f = parse_pca_solver(std::get<std::string>(v)); }
void from_value(TsneMethod& f, const ParamValue& v) { f = parse_tsne_method(std::get<std::string>(v)); }

#define PRISM_FIELD(path)                                                        \
  .get = [](const ReduceParams& p) -> ParamValue { return to_value(p.path); },  \
  .set = [](ReduceParams& p, const ParamValue& v) { from_value(p.path, v); }

using T = ParamType;

// Shared rows (metric, knn) appear once per method that has them, bound to the
// same field: a front end that shows one method shows all of its parameters.
#define PRISM_GRAPH_PARAMS(M)                                                               \
  {.name = "metric", .method = M, .type = T::choice, .choices = "euclidean cosine",        \
   .help = "Distance in the input space (cosine: 1 - cos, for text and image embeddings)", \
   PRISM_FIELD(metric)},                                                                    \
  {.name = "knn", .aliases = "knn_mode", .method = M, .type = T::choice,                    \
   .choices = "auto exact approx",                                                          \
   .help = "kNN graph: exact search, approximate (NN-descent), or auto (by N and k)",       \
   PRISM_FIELD(knn_mode)}

const ParamSpec kTable[] = {
    // ---- t-SNE (scikit-learn's and openTSNE's names) ------------------------
    {.name = "perplexity", .method = Method::tsne, .type = T::real, .min = 0, .max = kInf, .min_open = true,
     .help = "Effective number of neighbours; the kNN graph has k = 3 * perplexity",
     PRISM_FIELD(tsne.perplexity)},
    {.name = "early_exaggeration", .aliases = "exaggeration", .method = Method::tsne, .type = T::real,
     .min = 0, .max = kInf, .min_open = true, .help = "Attraction factor during the first phase",
     PRISM_FIELD(tsne.early_exaggeration)},
    {.name = "early_exaggeration_iter", .aliases = "exaggeration_iterations exaggeration_iter",
     .method = Method::tsne, .type = T::integer, .min = 0, .max = kIntMax,
     .help = "Iterations with early exaggeration", PRISM_FIELD(tsne.early_exaggeration_iter)},
    {.name = "max_iter", .aliases = "n_iter iterations", .method = Method::tsne, .type = T::integer, .min = 1,
     .max = kIntMax, .help = "Iterations in all, early exaggeration included", PRISM_FIELD(tsne.max_iter)},
    {.name = "learning_rate", .method = Method::tsne, .type = T::real, .min = 0, .max = kInf,
     .automatic = "auto", .help = "Gradient step; auto = max(N / early_exaggeration, 50)",
     PRISM_FIELD(tsne.learning_rate)},
    {.name = "negative_gradient_method", .aliases = "tsne_method", .method = Method::tsne, .type = T::choice,
     .choices = "auto bh fft",
     .help = "Repulsion: Barnes-Hut (bh; 2D/3D, CPU/GPU), FFT interpolation (fft; 2D, CPU), or auto (fft in 2D "
             "on the CPU from 500,000 points)",
     PRISM_FIELD(tsne.method)},
    {.name = "angle", .aliases = "theta", .method = Method::tsne, .type = T::real, .min = 0, .max = 1.5,
     .help = "Barnes-Hut accuracy (0: exact repulsion, slow)", PRISM_FIELD(tsne.theta)},
    {.name = "init", .method = Method::tsne, .type = T::choice, .choices = "pca random",
     .help = "Initial layout: PCA of the input (scaled to std 1e-4) or random", PRISM_FIELD(tsne.init)},
    {.name = "pca_dims", .method = Method::tsne, .type = T::integer, .min = 0, .max = kIntMax,
     .help = "PCA to this many dimensions first when D > 100 (0: never)", PRISM_FIELD(tsne.pca_dims)},
    {.name = "initial_momentum", .aliases = "momentum", .method = Method::tsne, .type = T::real, .min = 0,
     .max = 0.999, .help = "Momentum during early exaggeration", PRISM_FIELD(tsne.initial_momentum)},
    {.name = "final_momentum", .method = Method::tsne, .type = T::real, .min = 0, .max = 0.999,
     .help = "Momentum afterwards", PRISM_FIELD(tsne.final_momentum)},
    {.name = "min_gain", .method = Method::tsne, .type = T::real, .min = 0, .max = 1,
     .help = "Lower bound of the per-coordinate gains", PRISM_FIELD(tsne.min_gain)},
    PRISM_GRAPH_PARAMS(Method::tsne),

    // ---- UMAP (umap-learn's names) -----------------------------------------
    {.name = "n_neighbors", .aliases = "neighbors", .method = Method::umap, .type = T::integer, .min = 2,
     .max = 1000, .help = "Size of the local neighbourhood (the kNN graph's k)",
     PRISM_FIELD(umap.n_neighbors)},
    {.name = "min_dist", .method = Method::umap, .type = T::real, .min = 0, .max = kInf,
     .help = "How tightly points may pack (<= spread)", PRISM_FIELD(umap.min_dist)},
    {.name = "spread", .method = Method::umap, .type = T::real, .min = 0, .max = kInf, .min_open = true,
     .help = "Scale of the embedded points", PRISM_FIELD(umap.spread)},
    {.name = "n_epochs", .aliases = "epochs", .method = Method::umap, .type = T::integer, .min = 0,
     .max = kIntMax, .automatic = "auto", .help = "Optimisation epochs; auto = 500 up to 10,000 points, else 200",
     PRISM_FIELD(umap.n_epochs)},
    {.name = "learning_rate", .aliases = "umap_learning_rate", .method = Method::umap, .type = T::real,
     .min = 0, .max = kInf, .min_open = true, .help = "Initial SGD learning rate (decays linearly to 0)",
     PRISM_FIELD(umap.learning_rate)},
    {.name = "init", .method = Method::umap, .type = T::choice, .choices = "spectral pca random",
     .help = "Initial layout: spectral embedding of the graph, PCA of the input, or random",
     PRISM_FIELD(umap.init)},
    {.name = "negative_sample_rate", .method = Method::umap, .type = T::integer, .min = 0, .max = 1000,
     .help = "Negative samples per positive edge sample", PRISM_FIELD(umap.negative_sample_rate)},
    {.name = "repulsion_strength", .method = Method::umap, .type = T::real, .min = 0, .max = kInf,
     .help = "Weight of the negative samples (gamma)", PRISM_FIELD(umap.repulsion_strength)},
    {.name = "set_op_mix_ratio", .method = Method::umap, .type = T::real, .min = 0, .max = 1,
     .help = "1: fuzzy union of the local sets, 0: intersection", PRISM_FIELD(umap.set_op_mix_ratio)},
    {.name = "local_connectivity", .method = Method::umap, .type = T::real, .min = 0, .max = 1000,
     .help = "Neighbours assumed connected at distance 0", PRISM_FIELD(umap.local_connectivity)},
    {.name = "deterministic", .method = Method::umap, .type = T::boolean,
     .help = "CUDA: order-independent sums (bit-reproducible, slower)", PRISM_FIELD(umap.deterministic)},
    PRISM_GRAPH_PARAMS(Method::umap),

    // ---- PCA (scikit-learn's names) ----------------------------------------
    {.name = "whiten", .method = Method::pca, .type = T::boolean,
     .help = "Scale the components to unit variance", PRISM_FIELD(pca.whiten)},
    {.name = "svd_solver", .aliases = "solver", .method = Method::pca, .type = T::choice,
     .choices = "auto full randomized", .help = "full (covariance + LAPACK), randomized (Halko) or auto",
     PRISM_FIELD(pca.solver)},
    {.name = "iterated_power", .aliases = "power_iterations", .method = Method::pca, .type = T::integer,
     .min = 0, .max = 100, .help = "Randomized solver: subspace iterations", PRISM_FIELD(pca.power_iterations)},
    {.name = "n_oversamples", .aliases = "oversample", .method = Method::pca, .type = T::integer, .min = 0,
     .max = 10000, .help = "Randomized solver: extra subspace columns", PRISM_FIELD(pca.oversample)},
};

#undef PRISM_GRAPH_PARAMS
#undef PRISM_FIELD

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < s.size()) {
    const size_t end = std::min(s.find(' ', at), s.size());
    if (end > at) out.push_back(s.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::string describe_range(const ParamSpec& s) {
  const auto num = [&](double v) { return s.type == T::integer ? cat(static_cast<int64_t>(v)) : cat(v); };
  std::string r = s.max == kInf ? cat(s.min_open ? "> " : ">= ", num(s.min))
                                : cat(s.min_open ? "in (" : "in [", num(s.min), ", ", num(s.max), "]");
  if (!s.automatic.empty()) r += cat(", or '", s.automatic, "'");
  return r;
}

[[noreturn]] void bad_value(const ParamSpec& s, const std::string& got) {
  std::string expected;
  switch (s.type) {
    case T::boolean: expected = "true or false"; break;
    case T::integer: expected = "an integer " + describe_range(s); break;
    case T::real: expected = "a number " + describe_range(s); break;
    case T::choice: {
      for (auto w : words(s.choices)) expected += cat(expected.empty() ? "" : ", ", w);
      expected = "one of: " + expected;
      break;
    }
  }
  throw InputError(cat(to_string(s.method), " parameter ", s.name, ": got ", got, ", expected ", expected));
}

}  // namespace

ParamValue ParamSpec::default_value() const { return get_param(ReduceParams{}, *this); }

std::string ParamSpec::flag() const {
  std::string f = "--" + std::string(name);
  std::replace(f.begin(), f.end(), '_', '-');
  return f;
}

std::vector<std::string_view> ParamSpec::names() const {
  std::vector<std::string_view> out{name};
  for (auto a : words(aliases)) out.push_back(a);
  return out;
}

bool ParamSpec::matches(std::string_view word) const {
  for (auto n : names())
    if (same_name(n, word)) return true;
  return false;
}

std::span<const ParamSpec> param_table() { return kTable; }

std::vector<const ParamSpec*> params_of(Method method) {
  std::vector<const ParamSpec*> out;
  for (const ParamSpec& s : kTable)
    if (s.method == method) out.push_back(&s);
  return out;
}

const ParamSpec* find_param(Method method, std::string_view name) {
  for (const ParamSpec& s : kTable)
    if (s.method == method && s.matches(name)) return &s;
  return nullptr;
}

std::string param_names(Method method) {
  std::string out;
  for (const ParamSpec* s : params_of(method)) out += cat(out.empty() ? "" : ", ", s->name);
  return out;
}

ParamValue parse_param(const ParamSpec& s, std::string_view text) {
  const std::string t(text);
  if (!s.automatic.empty() && text == s.automatic) return t;
  switch (s.type) {
    case T::boolean:
      if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
      if (text == "false" || text == "0" || text == "no" || text == "off") return false;
      bad_value(s, cat("'", t, "'"));
    case T::integer: {
      int64_t v = 0;
      const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
      if (r.ec != std::errc() || r.ptr != t.data() + t.size()) bad_value(s, cat("'", t, "'"));
      return v;
    }
    case T::real: {
      double v = 0;
      const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
      if (r.ec != std::errc() || r.ptr != t.data() + t.size()) bad_value(s, cat("'", t, "'"));
      return v;
    }
    case T::choice:
      return t;
  }
  bad_value(s, t);
}

void set_param(ReduceParams& p, const ParamSpec& s, const ParamValue& value) {
  ParamValue v = value;
  const std::string shown = std::holds_alternative<std::string>(v) ? cat("'", to_string(v), "'") : to_string(v);
  if (!s.automatic.empty() && std::holds_alternative<std::string>(v) && std::get<std::string>(v) == s.automatic) {
    // The sentinel of an automatic value is 0.
    v = s.type == T::integer ? ParamValue(int64_t{0}) : ParamValue(0.0);
    s.set(p, v);
    return;
  }
  switch (s.type) {
    case T::boolean:
      if (!std::holds_alternative<bool>(v)) bad_value(s, shown);
      break;
    case T::integer: {
      // A real with an integer value (a JSON 15.0, a Python float) is accepted.
      if (auto* d = std::get_if<double>(&v); d && std::isfinite(*d) && std::floor(*d) == *d && std::abs(*d) < 9e15)
        v = static_cast<int64_t>(*d);
      if (!std::holds_alternative<int64_t>(v)) bad_value(s, shown);
      const auto x = static_cast<double>(std::get<int64_t>(v));
      if (x < s.min || x > s.max || (s.min_open && x == s.min)) bad_value(s, shown);
      break;
    }
    case T::real: {
      if (auto* i = std::get_if<int64_t>(&v)) v = static_cast<double>(*i);
      if (!std::holds_alternative<double>(v)) bad_value(s, shown);
      const double x = std::get<double>(v);
      if (!std::isfinite(x) || x < s.min || x > s.max || (s.min_open && x == s.min)) bad_value(s, shown);
      break;
    }
    case T::choice: {
      if (!std::holds_alternative<std::string>(v)) bad_value(s, shown);
      const auto ws = words(s.choices);
      if (std::find(ws.begin(), ws.end(), std::get<std::string>(v)) == ws.end()) bad_value(s, shown);
      break;
    }
  }
  s.set(p, v);
}

ParamValue get_param(const ReduceParams& p, const ParamSpec& s) {
  ParamValue v = s.get(p);
  if (!s.automatic.empty()) {
    const bool zero = std::visit(
        [](const auto& x) {
          using X = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<X, int64_t> || std::is_same_v<X, double>) return x == 0;
          return false;
        },
        v);
    if (zero) return std::string(s.automatic);
  }
  return v;
}

std::string to_string(const ParamValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, bool>) return x ? "true" : "false";
        else if constexpr (std::is_same_v<X, std::string>) return x;
        else return cat(x);
      },
      v);
}

}  // namespace prism
