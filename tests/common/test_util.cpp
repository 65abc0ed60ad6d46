#include "test_util.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

namespace prism::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "prism-test-XXXXXX").string();
  PRISM_CHECK(mkdtemp(tmpl.data()) != nullptr, "mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Blobs make_blobs(int64_t n, int64_t d, int clusters, uint64_t seed, float separation) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Matrix centres(clusters, d);
  for (auto& v : centres.storage()) v = normal(rng) * separation;
  Blobs b{Matrix(n, d), std::vector<int32_t>(n)};
  for (int64_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % clusters);
    b.labels[i] = c;
    for (int64_t j = 0; j < d; ++j) b.x(i, j) = centres(c, j) + normal(rng);
  }
  return b;
}

Matrix random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Matrix m(rows, cols);
  for (auto& v : m.storage()) v = u(rng);
  return m;
}

RunResult run(const std::string& command) {
  RunResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  PRISM_CHECK(p != nullptr, "popen failed for ", command);
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, got);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

RunResult run_prism(const std::string& args) { return run(std::string(PRISM_EXE) + " " + args); }

void write_text(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

double sq_dist(const float* a, const float* b, int64_t d) {
  double s = 0;
  for (int64_t j = 0; j < d; ++j) {
    const double t = double(a[j]) - b[j];
    s += t * t;
  }
  return s;
}

}  // namespace prism::test
