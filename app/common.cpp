#include "common.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

namespace prism::app {

GlobalOptions& global() {
  static GlobalOptions g;
  return g;
}

void note(const std::string& message) {
  if (!global().quiet) std::fprintf(stderr, "[prism] %s\n", message.c_str());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void InputOptions::add_to(CLI::App& app, bool positional) {
  if (positional)
    app.add_option("input", path, "Input vectors (.npy .fvecs .bvecs .bin .txt .vec .tsv IDX[.gz])")
        ->required();
  app.add_option("--format", format,
                 "Override format detection: auto npy fvecs bvecs word2vec text tsv idx")
      ->capture_default_str();
  app.add_option("--metadata", metadata,
                 "Labels and columns: TSV (TensorBoard's metadata.tsv), CSV with a header, or a 1-D .npy");
  app.add_option("--labels-file", labels, "IDX labels file (default: the sibling of the images)");
  app.add_option("--label-column", label_column, "Metadata column used as the label");
  app.add_flag("--drop-invalid", drop_invalid, "Skip rows with NaN/Inf values (default: reject)");
}

Dataset InputOptions::read(bool check_values) const {
  ReadOptions o;
  o.check_values = check_values;
  o.format = parse_format(format);
  o.metadata = metadata;
  o.labels = labels;
  o.label_column = label_column;
  o.drop_invalid = drop_invalid;
  auto t0 = std::chrono::steady_clock::now();
  Dataset ds = read_dataset(path, o);
  for (const auto& n : ds.meta.notes) note(n);
  if (ds.dropped_invalid > 0)
    note(cat("dropped ", ds.dropped_invalid, " rows with NaN/Inf values (--drop-invalid)"));
  if (global().verbose)
    note(cat("loaded ", path, ": ", ds.rows(), " x ", ds.cols(), " (", ds.format, ", ", ds.dtype,
             ") in ", seconds_since(t0), " s"));
  return ds;
}

void SeedOption::add_to(CLI::App& app) {
  app.add_option("--seed", value,
                 "Random seed; a CPU run is bit-for-bit reproducible with the same seed and thread "
                 "count (OMP_NUM_THREADS); different thread counts may differ. Default: random, printed");
}

uint64_t SeedOption::resolve() const {
  if (value) return *value;
  std::random_device rd;
  const uint64_t s = (uint64_t(rd()) << 32 | rd()) % 1000000000ULL;
  std::fprintf(stderr, "[prism] seed %llu (pass --seed %llu to reproduce)\n",
               static_cast<unsigned long long>(s), static_cast<unsigned long long>(s));
  return s;
}

namespace {

std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_interrupt(int sig) {
  if (g_interrupted.exchange(true)) _exit(128 + sig);  // the second one: now
}

std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s < 60) return cat(seconds < 10 ? std::round(seconds * 10) / 10 : static_cast<double>(s), " s");
  if (s < 3600) return cat(s / 60, " min ", s % 60, " s");
  return cat(s / 3600, " h ", (s % 3600) / 60, " min");
}

}  // namespace

void reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (f) f << "5";
}

double peak_rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  return std::nan("");
}

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupt_requested() { return g_interrupted.load(std::memory_order_relaxed); }

void throw_if_interrupted() {
  if (interrupt_requested()) throw Interrupted();
}

ProgressBar::ProgressBar()
    : tty_(isatty(STDERR_FILENO) != 0),
      enabled_(!global().quiet && (isatty(STDERR_FILENO) != 0 || global().verbose)),
      value_(std::nan("")) {}

void ProgressBar::begin(std::string_view stage, int64_t total) {
  stage_ = stage;
  total_ = total;
  done_ = 0;
  value_ = std::nan("");
  start_ = last_draw_ = std::chrono::steady_clock::now();
  if (enabled_ && !tty_) std::fprintf(stderr, "[prism] %s ...\n", stage_.c_str());
}

void ProgressBar::update(int64_t done, double value) {
  done_ = done;
  if (!std::isnan(value)) {
    value_ = value;
    if (enabled_ && !tty_)
      std::fprintf(stderr, "[prism] %s %lld/%lld  objective %.4f\n", stage_.c_str(),
                   static_cast<long long>(done), static_cast<long long>(total_), value);
  }
  if (!enabled_ || !tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(false);
}

void ProgressBar::end() {
  if (!enabled_) return;
  if (tty_) {
    draw(true);
    std::fputc('\n', stderr);
  }
  if (!tty_ || global().verbose)
    std::fprintf(stderr, "[prism] %s done in %.2f s, peak memory %.0f MiB\n", stage_.c_str(),
                 seconds_since(start_), peak_rss_mib());
}

bool ProgressBar::aborted() const { return interrupt_requested(); }

void ProgressBar::warning(std::string_view message) {
  if (global().quiet) return;
  if (tty_) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "prism: warning: %.*s\n", static_cast<int>(message.size()), message.data());
}

void ProgressBar::draw(bool final) {
  const double secs = seconds_since(start_);
  const double frac = total_ > 0 ? std::min(1.0, double(done_) / total_) : 0.0;
  constexpr int width = 30;
  const int filled = static_cast<int>(frac * width);
  std::string bar(filled, '#');
  bar.resize(width, '.');
  std::string extra;
  if (!std::isnan(value_)) extra = cat("  KL ", value_);
  // Time left at the stage's mean rate so far, once it has one.
  if (!final && total_ > 0 && done_ > 0 && done_ < total_ && secs > 1)
    extra += cat("  ~", clock_text(secs * double(total_ - done_) / double(done_)), " left");
  if (total_ > 0)
    std::fprintf(stderr, "\r\033[K%-10s [%s] %lld/%lld  %s%s", stage_.c_str(), bar.c_str(),
                 static_cast<long long>(final ? total_ : done_), static_cast<long long>(total_),
                 clock_text(secs).c_str(), extra.c_str());
  else
    std::fprintf(stderr, "\r\033[K%-10s %s%s", stage_.c_str(), clock_text(secs).c_str(), extra.c_str());
  std::fflush(stderr);
}

}  // namespace prism::app
