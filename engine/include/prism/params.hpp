#pragma once
// The one table of reduction parameters. Every front end is generated from
// it: the command line's flags (`--n-neighbors`, with the older spellings as
// aliases), the keys of batch plans, the parameters recorded in summaries and
// manifests, the viewer's panel and the Python estimators' keyword arguments.
// Names are umap-learn's and scikit-learn's (n_neighbors, min_dist, n_epochs,
// perplexity, early_exaggeration, max_iter, angle), so code written for those
// libraries reads the same here.
//
// The structural choices of a run (method, output dimensions, seed, backend)
// are not in the table: every front end has its own spelling for them
// (--dims / n_components, --seed / random_state).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "prism/pipeline.hpp"

namespace prism {

enum class ParamType {
  boolean,  ///< a flag: true / false
  integer,  ///< int64 within [min, max]
  real,     ///< double within [min, max] (min excluded when min_open)
  choice,   ///< one of the words in `choices`
};

/// A parameter's value: bool, integer, real or a choice's word.
using ParamValue = std::variant<bool, int64_t, double, std::string>;

struct ParamSpec {
  std::string_view name;       ///< canonical snake_case name: batch key, JSON key, Python keyword
  std::string_view aliases;    ///< other accepted names, space-separated (older CLI flags, sklearn aliases)
  Method method;               ///< the method it belongs to (a name may exist for several methods)
  ParamType type;
  double min = 0, max = 0;     ///< integer/real range, inclusive
  bool min_open = false;       ///< the range excludes `min` (perplexity > 0)
  std::string_view choices;    ///< choice: the accepted words, space-separated
  /// When not empty, the word ("auto") that stands for the field's sentinel value 0:
  /// computed from the data (n_epochs from N, t-SNE's learning rate from N).
  std::string_view automatic;
  std::string_view help;       ///< one line, shown by --help, the viewer and Python docstrings
  ParamValue (*get)(const ReduceParams&) = nullptr;
  void (*set)(ReduceParams&, const ParamValue&) = nullptr;  ///< unchecked: use set_param()

  /// The value a default-constructed ReduceParams has ("auto" for the sentinel).
  ParamValue default_value() const;
  /// The CLI flag: "--n-neighbors".
  std::string flag() const;
  /// Every accepted name: the canonical one first, then the aliases.
  std::vector<std::string_view> names() const;
  /// True when `word` is the name or an alias (dashes and underscores are the same).
  bool matches(std::string_view word) const;
};

/// Every parameter of every method, in the order the front ends show them.
std::span<const ParamSpec> param_table();

/// The entries of one method.
std::vector<const ParamSpec*> params_of(Method method);

/// The entry of `method` named `name` (or an alias of it); nullptr when there is none.
const ParamSpec* find_param(Method method, std::string_view name);

/// Converts text ("15", "0.1", "true", "spectral", "auto") to the spec's type;
/// throws InputError naming the parameter and what was expected.
ParamValue parse_param(const ParamSpec& spec, std::string_view text);

/// Checks `value` against the spec's type and range (an integer is accepted for
/// a real; "auto" where the spec allows it) and stores it; throws InputError
/// naming the parameter otherwise.
void set_param(ReduceParams& params, const ParamSpec& spec, const ParamValue& value);

/// The stored value as the front ends show it ("auto" for the sentinel).
ParamValue get_param(const ReduceParams& params, const ParamSpec& spec);

/// "15", "0.1", "true", "spectral".
std::string to_string(const ParamValue& value);

/// A readable list of the method's parameter names ("n_neighbors, min_dist, ...").
std::string param_names(Method method);

}  // namespace prism
