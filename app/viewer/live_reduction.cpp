#include "live_reduction.hpp"

#include <chrono>
#include <cmath>

namespace prism::app::viewer {

// The Progress the engine sees: stage and counts for the panel, every
// embedding it offers for the animation, and the Stop button as aborted().
class LiveReduction::Hook : public Progress {
 public:
  explicit Hook(LiveReduction& owner) : o_(owner), t0_(std::chrono::steady_clock::now()) {}
  void begin(std::string_view stage, int64_t total) override {
    std::lock_guard lock(o_.mutex_);
    o_.status_.stage = stage;
    o_.status_.total = total;
    o_.status_.done = 0;
  }
  void update(int64_t done, double value) override {
    std::lock_guard lock(o_.mutex_);
    o_.status_.done = done;
    if (!std::isnan(value)) o_.status_.objective = value;
    o_.status_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  int64_t positions_every() const override { return 1; }
  void positions(ConstView y) override { o_.publish(y); }
  bool aborted() const override { return o_.stop_; }
  void warning(std::string_view message) override {
    std::lock_guard lock(o_.mutex_);
    o_.status_.warnings.emplace_back(message);
  }

 private:
  LiveReduction& o_;
  std::chrono::steady_clock::time_point t0_;
};

LiveReduction::~LiveReduction() { join(); }

void LiveReduction::start(ConstView x, const ReduceParams& params) {
  join();
  stop_ = false;
  running_ = true;
  {
    std::lock_guard lock(mutex_);
    status_ = Status{};
    status_.stage = "starting";
    status_.objective = std::nan("");
  }
  worker_ = std::thread([this, x, params] { run(x, params); });
}

void LiveReduction::stop() { stop_ = true; }

void LiveReduction::join() {
  stop_ = true;
  if (worker_.joinable()) worker_.join();
}

void LiveReduction::publish(ConstView y) {
  std::lock_guard lock(mutex_);
  if (latest_.rows() != y.rows || latest_.cols() != y.cols) latest_ = Matrix(y.rows, y.cols);
  for (int64_t i = 0; i < y.rows; ++i) std::copy(y.row(i), y.row(i) + y.cols, latest_.row(i));
  ++version_;
}

void LiveReduction::run(ConstView x, ReduceParams params) {
  Hook hook(*this);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    PreparedReduction prep = prepare_reduction(x, params, &hook);
    publish(prep.reducer->embedding());
    // The CLI's driver: the hook's positions() puts every step on the screen.
    run_reducer(*prep.reducer, &hook, "optimise", params.method == Method::tsne ? 50 : 0);
    std::lock_guard lock(mutex_);
    status_.stage = stop_ ? "stopped" : "done";
  } catch (const Interrupted&) {  // Stop before the optimiser started
    std::lock_guard lock(mutex_);
    status_.stage = "stopped";
  } catch (const std::exception& e) {
    std::lock_guard lock(mutex_);
    status_.stage = "error";
    status_.error = e.what();
  }
  {
    std::lock_guard lock(mutex_);
    status_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  running_ = false;
}

bool LiveReduction::take(Matrix& out, uint64_t* version) {
  std::lock_guard lock(mutex_);
  if (version_ == *version || latest_.rows() == 0) return false;
  out = latest_;
  *version = version_;
  return true;
}

LiveReduction::Status LiveReduction::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

}  // namespace prism::app::viewer
