#pragma once
// Errors thrown by Prism's library code. Only app/ turns them into exit codes:
// InputError -> 2 (bad input or usage), RuntimeError -> 3 (runtime failure),
// Interrupted -> 130 (the user stopped it).
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace prism {

/// Concatenates any streamable values into a string: cat("line ", 12, ": bad").
template <class... Args>
std::string cat(Args&&... args) {
  std::ostringstream s;
  (s << ... << std::forward<Args>(args));
  return s.str();
}

enum class ErrorKind { input, runtime, interrupted };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }
  /// Exit code the command line maps this error to (130: interrupted, as a shell reports SIGINT).
  int exit_code() const noexcept {
    return kind_ == ErrorKind::input ? 2 : kind_ == ErrorKind::interrupted ? 130 : 3;
  }

 private:
  ErrorKind kind_;
};

/// The user's input (a file, a parameter) is wrong; the message says what to do.
class InputError : public Error {
 public:
  explicit InputError(const std::string& what) : Error(ErrorKind::input, what) {}
};

/// Something failed while running (out of memory, device error, internal check).
class RuntimeError : public Error {
 public:
  explicit RuntimeError(const std::string& what) : Error(ErrorKind::runtime, what) {}
};

/// The caller asked the work to stop (Ctrl-C, the viewer's Stop button).
class Interrupted : public Error {
 public:
  Interrupted() : Error(ErrorKind::interrupted, "interrupted") {}
};

}  // namespace prism

/// Throws InputError with the concatenated message when `cond` is false.
#define PRISM_EXPECTS(cond, ...)                                   \
  do {                                                             \
    if (!(cond)) throw ::prism::InputError(::prism::cat(__VA_ARGS__)); \
  } while (0)

/// Internal invariant: throws RuntimeError naming the call site and expression.
#define PRISM_CHECK(cond, ...)                                                       \
  do {                                                                               \
    if (!(cond))                                                                     \
      throw ::prism::RuntimeError(::prism::cat(__FILE__, ":", __LINE__, ": check '", \
                                               #cond, "' failed: ", __VA_ARGS__));   \
  } while (0)
