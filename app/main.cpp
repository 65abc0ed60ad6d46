// prism: load embeddings, build kNN graphs, reduce with PCA / t-SNE / UMAP,
// measure, render and view. Library code throws; only this file exits.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "command.hpp"
#include "common.hpp"
#include "prism/error.hpp"

namespace prism::app {
std::vector<CommandInfo>& command_registry() {
  static std::vector<CommandInfo> registry;
  return registry;
}
}  // namespace prism::app

int main(int argc, char** argv) {
  using namespace prism::app;
  CLI::App app{"prism " PRISM_VERSION
               ": see millions of embedding vectors.\n"
               "Loads .npy/.fvecs/.bvecs/word2vec/GloVe/fastText/TensorBoard TSV/IDX, builds kNN graphs,\n"
               "reduces with PCA, Barnes-Hut t-SNE and UMAP (2D or 3D, CPU or CUDA), measures and draws them.\n\n"
               "Examples:\n"
               "  prism info vectors.npy\n"
               "  prism reduce vectors.npy --method umap --dims 3 --out umap3d.npy\n"
               "  prism metrics vectors.npy umap3d.npy --labels labels.tsv\n"
               "Run 'prism COMMAND --help' for each command's options and examples.\n\n"
               "Exit codes: 0 ok, 2 bad input or usage, 3 runtime failure, 130 interrupted (Ctrl-C)."};
  app.set_version_flag("--version", "prism " PRISM_VERSION);
  app.require_subcommand(1);
  app.add_flag("-q,--quiet", global().quiet, "No progress output");
  app.add_flag("-v,--verbose", global().verbose, "Print stage timings and objective values");
  app.fallthrough();
  app.get_formatter()->column_width(34);

  auto& registry = command_registry();
  std::sort(registry.begin(), registry.end(),
            [](const CommandInfo& a, const CommandInfo& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (auto& cmd : registry) {
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.description);
    sub->get_formatter()->column_width(34);
    runners.emplace_back(sub, cmd.setup(*sub));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  install_interrupt_handler();
  // Past a file-size limit (ulimit -f) a write fails with EFBIG instead of
  // killing the process, so the writer reports it and removes its temporary file.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run();
  } catch (const prism::Interrupted& e) {
    std::fprintf(stderr, "prism: interrupted; no output written\n");
    return e.exit_code();
  } catch (const prism::Error& e) {
    std::fprintf(stderr, "prism: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "prism: error: out of host memory (try a smaller input, --knn approx, --pca-dims or a smaller k)\n");
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prism: error: %s\n", e.what());
    return 3;
  }
  return 2;
}
