#include "bench_peers.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "prism/io.hpp"

extern char** environ;

namespace prism::app {
namespace {
namespace fs = std::filesystem;

std::string peers_script() {
  if (const char* env = std::getenv("PRISM_PEERS")) return env;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = 0;
    const fs::path installed = fs::path(self).parent_path().parent_path() / "share/prism/prism_peers.py";
    if (fs::exists(installed)) return installed.string();
  }
  return PRISM_PEERS_SCRIPT;
}

/// Runs argv[0] from PATH with stdout and stderr captured into `output`;
/// returns the exit status as waitpid gives it.
int spawn(const std::vector<std::string>& args, std::string& output) {
  int pipefd[2];
  PRISM_CHECK(pipe(pipefd) == 0, "pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipefd[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipefd[1]);
  if (err != 0) {
    close(pipefd[0]);
    throw RuntimeError(cat("cannot start ", args[0], ": ", std::strerror(err)));
  }
  char buf[4096];
  ssize_t got;
  while ((got = read(pipefd[0], buf, sizeof buf)) > 0) output.append(buf, static_cast<size_t>(got));
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

}  // namespace

std::vector<std::string> peers_for(Method method) {
  switch (method) {
    case Method::umap: return {"umap-learn"};
    case Method::tsne: return {"opentsne", "sklearn-tsne"};
    case Method::pca: return {"sklearn-pca"};
  }
  return {};
}

PeerResult run_peer(const std::string& impl, const std::string& x_npy, const ReduceParams& p, bool seeded,
                    const std::string& dir) {
  const fs::path y = fs::path(dir) / "y.npy", report = fs::path(dir) / "report.json";
  std::error_code ec;
  fs::remove(report, ec);
  const char* python = std::getenv("PRISM_PYTHON");
  std::vector<std::string> args = {python && *python ? python : "python3", peers_script(), "--impl", impl, "--x", x_npy,
                                   "--dims", cat(p.dims), "--seed", cat(p.seed), "--out", y.string(),
                                   "--report", report.string(), "--perplexity", cat(p.tsne.perplexity),
                                   "--n-neighbors", cat(p.umap.n_neighbors), "--min-dist", cat(p.umap.min_dist),
                                   "--pca-dims", cat(p.tsne.pca_dims), "--metric", to_string(p.metric)};
  if (seeded) args.push_back("--seeded");
  std::string output;
  const int status = spawn(args, output);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !fs::exists(report)) {
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    const size_t nl = output.rfind('\n');
    throw RuntimeError(output.empty() ? "peer failed" : output.substr(nl == std::string::npos ? 0 : nl + 1));
  }
  std::ifstream rf(report);
  const auto j = nlohmann::json::parse(rf);
  PeerResult r;
  r.name = impl;
  if (!j["version"].is_null()) r.name += " " + j["version"].get<std::string>();
  r.seconds = j["seconds"].get<double>();
  r.warmup_seconds = j.value("warmup_seconds", 0.0);
  r.seeded = j.value("seeded", seeded);
  r.threads = j.value("threads", 0);
  r.peak_mib = j.value("peak_mib", 0.0);
  r.y = to_matrix(read_dataset(y.string()).x);
  return r;
}

}  // namespace prism::app
