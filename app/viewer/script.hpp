#pragma once
// Scripted viewer sessions (`prism view --script actions.txt`): one table of
// actions (name, arguments, help, handler) from which the script's check, the
// --help footer and the dispatch are all made. Generic over the target the
// handlers act on, so the runner is tested without a window. Header-only:
// it has no GUI dependency.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "prism/error.hpp"

namespace prism::app::viewer {

/// One line of a script: its words, quotes removed ("search", "shirt", ...).
struct ScriptLine {
  std::string path;  ///< the script file, for messages
  int line = 0;
  std::vector<std::string> words;

  const std::string& name() const { return words[0]; }
  size_t args() const { return words.size() - 1; }
  /// Argument i (1-based), or `fallback` when absent.
  std::string word(size_t i, const std::string& fallback = {}) const { return i < words.size() ? words[i] : fallback; }
  /// Argument i as a number; InputError naming the line when it is absent or not a number.
  double number(size_t i) const {
    PRISM_EXPECTS(i < words.size(), where(), ": '", name(), "' needs more arguments");
    try {
      size_t used = 0;
      const double v = std::stod(words[i], &used);
      if (used == words[i].size()) return v;
    } catch (const std::exception&) {
    }
    throw InputError(cat(where(), ": '", words[i], "' is not a number"));
  }
  double number(size_t i, double fallback) const { return i < words.size() ? number(i) : fallback; }
  /// "actions.txt line 3".
  std::string where() const { return cat(path.empty() ? std::string("script") : path, " line ", line); }
};

/// What a handler reports: the action finished, or it needs more frames
/// (waiting, a click's readback, a screenshot being written) and is called
/// again on the next frame.
enum class Step { done, again };

/// One entry of the table. `Target` is what the handlers drive (the viewer).
template <class Target>
struct ScriptAction {
  std::string_view name;
  std::string_view args;  ///< usage of the arguments, "X Y" ("" for none)
  std::string_view help;  ///< one line
  int min_args = 0;
  int max_args = 0;       ///< -1: any number
  Step (*run)(Target&, const ScriptLine&) = nullptr;
  std::string_view alias = {};  ///< another accepted name (neighbors for neighbours)

  bool named(std::string_view w) const { return w == name || (!alias.empty() && w == alias); }
  std::string usage() const { return args.empty() ? std::string(name) : cat(name, " ", args); }
};

/// Splits one line into words: blanks separate, "double quotes" group, # starts
/// a comment outside quotes. InputError for an unterminated quote.
inline std::vector<std::string> split_script_line(const std::string& text, const std::string& where) {
  std::vector<std::string> words;
  std::string word;
  bool quoted = false, has_word = false;
  for (char c : text) {
    if (c == '"') {
      quoted = !quoted;
      has_word = true;
    } else if (!quoted && (c == ' ' || c == '\t' || c == '\r')) {
      if (has_word) words.push_back(word);
      word.clear();
      has_word = false;
    } else if (!quoted && c == '#' && !has_word) {
      break;  // comment
    } else {
      word += c;
      has_word = true;
    }
  }
  PRISM_EXPECTS(!quoted, where, ": unterminated quote");
  if (has_word) words.push_back(word);
  return words;
}

template <class Target>
const ScriptAction<Target>* find_action(std::span<const ScriptAction<Target>> table, std::string_view name) {
  for (const auto& a : table)
    if (a.named(name)) return &a;
  return nullptr;
}

/// Reads a script and checks every line against the table (known action,
/// argument count) before anything runs; InputError names the line.
template <class Target>
std::vector<ScriptLine> parse_script(const std::string& text, const std::string& path,
                                     std::span<const ScriptAction<Target>> table) {
  std::vector<ScriptLine> lines;
  std::istringstream in(text);
  std::string s;
  for (int n = 1; std::getline(in, s); ++n) {
    ScriptLine l{path, n, {}};
    l.words = split_script_line(s, l.where());
    if (l.words.empty()) continue;
    const ScriptAction<Target>* a = find_action(table, l.name());
    if (!a) {
      std::string names;
      for (const auto& e : table) names += cat(names.empty() ? "" : " ", e.name);
      throw InputError(cat(l.where(), ": unknown action '", l.name(), "' (", names, ")"));
    }
    const int got = int(l.args());
    PRISM_EXPECTS(got >= a->min_args && (a->max_args < 0 || got <= a->max_args), l.where(), ": '", l.name(),
                  "' takes ", a->max_args < 0 ? cat(a->min_args, " or more") :
                  a->min_args == a->max_args ? cat(a->min_args) : cat(a->min_args, " to ", a->max_args),
                  " argument", a->max_args == 1 && a->min_args == 1 ? "" : "s", ", got ", got, " (usage: ",
                  a->usage(), ")");
    lines.push_back(std::move(l));
  }
  return lines;
}

template <class Target>
std::vector<ScriptLine> read_script(const std::string& path, std::span<const ScriptAction<Target>> table) {
  std::ifstream in(path, std::ios::binary);
  PRISM_EXPECTS(in, "cannot read script ", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_script(ss.str(), path, table);
}

/// The --help footer: one line per action, usage then help.
template <class Target>
std::string script_help(std::span<const ScriptAction<Target>> table) {
  size_t width = 0;
  for (const auto& a : table) width = std::max(width, a.usage().size());
  std::string out;
  for (const auto& a : table) {
    std::string u = a.usage();
    u.resize(width + 2, ' ');
    out += cat("  ", u, a.help, a.alias.empty() ? std::string() : cat(" (also: ", a.alias, ")"), "\n");
  }
  return out;
}

/// Runs a checked script one step per frame: step() performs the current
/// action (or continues it) and moves on when it is done.
template <class Target>
class ScriptRunner {
 public:
  ScriptRunner(std::span<const ScriptAction<Target>> table, std::vector<ScriptLine> lines)
      : table_(table), lines_(std::move(lines)) {}
  bool finished() const { return next_ >= lines_.size(); }
  /// Performs (part of) the next action; false once the script has run out.
  bool step(Target& target) {
    if (finished()) return false;
    const ScriptLine& l = lines_[next_];
    const ScriptAction<Target>* a = find_action(table_, l.name());
    PRISM_CHECK(a && a->run, l.where(), ": no handler for '", l.name(), "'");
    if (a->run(target, l) == Step::done) ++next_;
    return true;
  }
  const ScriptLine* current() const { return finished() ? nullptr : &lines_[next_]; }

 private:
  std::span<const ScriptAction<Target>> table_;
  std::vector<ScriptLine> lines_;
  size_t next_ = 0;
};

}  // namespace prism::app::viewer
