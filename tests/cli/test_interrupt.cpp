// Ctrl-C (SIGINT) during long commands: each stops at its next check (within
// a second on a quiet machine), exits 130 and writes no output (no partial
// file, no temporary left behind).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "prism/io.hpp"
#include "test_util.hpp"

using namespace prism;
using prism::test::TempDir;
namespace fs = std::filesystem;

namespace {

/// Starts `args` (a shell fragment after the prism binary), sends SIGINT after
/// `delay`, and returns the exit status and the seconds from SIGINT to exit.
struct Stopped {
  int status = 0;
  double seconds = 0;
  bool ended_early = false;
};
Stopped interrupt(const std::string& args, std::chrono::milliseconds delay) {
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + std::string(PRISM_EXE) + " " + args + " -q").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  Stopped s;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < delay) {
    if (waitpid(pid, &s.status, WNOHANG) == pid) {
      s.ended_early = true;
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto t0 = std::chrono::steady_clock::now();
  kill(pid, SIGINT);
  waitpid(pid, &s.status, 0);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

bool no_temporaries(const fs::path& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) return false;
  return true;
}

// The stop itself takes well under a second here when the machine is quiet;
// the bound leaves room for a loaded CI machine.
constexpr double kStopSeconds = 3.0;

void expect_stopped(const Stopped& s, const std::string& what) {
  ASSERT_FALSE(s.ended_early) << what << " finished before it could be interrupted";
  ASSERT_TRUE(WIFEXITED(s.status)) << what << ": killed by signal " << WTERMSIG(s.status);
  EXPECT_EQ(WEXITSTATUS(s.status), 130) << what;
  EXPECT_LT(s.seconds, kStopSeconds) << what;
}

}  // namespace

TEST(Interrupt, ReduceKnnBenchAndBatchStopAndWriteNothing) {
  TempDir t;
  const auto b = test::make_blobs(30000, 32, 8, 5);
  write_matrix(t.file("x.npy"), b.x.view());
  const auto big = test::make_blobs(120000, 64, 8, 6);
  write_matrix(t.file("big.npy"), big.x.view());
  const std::string umap = " --method umap --n-epochs 100000 --init random --backend cpu --seed 1 ";

  // In the optimiser (after the kNN graph): stops between epochs.
  Stopped s = interrupt("reduce " + t.file("x.npy") + umap + "--out " + t.file("y.npy"), std::chrono::seconds(4));
  expect_stopped(s, "reduce");
  EXPECT_FALSE(fs::exists(t.file("y.npy")));
  // In the exact kNN search: stops between query batches.
  s = interrupt("knn " + t.file("big.npy") + " --k 15 --mode exact --out " + t.file("g.npy"), std::chrono::seconds(2));
  expect_stopped(s, "knn exact");
  EXPECT_FALSE(fs::exists(t.file("g.npy")));
  // In NN-descent: stops within a block of joins.
  s = interrupt("knn " + t.file("big.npy") + " --k 15 --mode approx --seed 1 --out " + t.file("g.npy"),
                std::chrono::seconds(2));
  expect_stopped(s, "knn approx");
  EXPECT_FALSE(fs::exists(t.file("g.npy")));
  s = interrupt("bench " + t.file("x.npy") + " --methods umap --dims 2 --backends cpu --n-epochs 100000 --init random"
                " --out " + t.file("b.json"), std::chrono::seconds(4));
  expect_stopped(s, "bench");
  EXPECT_FALSE(fs::exists(t.file("b.json")));
  test::write_text(t.file("plan.json"), R"({"output": "out", "inputs": [{"name": "x", "path": "x.npy"}],
    "runs": [{"method": "umap", "params": {"n_epochs": 100000, "init": "random"}}], "backend": "cpu"})");
  s = interrupt("batch " + t.file("plan.json"), std::chrono::seconds(4));
  expect_stopped(s, "batch");
  EXPECT_FALSE(fs::exists(t.file("out/x")));  // the run's folder was never written
  EXPECT_TRUE(no_temporaries(t.path()));
}
