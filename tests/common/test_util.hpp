#pragma once
// Helpers shared by Prism's tests: seeded data, temporary folders, running the CLI.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "prism/matrix.hpp"

namespace prism::test {

/// A fresh, empty temporary directory, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// Seeded Gaussian mixture: `clusters` centres spread with `separation`, unit noise.
struct Blobs {
  Matrix x;
  std::vector<int32_t> labels;
};
Blobs make_blobs(int64_t n, int64_t d, int clusters, uint64_t seed, float separation = 10.0f);

/// Seeded uniform random matrix in [-1, 1).
Matrix random_matrix(int64_t rows, int64_t cols, uint64_t seed);

/// Runs a shell command, capturing stdout+stderr; returns the exit code.
struct RunResult {
  int code = -1;
  std::string output;
};
RunResult run(const std::string& command);
/// Runs the built `prism` binary with the given arguments (a shell fragment).
RunResult run_prism(const std::string& args);

void write_text(const std::string& path, const std::string& content);
std::string read_text(const std::string& path);

/// Brute-force squared L2 distance, for oracles.
double sq_dist(const float* a, const float* b, int64_t d);

}  // namespace prism::test
