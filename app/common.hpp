#pragma once
// Options and helpers shared by the subcommands.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "prism/dataset.hpp"
#include "prism/io.hpp"
#include "prism/progress.hpp"

namespace prism::app {

/// --quiet and the global state the progress bar needs.
struct GlobalOptions {
  bool quiet = false;
  bool verbose = false;
};
GlobalOptions& global();

/// Input options every command that reads a data set takes.
struct InputOptions {
  std::string path;
  std::string format = "auto";
  std::string metadata;
  std::string labels;
  std::string label_column;
  bool drop_invalid = false;

  void add_to(CLI::App& app, bool positional = true);
  /// Reads the data set; `check_values` scans for NaN/Inf (see ReadOptions).
  Dataset read(bool check_values = true) const;
};

/// --seed: a fixed seed, or a random one printed to stderr.
struct SeedOption {
  std::optional<uint64_t> value;
  void add_to(CLI::App& app);
  /// The seed to use; when none was given, draws one and says so on stderr.
  uint64_t resolve() const;
};

/// Resets the process's peak resident memory (Linux /proc/self/clear_refs), so
/// that peak_rss_mib() reports the peak since this call.
void reset_peak_rss();
/// Peak resident memory in MiB since the last reset (VmHWM); NaN without /proc.
double peak_rss_mib();

/// Catches SIGINT (Ctrl-C) and SIGTERM: the first sets the flag that
/// ProgressBar::aborted() reports, so the work stops at its next check (within
/// a second) and the command exits 130 without writing its outputs; a second
/// one ends the process at once. main() calls it.
void install_interrupt_handler();
/// True once SIGINT/SIGTERM arrived.
bool interrupt_requested();
/// Throws Interrupted when SIGINT/SIGTERM arrived (before writing outputs).
void throw_if_interrupted();

/// A progress bar on stderr when it is a terminal (and not --quiet), with the
/// stage name, a bar, the count, the elapsed time and an estimate of the time
/// left, and the objective (KL) when given. When stderr is not a terminal it
/// stays quiet, except for --verbose, where it prints one line per stage (with
/// its time and the peak memory so far) and objective values. Its aborted() is
/// the interrupt flag; warnings are printed unless --quiet.
class ProgressBar : public Progress {
 public:
  ProgressBar();
  void begin(std::string_view stage, int64_t total) override;
  void update(int64_t done, double value) override;
  void end() override;
  bool aborted() const override;
  void warning(std::string_view message) override;

 private:
  void draw(bool final);
  bool tty_ = false;
  bool enabled_ = false;
  std::string stage_;
  int64_t total_ = 0, done_ = 0;
  double value_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

/// Prints "[prism] message" on stderr unless --quiet.
void note(const std::string& message);

/// Seconds since `t0`.
double seconds_since(std::chrono::steady_clock::time_point t0);

}  // namespace prism::app
