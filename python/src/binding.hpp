#pragma once
// Shared by the files of the extension prism._prism: the array types at the
// boundary, the progress hook that keeps Ctrl-C and verbose output working
// while the GIL is released, and the conversions from Python values to the
// engine's parameter table.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "prism/dataset.hpp"
#include "prism/matrix.hpp"
#include "prism/params.hpp"
#include "prism/pipeline.hpp"
#include "prism/progress.hpp"

namespace prism::py {

namespace nb = nanobind;

/// What every compute function takes: a C-contiguous float32 matrix in host
/// memory, used in place (the Python side converts other dtypes and orders
/// once, on purpose, before the call).
using InMatrix = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

inline ConstView view_of(const InMatrix& a) {
  return {a.data(), static_cast<int64_t>(a.shape(0)), static_cast<int64_t>(a.shape(1))};
}

/// A numpy array that owns `v` (moved to the heap, freed with the array).
template <class T>
nb::ndarray<nb::numpy, T> owned_array(std::vector<T>&& v, std::initializer_list<size_t> shape) {
  auto* p = new std::vector<T>(std::move(v));
  nb::capsule owner(p, [](void* q) noexcept { delete static_cast<std::vector<T>*>(q); });
  return nb::ndarray<nb::numpy, T>(p->data(), shape, owner);
}
inline nb::ndarray<nb::numpy, float> owned_array(Matrix&& m) {
  const auto rows = static_cast<size_t>(m.rows()), cols = static_cast<size_t>(m.cols());
  return owned_array(std::move(m.storage()), {rows, cols});
}

/// InputError naming `name` ("X[12, 3] is NaN") when a value is not finite.
void check_finite(ConstView x, const char* name);

/// The engine's parameters for `method`: the structural ones, then every
/// (name, value) of `params` through the table (find_param + set_param, so a
/// bad name or value is the engine's InputError). None stands for "auto"
/// where the table has an automatic value.
ReduceParams make_params(Method method, int dims, uint64_t seed, const std::string& backend,
                         const nb::dict& params);

/// The Progress the engine reports to from the compute thread. It never
/// touches Python: the calling thread (see run_job) checks for Ctrl-C every
/// 100 ms and calls request_abort(); then aborted() is true and the next
/// begin()/update() throws Interrupted, so every stage stops at its next
/// report. verbose lines and warnings are queued for the calling thread.
class PyProgress final : public Progress {
 public:
  explicit PyProgress(bool verbose) : verbose_(verbose) {}

  void begin(std::string_view stage, int64_t total) override;
  void update(int64_t done, double value) override;
  void end() override;
  bool aborted() const override { return abort_; }
  void warning(std::string_view message) override;

  void request_abort() { abort_ = true; }
  /// The verbose lines queued since the last call.
  std::vector<std::string> take_lines();
  std::vector<std::string> warnings();

 private:
  using Clock = std::chrono::steady_clock;
  void say(std::string line);

  const bool verbose_;
  std::atomic<bool> abort_{false};
  std::mutex mutex_;  // lines_, warnings_
  std::vector<std::string> lines_, warnings_;
  std::string stage_;
  int64_t total_ = 0;
  Clock::time_point stage_start_, last_line_;
};

/// omp_set_num_threads for the calling thread; returns the previous count.
int set_threads(int threads);
void restore_threads(int saved);

/// Runs `task` on one of the extension's compute threads (long-lived, so that
/// thread-local state such as CUDA contexts and OpenMP pools persists between
/// calls). The task must own what it uses: it may outlive the caller.
void submit(std::function<void()> task);
/// At interpreter exit: waits (at most 30 s) for the compute threads to end.
void shutdown_compute_threads();
/// In a forked child: forgets the parent's compute threads.
void reset_pool_after_fork();

/// Waits, with the GIL released, until `done` is set; every 100 ms it takes the
/// GIL back to print `progress`'s lines and to run Python's signal handlers.
/// Returns false when one of them raised (KeyboardInterrupt), with that error
/// set as the current Python error; the job was asked to stop.
bool wait_for_job(const std::shared_ptr<std::atomic<bool>>& done, PyProgress& progress);

/// Runs `work(progress)` on a compute thread with `threads` OpenMP threads
/// (0: all) while the caller waits with the GIL released, and returns its
/// result; an engine error is rethrown for the translator (InputError ->
/// ValueError, the rest -> RuntimeError). Ctrl-C raises KeyboardInterrupt
/// within about half a second: the work is asked to stop and, if it is in a
/// stage without progress reports, left to finish on its own and dropped.
/// `work` must capture what it uses by value (arrays as InMatrix copies).
template <class Work>
auto run_job(bool verbose, int threads, Work work, std::vector<std::string>* warnings = nullptr) {
  using Result = decltype(work(std::declval<PyProgress&>()));
  struct State {
    std::optional<Result> result;
    std::exception_ptr error;
  };
  auto progress = std::make_shared<PyProgress>(verbose);
  auto state = std::make_shared<State>();
  auto done = std::make_shared<std::atomic<bool>>(false);
  submit([progress, state, done, threads, work = std::move(work)]() mutable {
    const int saved = set_threads(threads);
    try {
      state->result.emplace(work(*progress));
    } catch (...) {
      state->error = std::current_exception();
    }
    restore_threads(saved);
    *done = true;
  });
  if (!wait_for_job(done, *progress)) throw nb::python_error();
  if (warnings) *warnings = progress->warnings();
  if (state->error) std::rethrow_exception(state->error);
  return std::move(*state->result);
}

/// Metadata from the Python side: column names, string columns, the label column (-1: none).
Metadata make_metadata(const std::vector<std::string>& names, std::vector<std::vector<std::string>>&& columns,
                       int label_column, int64_t rows);

void bind_params(nb::module_& m);
void bind_reduce(nb::module_& m);
void bind_io(nb::module_& m);
void bind_render(nb::module_& m);

}  // namespace prism::py
