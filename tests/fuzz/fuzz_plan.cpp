// Fuzz target: batch-plan JSON (app/batch_plan.hpp parse_plan_text): the JSON
// parse, every key's type and range check, the parameter grid expansion, the
// line numbers of errors. The plan sits in a folder that holds a small x.npy
// and labels.tsv, so plans that name them get past the path checks.
#include <unistd.h>

#include <filesystem>
#include <string>

#include "batch_plan.hpp"
#include "fuzz_common.hpp"
#include "prism/io.hpp"

namespace {

std::string g_plan;  // FOLDER/plan.json

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const auto dir = std::filesystem::temp_directory_path() / ("prism-fuzz-plan-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  prism::Matrix x(4, 3, 1.0f);
  prism::write_matrix((dir / "x.npy").string(), x.view());
  prism::Metadata m;
  m.add("label", {"a", "b", "a", "b"}, true);
  prism::write_metadata_tsv((dir / "labels.tsv").string(), m);
  g_plan = (dir / "plan.json").string();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (g_plan.empty()) LLVMFuzzerInitialize(nullptr, nullptr);  // the replay driver does not call it
  const std::string text(reinterpret_cast<const char*>(data), size);
  prism::fuzz::input_errors_only([&] {
    const prism::app::Plan plan = prism::app::parse_plan_text(g_plan, text);
    // What a parsed plan promises the batch runner.
    prism::fuzz::require(!plan.inputs.empty() && !plan.runs.empty() && plan.runs.size() <= prism::app::kMaxPlanRuns);
    for (const auto& run : plan.runs) {
      prism::fuzz::require(!run.id.empty());
      bool known = false;
      for (const auto& in : plan.inputs) known |= in.name == run.input;
      prism::fuzz::require(known);
      (void)prism::app::run_params(plan, run);  // every grid point maps onto the parameter table
    }
  });
  return 0;
}
