// prism batch plan.json: inputs x methods x parameter grids x seeds, each run
// written into its own folder (projection, picture, metrics, TensorBoard
// projector bundle), one manifest.json for the whole batch. Re-running skips
// finished runs whose files still match the manifest; every file is written
// atomically, so a killed batch resumes without corrupt outputs.
// Plans: batch_plan.*; execution and the manifest: batch_run.*.
#include <cstdio>

#include "batch_plan.hpp"
#include "batch_run.hpp"
#include "command.hpp"
#include "common.hpp"

namespace prism::app {
namespace {

CommandSetup setup = [](CLI::App& sub) {
  struct State {
    std::string plan;
    bool force = false, dry_run = false;
  };
  auto s = std::make_shared<State>();
  sub.add_option("plan", s->plan, "The plan (JSON): inputs, runs with parameter grids, seeds, outputs")->required();
  sub.add_flag("--force", s->force, "Redo every run, even those the manifest says are done");
  sub.add_flag("--dry-run", s->dry_run, "Check the plan and list the runs without doing them");
  sub.footer(
      "A plan:\n"
      "  {\n"
      "    \"output\": \"fmnist-batch\",\n"
      "    \"inputs\": [{\"name\": \"fmnist\", \"path\": \"/usr/share/datasets/fashion-mnist\"}],\n"
      "    \"runs\": [{\"method\": \"umap\", \"dims\": [2, 3], \"params\": {\"n_neighbors\": [15, 50]}},\n"
      "             {\"method\": \"tsne\", \"dims\": 2, \"params\": {\"perplexity\": 30}},\n"
      "             {\"method\": \"pca\", \"dims\": 3}],\n"
      "    \"seeds\": [1, 2],\n"
      "    \"backend\": \"auto\",\n"
      "    \"outputs\": {\"npy\": true, \"csv\": true, \"png\": true, \"tensorboard\": true,\n"
      "                \"png_size\": \"1280x960\", \"views\": [[30, 20], [120, 20]]}\n"
      "  }\n"
      "Paths are relative to the plan's folder. Each run gets OUTPUT/INPUT/METHOD-Nd-PARAMS-seedS/ with\n"
      "embedding.npy/.csv, render.png (3D: one per view), metrics.json and tensorboard/ (open it in\n"
      "TensorBoard's projector); OUTPUT/manifest.json records versions, input and output hashes,\n"
      "parameters, seeds, backend and device, timings and metrics. Re-running skips finished runs.\n\n"
      "Examples:\n"
      "  prism batch plan.json\n"
      "  prism batch plan.json --dry-run\n"
      "  prism batch plan.json --force");
  return [s]() {
    const Plan plan = parse_plan(s->plan);
    note(cat("plan ", s->plan, ": ", plan.runs.size(), " runs over ", plan.inputs.size(), " inputs -> ",
             plan.output.string()));
    if (s->dry_run) {
      for (const auto& r : plan.runs) std::printf("%s\n", r.id.c_str());
      return 0;
    }
    const BatchCounts c = run_batch(plan, s->force);
    note(cat("batch done: ", c.done, " run", c.done == 1 ? "" : "s", ", ", c.skipped, " already done, ", c.failed,
             " failed; manifest ", (plan.output / "manifest.json").string()));
    return c.failed > 0 ? 3 : 0;
  };
};

PRISM_COMMAND("batch", "Run a plan of projections reproducibly: outputs, pictures, TensorBoard bundles, manifest", 70, setup);

}  // namespace
}  // namespace prism::app
