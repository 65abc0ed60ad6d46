// Batch plans on their own (app/batch_plan.*): expansion into runs, run ids,
// parameters through the table, and errors that name the plan's line.
#include <gtest/gtest.h>

#include "batch_plan.hpp"
#include "test_util.hpp"

namespace prism::app {
namespace {

using test::TempDir;

std::string plan_with(const std::string& runs, const std::string& extra = "") {
  return R"({
  "output": "out",
  "inputs": [{"name": "d", "path": "x.npy"}],
  "runs": )" + runs + R"(,
  "seeds": [1, 2])" + extra + R"(
})";
}

TEST(BatchPlan, ExpandsGridsDimsAndSeeds) {
  TempDir t;
  test::write_text(t.file("x.npy"), "not read while planning");
  const Plan plan = parse_plan_text(
      t.file("p.json"),
      plan_with(R"([{"method": "umap", "dims": [2, 3], "params": {"n_neighbors": [10, 30], "min_dist": 0.2}},
                   {"method": "tsne", "params": {"perplexity": 12, "n_iter": 300}}])"));
  // umap: 2 dims x 2 n_neighbors x 2 seeds; tsne: 1 x 2 seeds.
  ASSERT_EQ(plan.runs.size(), 10u);
  EXPECT_EQ(plan.runs[0].id, "d/umap-2d-min_dist=0.2-n_neighbors=10-seed1");
  EXPECT_EQ(plan.output, t.path() / "out");
  EXPECT_EQ(plan.inputs[0].path, t.file("x.npy"));
  const PlanRun& tsne = plan.runs.back();
  EXPECT_EQ(tsne.method, "tsne");
  EXPECT_EQ(tsne.seed, 2u);
  const ReduceParams p = run_params(plan, tsne);
  EXPECT_EQ(p.method, Method::tsne);
  EXPECT_EQ(p.tsne.perplexity, 12.0);
  EXPECT_EQ(p.tsne.max_iter, 300);  // n_iter is scikit-learn's older name
  EXPECT_EQ(p.seed, 2u);
  EXPECT_EQ(run_params(plan, plan.runs[1]).umap.n_neighbors, 10);
  EXPECT_EQ(run_params(plan, plan.runs[1]).umap.min_dist, 0.2);
}

TEST(BatchPlan, ErrorsNameTheLine) {
  TempDir t;
  test::write_text(t.file("x.npy"), "");
  auto error = [&](const std::string& text) {
    try {
      parse_plan_text(t.file("p.json"), text);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  const std::string bad_param = error(plan_with(R"([
    {"method": "umap",
     "params": {"n_neighbours": 10}}])"));
  EXPECT_NE(bad_param.find("p.json line 6: unknown umap parameter 'n_neighbours'"), std::string::npos) << bad_param;
  const std::string range = error(plan_with(R"([{"method": "umap", "params": {"n_neighbors": 1}}])"));
  EXPECT_NE(range.find("n_neighbors"), std::string::npos) << range;
  EXPECT_NE(range.find("[2, 1000]"), std::string::npos) << range;
  const std::string cross = error(plan_with(R"([{"method": "umap", "params": {"min_dist": 2}}])"));
  EXPECT_NE(cross.find("spread"), std::string::npos) << cross;
  EXPECT_NE(error(plan_with(R"([{"method": "umap"}])", R"(, "output": 7)")).find("p.json"), std::string::npos);
  EXPECT_NE(error("[1, 2]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(error("{").find("not valid JSON"), std::string::npos);
  // A grid that explodes is refused instead of queued.
  std::string many = "[";
  for (int i = 0; i < 400; ++i) many += (i ? ", " : "") + std::to_string(i + 2);
  const std::string huge = error(plan_with(
      R"([{"method": "umap", "params": {"n_neighbors": )" + many + R"(], "n_epochs": )" + many + "]}}]"));
  EXPECT_NE(huge.find("more than 100000"), std::string::npos) << huge;
}

}  // namespace
}  // namespace prism::app
