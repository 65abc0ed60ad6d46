// prism._prism: the extension behind the Python package. The public API
// (estimators, functions, docstrings) is in python/prism/; this module only
// converts, releases the GIL and calls the engine.
#include <omp.h>

#include <pthread.h>

#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "binding.hpp"
#include "prism/backend.hpp"
#include "prism/error.hpp"

namespace prism::py {

void check_finite(ConstView x, const char* name) {
  int64_t n_bad = 0, first = x.rows;
#pragma omp parallel for reduction(+ : n_bad) reduction(min : first) schedule(static)
  for (int64_t i = 0; i < x.rows; ++i) {
    const float* r = x.row(i);
    bool ok = true;
    for (int64_t j = 0; j < x.cols; ++j) ok &= std::isfinite(r[j]);
    if (!ok) {
      ++n_bad;
      first = std::min(first, i);
    }
  }
  if (n_bad == 0) return;
  int64_t col = 0;
  while (std::isfinite(x(first, col))) ++col;
  throw InputError(cat(name, "[", first, ", ", col, "] is ", std::isnan(x(first, col)) ? "NaN" : "Inf", " (",
                       n_bad, " row", n_bad == 1 ? " has" : "s have",
                       " NaN/Inf; every value must be finite: drop or impute those rows)"));
}

namespace {

/// A Python value as a table value. Anything else becomes its repr, so that
/// set_param rejects it with the table's message ("got '[1, 2]', expected ...").
ParamValue to_param_value(nb::handle v, const ParamSpec& spec) {
  PyObject* o = v.ptr();
  if (o == Py_None) return std::string(spec.automatic.empty() ? "None" : spec.automatic);
  if (PyBool_Check(o)) return o == Py_True;
  if (PyLong_Check(o)) {
    int overflow = 0;
    const long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (!overflow) return static_cast<int64_t>(x);
  } else if (PyFloat_Check(o)) {
    return PyFloat_AsDouble(o);
  } else if (PyUnicode_Check(o)) {
    return nb::cast<std::string>(v);
  }
  return nb::cast<std::string>(nb::repr(v));
}

}  // namespace

ReduceParams make_params(Method method, int dims, uint64_t seed, const std::string& backend,
                         const nb::dict& params) {
  ReduceParams p;
  p.method = method;
  p.dims = dims;
  p.seed = seed;
  p.backend = parse_backend(backend);
  for (auto [key, value] : params) {
    const std::string name = nb::cast<std::string>(key);
    const ParamSpec* spec = find_param(method, name);
    PRISM_EXPECTS(spec, "unknown ", to_string(method), " parameter '", name, "' (expected one of: ",
                  param_names(method), ")");
    set_param(p, *spec, to_param_value(value, *spec));
  }
  return p;
}

int set_threads(int threads) {
  const int saved = omp_get_max_threads();
  if (threads > 0) omp_set_num_threads(threads);
  return saved;
}

void restore_threads(int saved) { omp_set_num_threads(saved); }

Metadata make_metadata(const std::vector<std::string>& names, std::vector<std::vector<std::string>>&& columns,
                       int label_column, int64_t rows) {
  PRISM_EXPECTS(names.size() == columns.size(), "metadata: ", names.size(), " names for ", columns.size(),
                " columns");
  Metadata meta;
  for (size_t c = 0; c < columns.size(); ++c) {
    PRISM_EXPECTS(static_cast<int64_t>(columns[c].size()) == rows, "metadata column '", names[c], "' has ",
                  columns[c].size(), " values for ", rows, " rows");
    meta.add(names[c], std::move(columns[c]), static_cast<int>(c) == label_column);
  }
  return meta;
}

// ---- the progress hook ---------------------------------------------------------

void PyProgress::say(std::string line) {
  std::lock_guard lock(mutex_);
  lines_.push_back(std::move(line));
}

void PyProgress::begin(std::string_view stage, int64_t total) {
  if (abort_) throw Interrupted();
  stage_ = stage;
  total_ = total;
  stage_start_ = last_line_ = Clock::now();
}

void PyProgress::update(int64_t done, double value) {
  if (abort_) throw Interrupted();
  if (!verbose_) return;
  const auto now = Clock::now();
  if (now - last_line_ < std::chrono::seconds(2)) return;
  last_line_ = now;
  std::string line = cat("[prism] ", stage_, " ", done);
  if (total_ > 0) line += cat("/", total_);
  if (!std::isnan(value)) line += cat("  objective ", value);
  say(std::move(line));
}

void PyProgress::end() {
  if (!verbose_ || abort_) return;
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2f", std::chrono::duration<double>(Clock::now() - stage_start_).count());
  say(cat("[prism] ", stage_, " done in ", secs, " s"));
}

void PyProgress::warning(std::string_view message) {
  if (verbose_) say(cat("[prism] warning: ", message));
  std::lock_guard lock(mutex_);
  warnings_.emplace_back(message);
}

std::vector<std::string> PyProgress::take_lines() {
  std::lock_guard lock(mutex_);
  return std::exchange(lines_, {});
}

std::vector<std::string> PyProgress::warnings() {
  std::lock_guard lock(mutex_);
  return warnings_;
}

// ---- the compute threads ------------------------------------------------------------

namespace {

/// Long-lived compute threads: one stays idle between calls; more start when
/// calls overlap (Python threads) or when an interrupted job is still
/// finishing. Never destroyed: threads may outlive static destruction.
struct Pool {
  std::mutex mutex;
  std::condition_variable wake, exited;
  std::deque<std::function<void()>> tasks;
  int idle = 0, alive = 0;
  bool stopping = false;
};
Pool* pool = new Pool;

void worker(Pool* p) {
  std::unique_lock lock(p->mutex);
  for (;;) {
    p->wake.wait(lock, [p] { return p->stopping || !p->tasks.empty(); });
    if (p->tasks.empty()) break;  // stopping
    std::function<void()> task = std::move(p->tasks.front());
    p->tasks.pop_front();
    --p->idle;
    lock.unlock();
    task();
    task = nullptr;  // drops the job's arrays before the thread waits again
    lock.lock();
    if (p->idle >= 1 || p->stopping) break;  // one idle thread is enough
    ++p->idle;
  }
  --p->alive;
  p->exited.notify_all();
}

/// Interpreter exit (atexit): lets interrupted jobs reach their next check and
/// the threads end before the process tears down the libraries they use.
void shutdown_pool_impl() {
  nb::gil_scoped_release release;
  std::unique_lock lock(pool->mutex);
  pool->stopping = true;
  pool->wake.notify_all();
  pool->exited.wait_for(lock, std::chrono::seconds(30), [] { return pool->alive == 0; });
}

}  // namespace

void reset_pool_after_fork() { pool = new Pool; }  // the old one's threads are gone (its memory is left)
void shutdown_compute_threads() { shutdown_pool_impl(); }

void submit(std::function<void()> task) {
  std::lock_guard lock(pool->mutex);
  pool->tasks.push_back(std::move(task));
  if (static_cast<int>(pool->tasks.size()) > pool->idle) {
    ++pool->alive;
    ++pool->idle;
    std::thread(worker, pool).detach();
  }
  pool->wake.notify_one();
}

bool wait_for_job(const std::shared_ptr<std::atomic<bool>>& done, PyProgress& progress) {
  using namespace std::chrono_literals;
  const auto print = [&] {
    for (const auto& line : progress.take_lines()) PySys_FormatStderr("%s\n", line.c_str());
  };
  // Deadlines, not sleep counts: on a loaded machine each wake-up may come late.
  const auto sleep_until = [&](std::chrono::steady_clock::time_point end) {
    nb::gil_scoped_release release;
    while (!*done && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(2ms);
  };
  for (;;) {
    sleep_until(std::chrono::steady_clock::now() + 100ms);
    print();
    if (*done) return true;
    if (PyErr_CheckSignals() != 0) break;
  }
  // Ctrl-C: the work stops at its next report; give it half a second to end
  // cleanly, else leave it to finish on its compute thread, unseen.
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  progress.request_abort();
  sleep_until(std::chrono::steady_clock::now() + 400ms);
  PyErr_Restore(type, value, traceback);
  return false;
}

// ---- the table -------------------------------------------------------------------

namespace {

nb::object to_python(const ParamValue& v) {
  return std::visit([](const auto& x) -> nb::object { return nb::cast(x); }, v);
}

const char* type_name(ParamType t) {
  switch (t) {
    case ParamType::boolean: return "boolean";
    case ParamType::integer: return "integer";
    case ParamType::real: return "real";
    case ParamType::choice: return "choice";
  }
  return "?";
}

nb::list words(std::string_view s) {
  nb::list out;
  size_t at = 0;
  while (at < s.size()) {
    const size_t end = std::min(s.find(' ', at), s.size());
    if (end > at) out.append(std::string(s.substr(at, end - at)));
    at = end + 1;
  }
  return out;
}

}  // namespace

void bind_params(nb::module_& m) {
  m.def(
      "param_table",
      [] {
        nb::list rows;
        for (const ParamSpec& s : param_table()) {
          nb::dict d;
          d["name"] = std::string(s.name);
          d["aliases"] = words(s.aliases);
          d["method"] = std::string(to_string(s.method));
          d["type"] = type_name(s.type);
          d["min"] = s.min;
          d["max"] = s.max;
          d["min_open"] = s.min_open;
          d["choices"] = words(s.choices);
          d["automatic"] = s.automatic.empty() ? nb::none() : nb::cast(std::string(s.automatic));
          d["help"] = std::string(s.help);
          d["default"] = to_python(s.default_value());
          d["flag"] = s.flag();
          rows.append(d);
        }
        return rows;
      },
      "Every row of the engine's parameter table (prism/params.hpp) as a dict.");
}

}  // namespace prism::py

NB_MODULE(_prism, m) {
  namespace nb = nanobind;
  using namespace prism::py;
  m.doc() = "Prism's engine (C++): use the package prism, not this module.";
  m.attr("__version__") = PRISM_VERSION;

  // Prism's errors as the exceptions Python code expects.
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const prism::Interrupted&) {
      PyErr_SetNone(PyExc_KeyboardInterrupt);
    } catch (const prism::InputError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const prism::RuntimeError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "out of memory");
    }
  });

  m.def("cuda_available", &prism::cuda_available, "True when Prism was built with CUDA and a device is present.");
  m.def("cuda_device", &prism::cuda_device_description,
        "The CUDA device (\"NVIDIA H200 (132 SMs, 139 GiB)\") or why there is none.");
#ifdef PRISM_HAVE_RENDERER
  m.attr("has_renderer") = true;
#else
  m.attr("has_renderer") = false;
#endif
  // Fork (multiprocessing): the child has none of the parent's compute threads.
  pthread_atfork(nullptr, nullptr, [] { prism::py::reset_pool_after_fork(); });
  m.def("_shutdown", &prism::py::shutdown_compute_threads,
        "Waits (at most 30 s) for the compute threads to end; the package calls it at exit.");
  bind_params(m);
  bind_reduce(m);
  bind_io(m);
  bind_render(m);
}
